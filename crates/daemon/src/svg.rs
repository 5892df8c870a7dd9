//! Drawing the status page's pictures as inline SVG on the server: the burn-down plot of the
//! recent window with the projected finish and its range, and one sparkline per instance. No
//! script, no external asset; each picture carries its text equivalent (`<title>`, `<desc>` or
//! `aria-label`). The geometry is [`crate::charts`]'s; the figures are the core report's. Every
//! text put in the SVG goes through [`escape`] (the page inserts this markup unescaped), and the
//! caller bounds user strings with [`bounded`]. Inline in HTML, an `<svg>` needs no `xmlns`
//! (the parser gives it the SVG namespace), so the page still names no address.

use migration_core::format::thousands;
use migration_core::report::{Burndown, Eta, InstanceSeries};

use crate::charts::{self, Frame, TimeScale, ValueScale, path, short};

/// The plot's size and its frame inside, room left for the axes' labels.
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 272.0;
const PLOT: Frame = Frame {
    left: 78.0,
    top: 16.0,
    width: 564.0,
    height: 200.0,
};

/// A sparkline's size.
const SPARK_WIDTH: f64 = 120.0;
const SPARK_HEIGHT: f64 = 24.0;

/// Text for XML: `& < > " '` as entities.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// At most `max` characters of `s`, the last an ellipsis when cut.
pub fn bounded(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The burn-down of `b`: uploads remaining (left axis) and spaces finished (right axis) over
/// the window, then from now the projection of `eta` to its expected finish with the range as
/// a band (running off the right edge, labelled "no bound", when the latest finish has none).
/// `title` and `desc` are its text equivalent.
pub fn burndown(b: &Burndown, eta: Option<&Eta>, title: &str, desc: &str) -> String {
    let future = eta.and_then(charts::horizon).unwrap_or(0.0);
    let time = TimeScale {
        frame: PLOT,
        past_seconds: b.window_seconds,
        future_seconds: future,
    };
    let top = b
        .points
        .iter()
        .map(|p| p.uploads_remaining)
        .max()
        .unwrap_or(0);
    let yticks = charts::ticks(top as f64, 4);
    let value = ValueScale {
        frame: PLOT,
        min: 0.0,
        max: yticks.last().copied().unwrap_or(1.0),
    };
    let mut out = format!(
        "<svg id=\"burndown\" class=\"chart\" role=\"img\" \
         aria-labelledby=\"burndown-title burndown-desc\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" \
         width=\"{WIDTH}\" height=\"{HEIGHT}\"><title id=\"burndown-title\">{}</title>\
         <desc id=\"burndown-desc\">{}</desc>",
        escape(title),
        escape(desc)
    );
    value_axis(&mut out, &value, &yticks);
    time_axis(&mut out, &time);
    let now = b.points.last().map_or(0, |p| p.uploads_remaining) as f64;
    if let Some(e) = eta.filter(|_| future > 0.0) {
        projection(&mut out, &time, &value, now, e);
    }
    spaces_line(&mut out, b, &time);
    let line = path(
        b.points
            .iter()
            .map(|p| (time.x(-p.seconds_ago), value.y(p.uploads_remaining as f64))),
    );
    out.push_str(&format!("<path class=\"line\" d=\"{line}\"/>"));
    out.push_str("</svg>");
    out
}

/// The left axis: grid lines and figures at `ticks`, and its title.
fn value_axis(out: &mut String, value: &ValueScale, ticks: &[f64]) {
    let (l, r) = (PLOT.left, PLOT.right());
    for &t in ticks {
        let y = value.y(t);
        out.push_str(&format!(
            "<line class=\"grid\" x1=\"{l}\" y1=\"{y:.1}\" x2=\"{r}\" y2=\"{y:.1}\"/>\
             <text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            l - 6.0,
            y + 4.0,
            thousands(t as u64)
        ));
    }
    let mid = PLOT.top + PLOT.height / 2.0;
    out.push_str(&format!(
        "<line class=\"axis\" x1=\"{l}\" y1=\"{}\" x2=\"{l}\" y2=\"{}\"/>\
         <text class=\"axis-title\" transform=\"translate(14 {mid}) rotate(-90)\" \
         text-anchor=\"middle\">uploads remaining</text>",
        PLOT.top,
        PLOT.bottom()
    ));
}

/// The time axis: `−window`, `−window/2`, `now` and, with a projection, `+horizon/2` and
/// `+horizon`, and its title.
fn time_axis(out: &mut String, time: &TimeScale) {
    let (b, past) = (PLOT.bottom(), time.past_seconds);
    let mut ticks = vec![
        (-past, format!("−{}", short(past))),
        (-past / 2.0, format!("−{}", short(past / 2.0))),
        (0.0, "now".to_owned()),
    ];
    if time.future_seconds > 0.0 {
        let f = time.future_seconds;
        ticks.push((f / 2.0, format!("+{}", short(f / 2.0))));
        ticks.push((f, format!("+{}", short(f))));
    }
    let last = ticks.len() - 1;
    for (i, (s, label)) in ticks.iter().enumerate() {
        let x = time.x(*s);
        let anchor = match i {
            0 => "start",
            i if i == last => "end",
            _ => "middle",
        };
        out.push_str(&format!(
            "<line class=\"axis\" x1=\"{x:.1}\" y1=\"{b}\" x2=\"{x:.1}\" y2=\"{:.1}\"/>\
             <text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
            b + 5.0,
            b + 18.0,
            escape(label)
        ));
    }
    let now = time.now_x();
    out.push_str(&format!(
        "<line class=\"axis\" x1=\"{}\" y1=\"{b}\" x2=\"{}\" y2=\"{b}\"/>\
         <line class=\"now\" x1=\"{now:.1}\" y1=\"{}\" x2=\"{now:.1}\" y2=\"{b}\"/>\
         <text class=\"axis-title\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">time (the window, now, the projection)</text>",
        PLOT.left,
        PLOT.right(),
        PLOT.top,
        PLOT.left + PLOT.width / 2.0,
        HEIGHT - 6.0
    ));
}

/// From `now` uploads remaining: the range as a band (the fastest finish to the slowest, or to
/// the right edge without a bound) and the expected finish as a dashed line.
fn projection(out: &mut String, time: &TimeScale, value: &ValueScale, now: f64, e: &Eta) {
    let start = (time.now_x(), value.y(now));
    let zero = value.y(0.0);
    let low = time.x(e.low_seconds.or(e.seconds).unwrap_or(0.0));
    let (band, note) = match e.high_seconds {
        Some(high) => (
            path([start, (low, zero), (time.x(high), zero)]),
            String::new(),
        ),
        None => {
            let right = PLOT.right();
            let note = format!(
                "<text class=\"nobound\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">no bound</text>",
                right - 4.0,
                start.1 + 14.0
            );
            (
                path([start, (low, zero), (right, zero), (right, start.1)]),
                note,
            )
        }
    };
    out.push_str(&format!("<path class=\"band\" d=\"{band}Z\"/>{note}"));
    if let Some(s) = e.seconds {
        let end = (time.x(s), zero);
        out.push_str(&format!(
            "<path class=\"projection\" d=\"{}\"/>\
             <text class=\"eta\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">ETA +{}</text>",
            path([start, end]),
            end.0,
            zero - 6.0,
            escape(&short(s))
        ));
    }
}

/// Spaces finished on the right axis, from its least to its most in the window.
fn spaces_line(out: &mut String, b: &Burndown, time: &TimeScale) {
    let finished = b.points.iter().map(|p| p.spaces_finished);
    let (min, max) = (
        finished.clone().min().unwrap_or(0),
        finished.max().unwrap_or(0),
    );
    let scale = ValueScale {
        frame: PLOT,
        min: min as f64,
        max: max.max(min + 1) as f64,
    };
    let line = path(
        b.points
            .iter()
            .map(|p| (time.x(-p.seconds_ago), scale.y(p.spaces_finished as f64))),
    );
    let (r, mid) = (PLOT.right(), PLOT.top + PLOT.height / 2.0);
    out.push_str(&format!(
        "<path class=\"line2\" d=\"{line}\"/>\
         <text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\">{}</text>\
         <text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\">{}</text>\
         <text class=\"axis-title\" transform=\"translate({:.1} {mid}) rotate(90)\" \
         text-anchor=\"middle\">spaces finished (dashed)</text>",
        r + 6.0,
        scale.y(max as f64) + 4.0,
        thousands(max),
        r + 6.0,
        PLOT.bottom(),
        thousands(min),
        r + 44.0
    ));
}

/// One instance's uploads completed over `window_seconds`, from its least to its most;
/// `label` is its text equivalent (`aria-label` and `<title>`).
pub fn sparkline(s: &InstanceSeries, window_seconds: f64, label: &str) -> String {
    let frame = Frame {
        left: 1.0,
        top: 2.0,
        width: SPARK_WIDTH - 2.0,
        height: SPARK_HEIGHT - 4.0,
    };
    let time = TimeScale {
        frame,
        past_seconds: window_seconds,
        future_seconds: 0.0,
    };
    let done = s.points.iter().map(|p| p.uploads_completed);
    let (min, max) = (done.clone().min().unwrap_or(0), done.max().unwrap_or(0));
    let value = ValueScale {
        frame,
        min: min as f64,
        max: if max > min {
            max as f64
        } else {
            min as f64 * 2.0 + 1.0
        },
    };
    let mut points: Vec<(f64, f64)> = s
        .points
        .iter()
        .map(|p| (time.x(-p.seconds_ago), value.y(p.uploads_completed as f64)))
        .collect();
    if let [only] = points.as_slice() {
        points = vec![(frame.left, only.1), (frame.right(), only.1)];
    }
    let label = escape(label);
    format!(
        "<svg class=\"spark\" role=\"img\" aria-label=\"{label}\" \
         viewBox=\"0 0 {SPARK_WIDTH} {SPARK_HEIGHT}\" width=\"{SPARK_WIDTH}\" height=\"{SPARK_HEIGHT}\">\
         <title>{label}</title><path d=\"{}\"/></svg>",
        path(points)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use migration_core::report::{BurndownPoint, EtaState, SeriesPoint};

    fn window() -> Burndown {
        let points = (0..=20u32)
            .map(|i| BurndownPoint {
                seconds_ago: 600.0 - f64::from(i) * 30.0,
                uploads_completed: 1_000 + u64::from(i) * 50,
                uploads_remaining: 9_000 - u64::from(i) * 50,
                spaces_finished: 10 + u64::from(i),
            })
            .collect();
        Burndown {
            window_seconds: 600.0,
            points,
            instances: Vec::new(),
        }
    }

    fn eta(high: Option<f64>) -> Eta {
        Eta {
            state: EtaState::Estimated,
            uploads_remaining: 8_000,
            uploads_per_minute: 100.0,
            seconds: Some(4_800.0),
            low_seconds: Some(4_000.0),
            high_seconds: high,
        }
    }

    #[test]
    fn the_burn_down_has_its_line_axes_band_and_text_equivalent() {
        let svg = burndown(
            &window(),
            Some(&eta(Some(6_000.0))),
            "Burn-down",
            "9,000 to 8,000",
        );
        assert!(svg.starts_with("<svg id=\"burndown\"") && svg.ends_with("</svg>"));
        assert!(svg.contains("<title id=\"burndown-title\">Burn-down</title>"));
        assert!(svg.contains("<desc id=\"burndown-desc\">9,000 to 8,000</desc>"));
        assert!(svg.contains("<path class=\"line\" d=\"M78.0 "), "{svg}");
        assert!(svg.contains(">uploads remaining</text>"));
        assert!(svg.contains(">−10m</text>") && svg.contains(">now</text>"));
        assert!(
            svg.contains(">+1h 50m</text>"),
            "the horizon past the latest finish: {svg}"
        );
        assert!(svg.contains("class=\"band\"") && svg.contains(">ETA +1h 20m</text>"));
        assert!(!svg.contains("no bound"));
        assert!(
            svg.contains(">10,000</text>"),
            "the value axis tops at a round figure"
        );
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn an_unbounded_range_runs_off_the_right_edge() {
        let svg = burndown(&window(), Some(&eta(None)), "t", "d");
        assert!(svg.contains(">no bound</text>"), "{svg}");
        assert!(
            svg.contains("L642.0 216.0L642.0 "),
            "the band reaches the right edge: {svg}"
        );
    }

    #[test]
    fn without_an_estimate_only_the_window_is_drawn() {
        let unknown = Eta {
            state: EtaState::Unknown,
            ..eta(None)
        };
        let svg = burndown(&window(), Some(&unknown), "t", "d");
        assert!(!svg.contains("class=\"band\"") && !svg.contains("ETA +"));
        assert!(svg.contains("<path class=\"line\" d=\"M78.0 "));
        assert!(svg.contains("L642.0 "), "now at the right edge");
    }

    #[test]
    fn text_is_escaped_and_bounded() {
        let svg = burndown(&window(), None, "<script>", "a\"b&c");
        assert!(svg.contains("<title id=\"burndown-title\">&lt;script&gt;</title>"));
        assert!(svg.contains("a&quot;b&amp;c"));
        assert_eq!(bounded("abcdef", 4), "abc…");
        assert_eq!(bounded("abc", 4), "abc");
        assert_eq!(escape("'<&>\""), "&#39;&lt;&amp;&gt;&quot;");
    }

    #[test]
    fn a_sparkline_spans_its_box_with_its_label() {
        let s = InstanceSeries {
            instance_id: "x".into(),
            points: vec![
                SeriesPoint {
                    seconds_ago: 600.0,
                    uploads_completed: 1_200,
                },
                SeriesPoint {
                    seconds_ago: 0.0,
                    uploads_completed: 1_800,
                },
            ],
        };
        let svg = sparkline(&s, 600.0, "uploads completed: 1,200 → 1,800 \"<x>\"");
        assert!(svg.contains("d=\"M1.0 22.0L119.0 2.0\""), "{svg}");
        assert!(
            svg.contains("aria-label=\"uploads completed: 1,200 → 1,800 &quot;&lt;x&gt;&quot;\"")
        );
        let one = InstanceSeries {
            points: s.points[1..].to_vec(),
            ..s
        };
        assert!(
            sparkline(&one, 600.0, "l").contains("d=\"M1.0 "),
            "one point is a flat line"
        );
    }
}
