//! The geometry of the status page's pictures, apart from their drawing ([`crate::svg`]): the
//! plot's frame, the time scale (the past window on the left, `now`, the projection on the
//! right, each on its own scale so a long ETA does not squash the window), the value scale, the
//! axis ticks and the points -> SVG path data. Numbers in, numbers (and path text) out.

use migration_core::report::{Eta, EtaState};

/// A rectangle in SVG user units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

impl Frame {
    pub fn right(&self) -> f64 {
        self.left + self.width
    }

    pub fn bottom(&self) -> f64 {
        self.top + self.height
    }
}

/// The share of the width the past takes when there is a projection to draw.
const PAST_SHARE: f64 = 0.45;

/// Seconds from now (negative in the past) to x: the past window from the left edge to `now`,
/// the future from `now` to the right edge over `future_seconds`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeScale {
    pub frame: Frame,
    pub past_seconds: f64,
    /// Zero when nothing is projected: the past takes the whole width.
    pub future_seconds: f64,
}

impl TimeScale {
    /// Where `now` is.
    pub fn now_x(&self) -> f64 {
        if self.future_seconds > 0.0 {
            self.frame.left + self.frame.width * PAST_SHARE
        } else {
            self.frame.right()
        }
    }

    /// The x of `seconds` from now, clamped to the frame.
    pub fn x(&self, seconds: f64) -> f64 {
        let now = self.now_x();
        let x = if seconds <= 0.0 {
            let span = now - self.frame.left;
            now + span * seconds / self.past_seconds.max(f64::MIN_POSITIVE)
        } else if self.future_seconds > 0.0 {
            now + (self.frame.right() - now) * seconds / self.future_seconds
        } else {
            now
        };
        x.clamp(self.frame.left, self.frame.right())
    }
}

/// Values from `0` to `max` onto the frame's height, upwards.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValueScale {
    pub frame: Frame,
    pub min: f64,
    pub max: f64,
}

impl ValueScale {
    /// The y of `v`, clamped to the frame.
    pub fn y(&self, v: f64) -> f64 {
        let span = (self.max - self.min).max(f64::MIN_POSITIVE);
        let y = self.frame.bottom() - self.frame.height * (v - self.min) / span;
        y.clamp(self.frame.top, self.frame.bottom())
    }
}

/// Ticks from 0 to a round number at or above `max`, about `count` steps of 1, 2 or 5 times a
/// power of ten; never fewer than two.
pub fn ticks(max: f64, count: usize) -> Vec<f64> {
    let max = max.max(1.0);
    let rough = max / count.max(1) as f64;
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * power)
        .max(1.0);
    let steps = (max / step).ceil() as usize;
    (0..=steps.max(1)).map(|i| i as f64 * step).collect()
}

/// How far to the right the projection runs: past the latest finish, or half again past the
/// expected one when the latest has no bound; none when there is nothing to project.
pub fn horizon(eta: &Eta) -> Option<f64> {
    if eta.state != EtaState::Estimated {
        return None;
    }
    let expected = eta.seconds?.max(eta.low_seconds.unwrap_or(0.0));
    let h = match eta.high_seconds {
        Some(high) => high.max(expected) * 1.1,
        None => expected * 1.5,
    };
    (h > 0.0).then_some(h)
}

/// SVG path data through `points` (x, y): `M1.0 2.0L3.0 4.0`; empty without points.
pub fn path(points: impl IntoIterator<Item = (f64, f64)>) -> String {
    let mut out = String::new();
    for (i, (x, y)) in points.into_iter().enumerate() {
        let cmd = if i == 0 { 'M' } else { 'L' };
        out.push_str(&format!("{cmd}{x:.1} {y:.1}"));
    }
    out
}

/// A duration as a tick label, in its largest units without zeros: `10m`, `1h 5m`, `45s`.
pub fn short(seconds: f64) -> String {
    let d = migration_core::format::duration(seconds);
    for zero in [" 0s", " 0m", " 0h"] {
        if let Some(stripped) = d.strip_suffix(zero) {
            return stripped.to_owned();
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: Frame = Frame {
        left: 10.0,
        top: 5.0,
        width: 100.0,
        height: 50.0,
    };

    #[test]
    fn the_past_runs_to_now_and_the_future_on_its_own_scale() {
        let t = TimeScale {
            frame: FRAME,
            past_seconds: 600.0,
            future_seconds: 3_600.0,
        };
        assert_eq!(t.x(-600.0), 10.0);
        assert_eq!(t.now_x(), 55.0);
        assert_eq!(t.x(0.0), 55.0);
        assert_eq!(t.x(-300.0), 32.5);
        assert_eq!(t.x(1_800.0), 82.5);
        assert_eq!(t.x(3_600.0), 110.0);
        assert_eq!(t.x(1e9), 110.0, "clamped");
        let past_only = TimeScale {
            future_seconds: 0.0,
            ..t
        };
        assert_eq!(past_only.now_x(), 110.0);
        assert_eq!(past_only.x(-300.0), 60.0);
        assert_eq!(past_only.x(100.0), 110.0);
    }

    #[test]
    fn values_rise_from_the_bottom() {
        let v = ValueScale {
            frame: FRAME,
            min: 0.0,
            max: 200.0,
        };
        assert_eq!(v.y(0.0), 55.0);
        assert_eq!(v.y(100.0), 30.0);
        assert_eq!(v.y(200.0), 5.0);
        assert_eq!(v.y(-5.0), 55.0);
        let flat = ValueScale {
            min: 7.0,
            max: 7.0,
            ..v
        };
        assert!(flat.y(7.0).is_finite());
    }

    #[test]
    fn ticks_are_round_and_cover_the_maximum() {
        assert_eq!(ticks(0.0, 4), [0.0, 1.0]);
        assert_eq!(ticks(7.0, 4), [0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(ticks(1_000.0, 4), [0.0, 500.0, 1_000.0]);
        assert_eq!(ticks(12_345.0, 4), [0.0, 5_000.0, 10_000.0, 15_000.0]);
        for max in [1.0, 3.0, 99.0, 101.0, 987_654.0] {
            let t = ticks(max, 4);
            assert!(*t.last().unwrap() >= max && t.len() <= 7, "{max}: {t:?}");
        }
    }

    fn eta(seconds: Option<f64>, low: Option<f64>, high: Option<f64>) -> Eta {
        Eta {
            state: EtaState::Estimated,
            uploads_remaining: 10,
            uploads_per_minute: 1.0,
            seconds,
            low_seconds: low,
            high_seconds: high,
        }
    }

    #[test]
    fn the_projection_runs_past_the_latest_finish() {
        let h = horizon(&eta(Some(100.0), Some(80.0), Some(200.0))).unwrap();
        assert!((h - 220.0).abs() < 1e-9, "{h}");
        assert_eq!(horizon(&eta(Some(100.0), Some(80.0), None)), Some(150.0));
        let unknown = Eta {
            state: EtaState::Unknown,
            ..eta(None, None, None)
        };
        assert_eq!(horizon(&unknown), None);
        let done = Eta {
            state: EtaState::Done,
            ..eta(Some(0.0), Some(0.0), Some(0.0))
        };
        assert_eq!(horizon(&done), None);
    }

    #[test]
    fn paths_and_labels() {
        assert_eq!(path([]), "");
        assert_eq!(path([(1.0, 2.0), (3.24, 4.0)]), "M1.0 2.0L3.2 4.0");
        assert_eq!(short(600.0), "10m");
        assert_eq!(short(3_900.0), "1h 5m");
        assert_eq!(short(45.0), "45s");
        assert_eq!(short(630.0), "10m 30s");
    }
}
