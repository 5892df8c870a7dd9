//! The golden `/metrics` exposition (pinned by the collector's unit test) passes
//! `promtool check metrics` with nothing to report.

#[test]
fn golden_exposition_passes_promtool_check_metrics() {
    let golden = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/metrics.prom"
    ))
    .unwrap();
    assert!(
        golden.contains("migration_spaces{"),
        "golden file holds data series"
    );
    assert_eq!(crate::harness::promtool_check_metrics(&golden), "");
}
