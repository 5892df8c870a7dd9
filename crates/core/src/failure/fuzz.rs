//! Property tests of the error classes: arbitrary error texts (binary, huge, quotes without their
//! ends, texts built from the very tokens the normaliser masks) and arbitrary classes files. Every
//! text gets a class of bounded length, the same class every time, and the same class whatever
//! follows the part the normaliser reads (so the work per text is bounded by that part, whatever
//! its length: shown by the outcome, not by a clock); every file is a set of rules or a one-line
//! error naming a key. `PROPTEST_CASES` raises the case count.

use proptest::prelude::*;

use super::normalise::{MAX_CLASS_CHARS, MAX_SCAN_BYTES, prefix};
use super::*;

fn config() -> ProptestConfig {
    crate::proptest_cases::cases(256)
}

/// Texts made of what error messages hold: words, numbers, ids, quotes, punctuation, controls.
fn error_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-zA-Z]{1,12}",
        "[0-9]{1,20}",
        "0x[0-9a-f]{1,16}",
        "did:key:z6Mk[1-9A-Za-z]{10,40}",
        "bafy[a-z2-7]{50,56}",
        "https?://[a-z.]{1,20}/[a-z0-9/?=&]{0,20}",
        "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}(:[0-9]{1,5})?",
        "[a-z]{1,8}@[a-z]{1,8}\\.[a-z]{2,3}",
        "[\"'`<>()\\[\\]{}.,;:!?-]{1,3}",
        "[ \t\r\n\u{0}-\u{1f}]{1,3}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|p| p.join(" "))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_text_gets_a_bounded_deterministic_class(text in error_text()) {
        let c = Classifier::default();
        let class = c.classify(Some(&text));
        prop_assert!(!class.name.is_empty());
        prop_assert!(class.name.chars().count() <= MAX_CLASS_CHARS + 1, "{}", class.name);
        prop_assert!(!class.name.chars().any(char::is_control), "{:?}", class.name);
        prop_assert_eq!(&c.classify(Some(&text)), &class);
        if class.retryable == Retryable::Unknown {
            let masked = normalise(Some(&text));
            prop_assert_eq!(&*class.name, masked.as_str());
        }
    }

    #[test]
    fn what_lies_past_the_scanned_prefix_does_not_change_the_class(
        text in error_text(),
        tail in any::<String>(),
    ) {
        let c = Classifier::default();
        let long = format!("{text}{}", "z".repeat(MAX_SCAN_BYTES));
        let longer = format!("{long}{tail}");
        prop_assert_eq!(prefix(&long, MAX_SCAN_BYTES), prefix(&longer, MAX_SCAN_BYTES));
        prop_assert_eq!(c.classify(Some(&long)), c.classify(Some(&longer)));
    }

    #[test]
    fn a_huge_text_is_classified_in_bounded_time(
        unit in "[a-z0-9 '\"]{1,8}",
        times in 1usize..200_000,
    ) {
        let text = unit.repeat(times);
        let c = Classifier::default();
        let class = c.classify(Some(&text));
        prop_assert_eq!(&class, &c.classify(Some(prefix(&text, MAX_SCAN_BYTES))));
        prop_assert!(class.name.chars().count() <= MAX_CLASS_CHARS + 1);
    }

    #[test]
    fn any_classes_file_is_rules_or_a_one_line_error(
        file in prop_oneof![
            any::<String>(),
            ("[a-z_<>]{0,10}", any::<bool>(), "[^\n']{0,30}").prop_map(|(n, r, p)| {
                format!("classes:\n- name: '{n}'\n  retryable: {r}\n  match: '{p}'\n")
            }),
        ],
    ) {
        match Rules::parse(&file) {
            Ok(rules) => {
                prop_assert!(rules.rules().len() <= rules::MAX_RULES);
                let _ = rules.matching("Connection timeout after 3 retries");
            }
            Err(e) => {
                prop_assert!(!e.key.is_empty());
                prop_assert!(!e.to_string().contains('\n'), "{}", e);
            }
        }
    }
}
