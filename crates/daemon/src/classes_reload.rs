//! Re-reading the classes file (`--failures.classes-file`) before each refresh: a file whose
//! text changed and that loads replaces the rules (the tracker then runs a full scan, which
//! reads every failed space again and so reclassifies them all); one that does not load keeps
//! the previous rules and logs one error line per distinct error. The file is small and
//! bounded ([`MAX_FILE_BYTES`](migration_core::failure::rules::MAX_FILE_BYTES)), so reading it
//! every refresh interval costs nothing worth a file watcher.

use std::path::PathBuf;

use migration_core::failure::{Classifier, Rules};

/// The classes file and the text last applied.
pub(crate) struct ClassesReload {
    path: PathBuf,
    applied: Option<String>,
    last_error: Option<String>,
}

impl ClassesReload {
    /// Watches `path`, whose rules (checked at start) are in use.
    pub(crate) fn new(path: PathBuf) -> Self {
        let applied = Rules::read(&path).ok();
        ClassesReload {
            path,
            applied,
            last_error: None,
        }
    }

    /// The new classifier, if the file changed and loads.
    pub(crate) async fn poll(&mut self) -> Option<Classifier> {
        let path = self.path.clone();
        let read = tokio::task::spawn_blocking(move || Rules::read(&path)).await;
        let outcome = match read {
            Err(e) => Err(format!("reading task failed: {e}")),
            Ok(Err(e)) => Err(e.to_string()),
            Ok(Ok(text)) if Some(&text) == self.applied.as_ref() => return None,
            Ok(Ok(text)) => Rules::parse(&text)
                .map(|r| (text, r))
                .map_err(|e| e.to_string()),
        };
        match outcome {
            Ok((text, rules)) => {
                self.applied = Some(text);
                self.last_error = None;
                tracing::info!(file = %self.path.display(), rules = rules.rules().len(), "classes file reloaded; the next refresh is a full scan");
                Some(Classifier::new(rules))
            }
            Err(e) => {
                if self.last_error.as_deref() != Some(e.as_str()) {
                    tracing::error!(file = %self.path.display(), error = %e, "classes file not reloaded; keeping the previous rules");
                    self.last_error = Some(e);
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use migration_core::failure::Retryable;

    #[tokio::test]
    async fn a_changed_file_that_loads_replaces_the_rules_and_a_bad_one_keeps_them() {
        let dir = std::env::temp_dir().join(format!("classes-reload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("classes.yml");
        let write = |text: &str| std::fs::write(&path, text).unwrap();
        write("classes:\n- {name: quota, retryable: false, match: quota}\n");
        let mut reload = ClassesReload::new(path.clone());
        assert!(reload.poll().await.is_none(), "unchanged");
        write("classes:\n- {name: quota, retryable: true, match: quota}\n");
        let c = reload.poll().await.expect("reloaded");
        assert_eq!(c.classify(Some("quota hit")).retryable, Retryable::Yes);
        write("classes:\n- {name: quota, retryable: true, match: '('}\n");
        assert!(reload.poll().await.is_none(), "a bad file is not applied");
        std::fs::remove_file(&path).unwrap();
        assert!(
            reload.poll().await.is_none(),
            "a vanished file is not applied"
        );
        write("classes:\n- {name: quota, retryable: true, match: quota}\n");
        assert!(
            reload.poll().await.is_none(),
            "back to the applied text: nothing to do"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
