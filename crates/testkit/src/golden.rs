//! Golden files: whether a golden test rewrites its file (`UPDATE_GOLDEN` set) before comparing.
//! A rewritten file is compared with itself, so under CI (`CI` set) that is refused: the test
//! panics saying so, rather than passing whatever the code renders.

use std::ffi::OsString;

/// Whether to rewrite the golden files, from `UPDATE_GOLDEN`; panics when `CI` is set too.
pub fn update_golden() -> bool {
    update_golden_from(std::env::var_os("UPDATE_GOLDEN"), std::env::var_os("CI"))
}

/// [`update_golden`] on given values of `UPDATE_GOLDEN` and `CI`.
pub fn update_golden_from(update: Option<OsString>, ci: Option<OsString>) -> bool {
    match (update, ci) {
        (Some(_), Some(_)) => panic!(
            "UPDATE_GOLDEN is set under CI: the golden tests would rewrite each file and compare \
             it with itself; unset UPDATE_GOLDEN (update golden files locally and commit them)"
        ),
        (update, None) => update.is_some(),
        (None, Some(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_files_are_rewritten_only_on_request_and_never_under_ci() {
        assert!(!update_golden_from(None, None));
        assert!(update_golden_from(Some("1".into()), None));
        assert!(!update_golden_from(None, Some("true".into())));
    }

    #[test]
    #[should_panic(expected = "UPDATE_GOLDEN is set under CI")]
    fn update_golden_under_ci_is_refused() {
        update_golden_from(Some("1".into()), Some("true".into()));
    }
}
