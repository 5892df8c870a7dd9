//! The case count of this crate's property tests: each test's own default, or
//! `PROPTEST_CASES` when set (`with_cases` alone would override the environment).

use proptest::test_runner::Config;

/// `default` cases unless `PROPTEST_CASES` says otherwise.
pub(crate) fn cases(default: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    Config::with_cases(cases)
}
