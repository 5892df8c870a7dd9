//! The classes file (`--failures.classes-file`, YAML): a list of rules, each a class name, whether
//! its failures are retryable, and one or more regular expressions; the first rule with a match
//! names a failed space's class. Every value is checked on load, and a bad file is refused with a
//! [`ClassesFileError`] naming the key. Regular expressions are Rust's `regex` (linear time, no
//! backtracking), each compiled within a size limit, and the number of rules and patterns is
//! bounded, so no file can make one error text costly to classify.

use std::collections::HashSet;
use std::path::Path;

use regex::{RegexSet, RegexSetBuilder};
use serde::Deserialize;

use super::Retryable;

/// The rules compiled into the binary (`default-classes.yml`).
pub const BUNDLED: &str = include_str!("default-classes.yml");
/// At most this many rules ...
pub const MAX_RULES: usize = 200;
/// ... with at most this many patterns in all ...
pub const MAX_PATTERNS: usize = 1_000;
/// ... each at most this long ...
pub const MAX_PATTERN_BYTES: usize = 1_000;
/// ... compiling within this many bytes (the regex crate's size limit, for all patterns).
const COMPILED_LIMIT: usize = 16 << 20;
/// The longest class name.
pub const MAX_NAME_CHARS: usize = 64;
/// The largest classes file read.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// A classes file that cannot be used: the key at fault and why, in one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ClassesFileError {
    /// The key at fault (`classes[2].match[0]`), or `file` for the file as a whole.
    pub key: String,
    pub message: String,
}

impl ClassesFileError {
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        let message: String = message.into();
        ClassesFileError {
            key: key.into(),
            // One line, whatever the regex or YAML parser said.
            message: message.split_whitespace().collect::<Vec<_>>().join(" "),
        }
    }
}

/// One rule: the class it names and whether to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub name: String,
    pub retryable: Retryable,
}

/// The compiled rules of a classes file.
#[derive(Debug, Clone)]
pub struct Rules {
    rules: Vec<Rule>,
    /// Every pattern of every rule, in file order ...
    set: RegexSet,
    /// ... and the rule each belongs to.
    owner: Vec<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    classes: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    retryable: bool,
    #[serde(rename = "match")]
    patterns: Patterns,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Patterns {
    One(String),
    Many(Vec<String>),
}

impl Rules {
    /// The bundled rules.
    pub fn bundled() -> Rules {
        // Checked by a test; start-up cannot go on without rules.
        #[allow(clippy::expect_used)]
        Rules::parse(BUNDLED).expect("the bundled classes file is valid")
    }

    /// Reads and checks a classes file.
    pub fn load(path: &Path) -> Result<Rules, ClassesFileError> {
        Rules::parse(&Rules::read(path)?)
    }

    /// Reads a classes file's text (at most [`MAX_FILE_BYTES`]), for [`Rules::parse`].
    pub fn read(path: &Path) -> Result<String, ClassesFileError> {
        read_bounded(path)
    }

    /// Checks the text of a classes file.
    pub fn parse(text: &str) -> Result<Rules, ClassesFileError> {
        let file: File = serde_norway::from_str(text).map_err(yaml_error)?;
        if file.classes.len() > MAX_RULES {
            return Err(ClassesFileError::new(
                "classes",
                format!("{} rules; at most {MAX_RULES}", file.classes.len()),
            ));
        }
        let mut rules = Vec::with_capacity(file.classes.len());
        let mut patterns: Vec<String> = Vec::new();
        let mut owner = Vec::new();
        let mut names = HashSet::new();
        for (i, raw) in file.classes.into_iter().enumerate() {
            let key = format!("classes[{i}]");
            check_name(&raw.name).map_err(|m| ClassesFileError::new(format!("{key}.name"), m))?;
            if !names.insert(raw.name.clone()) {
                return Err(ClassesFileError::new(
                    format!("{key}.name"),
                    format!("{:?} is named twice; one rule per class", raw.name),
                ));
            }
            let list = match raw.patterns {
                Patterns::One(p) => vec![p],
                Patterns::Many(l) => l,
            };
            if list.is_empty() {
                return Err(ClassesFileError::new(
                    format!("{key}.match"),
                    "no pattern; give a regular expression or a list of them",
                ));
            }
            for (j, p) in list.into_iter().enumerate() {
                let pkey = format!("{key}.match[{j}]");
                check_pattern(&p).map_err(|m| ClassesFileError::new(&pkey, m))?;
                patterns.push(p);
                owner.push(i);
            }
            rules.push(Rule {
                name: raw.name,
                retryable: if raw.retryable {
                    Retryable::Yes
                } else {
                    Retryable::No
                },
            });
        }
        if patterns.len() > MAX_PATTERNS {
            return Err(ClassesFileError::new(
                "classes",
                format!("{} patterns; at most {MAX_PATTERNS}", patterns.len()),
            ));
        }
        let set = compile(&patterns)
            .map_err(|e| ClassesFileError::new("classes", format!("the patterns together: {e}")))?;
        Ok(Rules { rules, set, owner })
    }

    /// The first rule (in file order) with a pattern that matches `text`.
    pub fn matching(&self, text: &str) -> Option<&Rule> {
        let first = self.set.matches(text).iter().next()?;
        self.rules.get(self.owner[first])
    }

    /// The rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
}

fn compile<S: AsRef<str>>(patterns: &[S]) -> Result<RegexSet, regex::Error> {
    RegexSetBuilder::new(patterns)
        .size_limit(COMPILED_LIMIT)
        .dfa_size_limit(COMPILED_LIMIT)
        .build()
}

fn check_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("empty; give the class a name like timeout".into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!("longer than {MAX_NAME_CHARS} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err("contains a control character".into());
    }
    if name == super::OTHER || name.starts_with('<') {
        return Err(format!(
            "{name:?} is reserved (\"other\" sums the classes past --metrics.max-error-classes; <...> are masks)"
        ));
    }
    Ok(())
}

fn check_pattern(p: &str) -> Result<(), String> {
    if p.is_empty() {
        return Err("empty pattern; it would match every error".into());
    }
    if p.len() > MAX_PATTERN_BYTES {
        return Err(format!("longer than {MAX_PATTERN_BYTES} bytes"));
    }
    compile(&[p]).map(|_| ()).map_err(|e| e.to_string())
}

fn read_bounded(path: &Path) -> Result<String, ClassesFileError> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| ClassesFileError::new("file", format!("{}: {e}", path.display())))?;
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| ClassesFileError::new("file", format!("{}: {e}", path.display())))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(ClassesFileError::new(
            "file",
            format!("{} is larger than {MAX_FILE_BYTES} bytes", path.display()),
        ));
    }
    Ok(text)
}

/// A YAML error as `key: message`.
fn yaml_error(e: serde_norway::Error) -> ClassesFileError {
    let msg = e.to_string();
    // serde_norway prefixes nested errors with their path ("classes[1]: missing field ...").
    match msg.split_once(": ") {
        Some((path, rest)) if !path.is_empty() && !path.contains(' ') => {
            ClassesFileError::new(path, rest)
        }
        _ => ClassesFileError::new("file", msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> ClassesFileError {
        Rules::parse(text).expect_err("refused")
    }

    #[test]
    fn the_bundled_file_loads() {
        let r = Rules::bundled();
        assert!(r.rules().len() >= 6);
        assert!(r.rules().iter().any(|r| r.retryable == Retryable::Yes));
        assert!(r.rules().iter().any(|r| r.retryable == Retryable::No));
    }

    #[test]
    fn the_first_matching_rule_names_the_class() {
        let r = Rules::parse(
            "classes:\n- {name: a, retryable: true, match: 'x'}\n- {name: b, retryable: false, match: ['y', 'x']}\n",
        )
        .unwrap();
        assert_eq!(r.matching("xy").unwrap().name, "a");
        assert_eq!(r.matching("y").unwrap().retryable, Retryable::No);
        assert!(r.matching("z").is_none());
    }

    #[test]
    fn a_bad_file_is_refused_naming_the_key() {
        for (text, key) in [
            (
                "classes:\n- {name: a, retryable: true, match: '('}\n",
                "classes[0].match[0]",
            ),
            (
                "classes:\n- {name: a, retryable: true, match: ['x', '']}\n",
                "classes[0].match[1]",
            ),
            (
                "classes:\n- {name: '', retryable: true, match: x}\n",
                "classes[0].name",
            ),
            (
                "classes:\n- {name: other, retryable: true, match: x}\n",
                "classes[0].name",
            ),
            (
                "classes:\n- {name: a, retryable: true, match: x}\n- {name: a, retryable: true, match: y}\n",
                "classes[1].name",
            ),
            (
                "classes:\n- {name: a, retryable: true, match: []}\n",
                "classes[0].match",
            ),
        ] {
            let e = refused(text);
            assert_eq!(e.key, key, "{text}: {e}");
            assert!(!e.to_string().contains('\n'), "{e}");
        }
        for text in [
            "classes:\n- {name: a, retryable: maybe, match: x}\n",
            "classes:\n- {name: a, retryable: true, match: x, colour: red}\n",
            "rules: []\n",
            "[[[",
        ] {
            let e = refused(text);
            assert!(!e.to_string().contains('\n'), "{e}");
            assert!(!e.key.is_empty());
        }
    }

    #[test]
    fn patterns_that_would_blow_up_are_refused_or_run_in_linear_time() {
        // Too large to compile within the limit.
        let huge = "classes:\n- {name: a, retryable: true, match: '(\\w{100}){100}'}\n";
        assert_eq!(refused(huge).key, "classes[0].match[0]");
        // A classic catastrophic-backtracking pattern: a backtracking engine would try 2^4000
        // ways and never return; the linear-time engine answers.
        let r = Rules::parse("classes:\n- {name: a, retryable: true, match: '^(a+)+$'}\n").unwrap();
        let text = format!("{}b", "a".repeat(4_000));
        assert!(r.matching(&text).is_none());
    }
}
