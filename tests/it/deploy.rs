//! The deployment files work with the real programs: the Prometheus scrape config passes
//! `promtool check config`, and the systemd unit passes `systemd-analyze verify` (pointed at the
//! binary this build produced) without a warning.

use std::process::Command;

use crate::harness::run;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn prometheus_scrape_config_is_valid() {
    let (ok, out) = run(Command::new("promtool").args([
        "check",
        "config",
        &format!("{ROOT}/deploy/prometheus/prometheus.yml"),
    ]));
    assert!(ok, "{out}");
    assert!(out.contains("SUCCESS"), "{out}");
}

#[test]
fn systemd_unit_verifies_cleanly() {
    let unit = std::fs::read_to_string(format!("{ROOT}/deploy/systemd/migration-exporter.service"))
        .unwrap();
    assert!(unit.contains("ExecStart=/usr/local/bin/migration-exporter"));
    let dir = std::env::temp_dir().join(format!("unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("migration-exporter.service");
    std::fs::write(
        &path,
        unit.replace(
            "/usr/local/bin/migration-exporter",
            env!("CARGO_BIN_EXE_migration-exporter"),
        ),
    )
    .unwrap();
    let (ok, out) = run(Command::new("systemd-analyze").arg("verify").arg(&path));
    std::fs::remove_dir_all(&dir).ok();
    assert!(ok, "{out}");
    assert_eq!(out.trim(), "", "systemd-analyze has complaints");
}

#[test]
fn the_binary_runs_with_the_units_flags() {
    let unit = std::fs::read_to_string(format!("{ROOT}/deploy/systemd/migration-exporter.service"))
        .unwrap();
    // ExecStart with its continuation lines, less the binary's path.
    let exec: String = unit
        .lines()
        .skip_while(|l| !l.starts_with("ExecStart="))
        .scan(true, |more, l| {
            let line = (*more).then(|| l.trim_end_matches('\\').to_owned());
            *more = l.ends_with('\\');
            line
        })
        .collect::<Vec<_>>()
        .join(" ");
    let flags: Vec<String> = exec
        .split_whitespace()
        .skip(1)
        .map(|f| match f.split_once('=') {
            // Listen on loopback only, on a free port: the unit's own address is for production.
            Some(("--web.listen-address", _)) => "--web.listen-address=127.0.0.1:0".to_owned(),
            _ => f.to_owned(),
        })
        .collect();
    assert!(flags.len() >= 3, "ExecStart has flags: {exec}");
    let closed = format!(
        "--dynamodb.endpoint-url=http://127.0.0.1:{}",
        crate::harness::free_port()
    );
    let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
    args.extend([closed.as_str(), "--log.format=logfmt"]);
    // Started with the unit's flags it runs and serves (a bad flag would exit 2 instead).
    let mut exporter = crate::harness::Exporter::spawn(&args);
    assert_eq!(exporter.get("/-/healthy").0, 200);
    let status = exporter.terminate(std::time::Duration::from_secs(10));
    assert!(status.success(), "{status:?}: {}", exporter.log_tail());
}
