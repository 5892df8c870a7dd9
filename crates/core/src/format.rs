//! Numbers and durations written for people, the same on the monitor's text views and the
//! exporter's status page: `37,088,337`, as the original monitor's `toLocaleString()` printed
//! them, `12m 5s`, how long ago (`4 min ago`), and an ETA with its range.

use crate::report::{DurationSummary, Eta, EtaState};

/// `37088337` -> `37,088,337`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A duration for people, in its two largest units: `45s`, `12m 5s`, `3h 20m`, `2d 4h`.
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        3600..86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// `p50 12m 5s, p90 3h 20m (823 spaces; 3 without timestamps)`: how long completed spaces
/// took, createdAt to done.
pub fn time_per_space(d: &DurationSummary) -> String {
    let q = |s: Option<f64>| s.map_or_else(|| "-".to_owned(), duration);
    let mut out = format!(
        "p50 {}, p90 {} ({} spaces",
        q(d.p50_seconds),
        q(d.p90_seconds),
        thousands(d.measured)
    );
    if d.unmeasured > 0 {
        out.push_str(&format!("; {} without timestamps", thousands(d.unmeasured)));
    }
    out.push(')');
    out
}

/// How long ago something happened, in its largest unit (rounded down): `12 s ago`,
/// `4 min ago`, `3 h ago`, `2 d ago`. A negative age (a clock ahead of ours) reads `just now`.
pub fn ago(seconds: f64) -> String {
    let s = seconds.max(0.0).floor() as u64;
    match s {
        0 => "just now".to_owned(),
        1..60 => format!("{s} s ago"),
        60..3600 => format!("{} min ago", s / 60),
        3600..86_400 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86_400),
    }
}

/// An ETA with its range: `2h 10m (1h 50m to 3h 5m)`, `done`, or why there is none.
pub fn eta(e: &Eta) -> String {
    match (e.state, e.seconds) {
        (EtaState::Done, _) => "done".to_owned(),
        (EtaState::Estimated, Some(s)) => {
            let low = e.low_seconds.map_or_else(|| duration(s), duration);
            let high = e.high_seconds.map_or_else(
                || "no bound: progress stalled in the window".to_owned(),
                duration,
            );
            format!("{} ({low} to {high})", duration(s))
        }
        _ => "unknown (no uploads completed in the window)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_by_three() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(37_088_337), "37,088,337");
    }

    #[test]
    fn durations_read_in_their_two_largest_units() {
        assert_eq!(duration(59.4), "59s");
        assert_eq!(duration(725.0), "12m 5s");
        assert_eq!(duration(12_000.0), "3h 20m");
        assert_eq!(duration(187_200.0), "2d 4h");
        assert_eq!(duration(-3.0), "0s");
    }

    #[test]
    fn time_per_space_reads_its_quantiles_and_what_was_not_measured() {
        let mut d = DurationSummary {
            measured: 823,
            unmeasured: 0,
            p50_seconds: Some(725.0),
            p90_seconds: None,
        };
        assert_eq!(time_per_space(&d), "p50 12m 5s, p90 - (823 spaces)");
        d.unmeasured = 3;
        assert_eq!(
            time_per_space(&d),
            "p50 12m 5s, p90 - (823 spaces; 3 without timestamps)"
        );
    }

    #[test]
    fn an_age_reads_in_its_largest_unit() {
        assert_eq!(ago(-30.0), "just now");
        assert_eq!(ago(0.4), "just now");
        assert_eq!(ago(12.9), "12 s ago");
        assert_eq!(ago(59.9), "59 s ago");
        assert_eq!(ago(60.0), "1 min ago");
        assert_eq!(ago(299.0), "4 min ago");
        assert_eq!(ago(3_600.0), "1 h ago");
        assert_eq!(ago(86_399.0), "23 h ago");
        assert_eq!(ago(2.5 * 86_400.0), "2 d ago");
    }

    #[test]
    fn an_eta_reads_with_its_range_or_why_there_is_none() {
        let e = |state, seconds, low, high| Eta {
            state,
            uploads_remaining: 10,
            uploads_per_minute: 1.0,
            seconds,
            low_seconds: low,
            high_seconds: high,
        };
        let est = EtaState::Estimated;
        assert_eq!(
            eta(&e(est, Some(7_800.0), Some(6_600.0), Some(11_100.0))),
            "2h 10m (1h 50m to 3h 5m)"
        );
        assert_eq!(
            eta(&e(est, Some(60.0), Some(30.0), None)),
            "1m 0s (30s to no bound: progress stalled in the window)"
        );
        assert_eq!(eta(&e(EtaState::Done, Some(0.0), None, None)), "done");
        assert_eq!(
            eta(&e(EtaState::Unknown, None, None, None)),
            "unknown (no uploads completed in the window)"
        );
    }
}
