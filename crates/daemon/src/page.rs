//! `/metrics` as scrapes get it, in the text exposition format. The migration's page changes only
//! when the refresh loop publishes (after every refresh, failed ones included; the read meter
//! moves only during refreshes), so the page is kept with the published state it was rendered
//! from, and so is its gzip form ([`GzipPage`]), built by the first gzip scrape of that state;
//! scrapes in between are served from memory. Only the HTTP side's few lines, which move
//! between refreshes, are rendered at every scrape, after the page (appended to the same gzip
//! member for a gzip scrape).
//!
//! The gzip form is built lazily rather than at publish: the refresh loop never renders (the
//! page itself is rendered by the first scrape), a daemon scraped without gzip never compresses,
//! and a state replaced before any gzip scrape costs nothing.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use axum::body::Bytes;
use prometheus::{Encoder, TextEncoder};

use super::collector::MigrationCollector;
use super::gzip::GzipPage;
use super::store::Published;

/// The content coding of a response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    Identity,
    Gzip,
}

/// One published state's page: the text, and its gzip form once a gzip scrape asked for it.
struct CachedPage {
    text: Bytes,
    /// `None` when compressing failed (logged); such a state is then served as identity.
    gzip: OnceLock<Option<GzipPage>>,
}

/// Renders `/metrics` from the published state, caching per published state.
pub(crate) struct MetricsRenderer {
    collector: MigrationCollector,
    cache: Mutex<Option<(Arc<Published>, Arc<CachedPage>)>>,
    /// Gzip forms built, for the tests to count.
    #[cfg(test)]
    gzip_builds: std::sync::atomic::AtomicUsize,
}

impl MetricsRenderer {
    pub(crate) fn new(collector: MigrationCollector) -> Self {
        MetricsRenderer {
            collector,
            cache: Mutex::new(None),
            #[cfg(test)]
            gzip_builds: Default::default(),
        }
    }

    /// The content type of [`MetricsRenderer::render`]'s output.
    pub(crate) fn content_type(&self) -> String {
        TextEncoder::new().format_type().to_owned()
    }

    /// The current metrics (the page of the published state, then the HTTP side's families) in
    /// `asked`'s coding, or identity if gzip failed: the coding used, and the body as two chunks,
    /// so that the cached part is never copied.
    pub(crate) fn render(&self, asked: Coding) -> (Coding, [Bytes; 2]) {
        let page = self.page();
        let mut http = String::with_capacity(2048);
        self.collector.http.write(&mut http);
        if asked == Coding::Gzip
            && let Some(gz) = self.gzip(&page)
        {
            match gz.finish(http.as_bytes()) {
                Ok(rest) => return (Coding::Gzip, [gz.head(), rest]),
                Err(e) => {
                    tracing::error!(error = %e, "cannot gzip the HTTP lines; serving identity")
                }
            }
        }
        (Coding::Identity, [page.text.clone(), Bytes::from(http)])
    }

    /// The page's gzip form, built by the first caller; concurrent callers wait for that one.
    fn gzip<'p>(&self, page: &'p CachedPage) -> Option<&'p GzipPage> {
        page.gzip
            .get_or_init(|| {
                #[cfg(test)]
                self.gzip_builds
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                GzipPage::new(&page.text)
                    .inspect_err(|e| tracing::error!(error = %e, "serving identity"))
                    .ok()
            })
            .as_ref()
    }

    /// The published state's page: rendered once per published state, which is read once.
    fn page(&self) -> Arc<CachedPage> {
        let current = self.collector.store.load();
        // Concurrent scrapes of a new state wait for one render instead of each rendering it.
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((rendered_from, page)) = cache.as_ref()
            && Arc::ptr_eq(rendered_from, &current)
        {
            return page.clone();
        }
        let mut out = Vec::new();
        let families = self.collector.families(&current);
        if let Err(e) = TextEncoder::new().encode(&families, &mut out) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        let page = Arc::new(CachedPage {
            text: Bytes::from(out),
            gzip: OnceLock::new(),
        });
        *cache = Some((current, page.clone()));
        page
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use exporter_web::HttpStats;
    use flate2::read::GzDecoder;

    use super::*;
    use crate::store::{Health, SnapshotStore};
    use migration_core::state::tracker::RefreshSettings;
    use migration_core::table::ErrorKind;
    use migration_core::table::meter::ReadMeter;

    fn renderer(store: &Arc<SnapshotStore>, http: &Arc<HttpStats>) -> MetricsRenderer {
        MetricsRenderer::new(MigrationCollector::new(
            store.clone(),
            Arc::new(ReadMeter::default()),
            "t",
            Arc::new(RefreshSettings::full_only(Duration::from_secs(3600), 1)),
            http.clone(),
        ))
    }

    fn text(chunks: &[Bytes; 2]) -> String {
        String::from_utf8(chunks.concat()).unwrap()
    }

    /// Decodes the first gzip member only (as curl does): the whole body must be one member.
    fn gunzip(chunks: &[Bytes; 2]) -> String {
        let mut out = String::new();
        GzDecoder::new(chunks.concat().as_slice())
            .read_to_string(&mut out)
            .unwrap();
        out
    }

    fn publish_failure(store: &SnapshotStore) {
        let mut health = Health::default();
        health.record_failure(ErrorKind::Throttled);
        store.publish(Published {
            health,
            ..Published::default()
        });
    }

    #[test]
    fn a_page_is_rendered_once_per_published_state() {
        let store = Arc::new(SnapshotStore::new());
        let renderer = renderer(&store, &Arc::new(HttpStats::default()));
        let first = renderer.page();
        let again = renderer.page();
        assert!(Arc::ptr_eq(&first, &again), "served from memory");
        publish_failure(&store);
        let (_, after) = renderer.render(Coding::Identity);
        let text = text(&after);
        assert!(
            text.contains("migration_exporter_refresh_errors_total{kind=\"throttled\"} 1"),
            "a new publish renders anew: {text}"
        );
    }

    #[test]
    fn a_gzip_scrape_decodes_to_exactly_the_plain_page_and_http_lines() {
        let store = Arc::new(SnapshotStore::new());
        publish_failure(&store);
        let renderer = renderer(&store, &Arc::new(HttpStats::default()));
        let (coding, gz) = renderer.render(Coding::Gzip);
        assert_eq!(coding, Coding::Gzip);
        let (coding, plain) = renderer.render(Coding::Identity);
        assert_eq!(coding, Coding::Identity);
        let plain = text(&plain);
        assert!(plain.contains("migration_exporter_http_requests_in_flight 0\n"));
        assert_eq!(gunzip(&gz), plain);
    }

    #[test]
    fn the_gzip_form_is_built_once_per_publish_and_anew_after_one() {
        let store = Arc::new(SnapshotStore::new());
        let renderer = renderer(&store, &Arc::new(HttpStats::default()));
        let builds = || renderer.gzip_builds.load(Ordering::Relaxed);
        renderer.render(Coding::Identity);
        assert_eq!(builds(), 0, "identity scrapes never compress");
        let (_, first) = renderer.render(Coding::Gzip);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    let (_, again) = renderer.render(Coding::Gzip);
                    assert_eq!(again[0].as_ptr(), first[0].as_ptr(), "the cached part");
                });
            }
        });
        assert_eq!(builds(), 1);
        publish_failure(&store);
        let (_, after) = renderer.render(Coding::Gzip);
        assert_eq!(builds(), 2, "a new publish builds a new one");
        assert!(gunzip(&after).contains("kind=\"throttled\"} 1\n"));
    }

    #[test]
    fn the_http_side_is_rendered_at_every_scrape_after_the_cached_page() {
        let store = Arc::new(SnapshotStore::new());
        let renderer = renderer(&store, &Arc::new(HttpStats::default()));
        let before = text(&renderer.render(Coding::Identity).1);
        assert!(before.contains("migration_exporter_http_connections_accepted_total 0\n"));
        assert!(
            before.contains(
                "migration_exporter_http_connections_closed_total{reason=\"evicted\"} 0\n"
            )
        );
        assert_families_contiguous(&before);
        // Not cached with the page: a new render is a new buffer while the page is the same,
        // in both codings (the values' freshness through a real server: tests/it/exposition.rs).
        for coding in [Coding::Identity, Coding::Gzip] {
            let (one, two) = (renderer.render(coding).1, renderer.render(coding).1);
            assert_eq!(one[0].as_ptr(), two[0].as_ptr(), "{coding:?}");
            assert_ne!(one[1].as_ptr(), two[1].as_ptr(), "{coding:?}");
        }
    }

    /// Fails when a family's lines appear in two blocks of `text`.
    fn assert_families_contiguous(text: &str) {
        let mut seen = std::collections::BTreeSet::new();
        let mut current = "";
        for line in text.lines() {
            let name = line
                .strip_prefix("# HELP ")
                .or_else(|| line.strip_prefix("# TYPE "))
                .unwrap_or(line)
                .split(['{', ' '])
                .next()
                .unwrap_or("");
            if name != current {
                assert!(seen.insert(name.to_owned()), "{name} appears in two blocks");
                current = name;
            }
        }
    }
}
