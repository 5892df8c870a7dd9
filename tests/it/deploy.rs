//! The deployment files work with the real programs: the Prometheus scrape config passes
//! `promtool check config`, and the systemd unit passes `systemd-analyze verify` (pointed at the
//! binary this build produced) without a warning.

use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd
        .output()
        .expect("tool is installed (scripts/install-deps installs it)");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

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
fn unit_flags_are_accepted_by_the_binary() {
    // Every flag the unit passes is one the binary documents.
    let (_, help) = run(Command::new(env!("CARGO_BIN_EXE_migration-exporter")).arg("--help"));
    let unit = std::fs::read_to_string(format!("{ROOT}/deploy/systemd/migration-exporter.service"))
        .unwrap();
    let directives = unit.lines().filter(|l| !l.trim_start().starts_with('#'));
    for flag in directives
        .flat_map(str::split_whitespace)
        .filter(|w| w.starts_with("--"))
    {
        let name = flag.split('=').next().unwrap();
        assert!(
            help.contains(name),
            "{name} is not a flag of migration-exporter"
        );
    }
}
