//! A small PromQL scan for the dashboard and alert tests: the metric names an expression selects,
//! and the queries inside an alert annotation's Go template.

use std::collections::BTreeSet;

/// Words of PromQL that are not metric names when they stand without a following `(`.
const PROMQL_WORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "offset",
    "bool",
    "atan2",
    "inf",
    "nan",
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
];

/// The metric names a PromQL expression selects (Grafana variables such as `$job` are fine where
/// a label value or a duration goes). Skips strings, label matchers, ranges, grouping lists,
/// numbers, durations, keywords and function names.
pub fn promql_metric_names(expr: &str) -> BTreeSet<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    let skip_string = |i: usize, quote: char| -> usize {
        let mut j = i + 1;
        while j < chars.len() && chars[j] != quote {
            j += if chars[j] == '\\' { 2 } else { 1 };
        }
        j + 1
    };
    let skip_until = |mut i: usize, close: char| -> usize {
        while i < chars.len() && chars[i] != close {
            i = match chars[i] {
                q @ ('"' | '\'' | '`') => skip_string(i, q),
                _ => i + 1,
            };
        }
        i + 1
    };
    let next_non_space = |mut i: usize| -> Option<char> {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        chars.get(i).copied()
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' | '`' => i = skip_string(i, c),
            '{' => i = skip_until(i + 1, '}'),
            '[' => i = skip_until(i + 1, ']'),
            '#' => i = skip_until(i + 1, '\n'),
            '$' => {
                // A Grafana variable, e.g. $__rate_interval.
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
            }
            c if c.is_ascii_digit() || c == '.' => {
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
            }
            c if c.is_alphabetic() || c == '_' || c == ':' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == ':')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let next = next_non_space(i);
                let lower = word.to_ascii_lowercase();
                if matches!(
                    lower.as_str(),
                    "by" | "without" | "on" | "ignoring" | "group_left" | "group_right"
                ) {
                    if next == Some('(') {
                        let open = (i..chars.len()).find(|&k| chars[k] == '(').unwrap();
                        i = skip_until(open + 1, ')');
                    }
                } else if PROMQL_WORDS.contains(&lower.as_str()) || next == Some('(') {
                    // A keyword, an aggregation or a function call.
                } else {
                    names.insert(word);
                }
            }
            _ => i += 1,
        }
    }
    names
}

/// The PromQL inside a Go template (an alert annotation): the string given to `query`, directly
/// or through `printf` (whose verbs are replaced by a label value).
pub fn template_queries(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(at) = rest.find("query ") {
        rest = rest[at + "query ".len()..].trim_start();
        let inner = rest
            .strip_prefix("(printf ")
            .map(str::trim_start)
            .unwrap_or(rest);
        let Some(quote) = inner.chars().next().filter(|c| *c == '"' || *c == '`') else {
            continue;
        };
        if let Some(end) = inner[1..].find(quote) {
            out.push(inner[1..1 + end].replace("%q", "\"x\"").replace("%s", "x"));
        }
    }
    out
}

/// `expr` with `matcher` (such as `instance="a:1"`) added to every selector of a metric scraped
/// as is (a name without `:`; recorded series are left alone, as their rules aggregated it).
pub fn with_matcher(expr: &str, matcher: &str) -> String {
    let names: Vec<String> = promql_metric_names(expr)
        .into_iter()
        .filter(|n| !n.contains(':'))
        .collect();
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut out = String::new();
    let mut rest = expr;
    'scan: while !rest.is_empty() {
        for name in &names {
            let before_ok = !out.chars().next_back().is_some_and(word);
            let after_ok = rest
                .strip_prefix(name.as_str())
                .is_some_and(|after| !after.starts_with(word));
            if before_ok && after_ok {
                out.push_str(name);
                rest = &rest[name.len()..];
                let trimmed = rest.trim_start();
                if let Some(inside) = trimmed.strip_prefix('{') {
                    out.push_str(&rest[..rest.len() - trimmed.len()]);
                    out.push('{');
                    out.push_str(matcher);
                    if !inside.trim_start().starts_with('}') {
                        out.push(',');
                    }
                    rest = inside;
                } else {
                    out.push('{');
                    out.push_str(matcher);
                    out.push('}');
                }
                continue 'scan;
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[test]
fn a_matcher_goes_into_every_raw_selector_and_no_recorded_one() {
    let e =
        r#"sum(rate(migration_x{to="a"}[5m])) / job:migration_x:sum + max(migration_y) or up{}"#;
    assert_eq!(
        with_matcher(e, r#"instance="i""#),
        r#"sum(rate(migration_x{instance="i",to="a"}[5m])) / job:migration_x:sum + max(migration_y{instance="i"}) or up{instance="i"}"#
    );
}
