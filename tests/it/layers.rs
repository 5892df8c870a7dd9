//! The workspace's layers, read from `cargo metadata` (README: Layout): a crate depends only on
//! crates of lower layers, the web crate on no crate of the workspace, and the test kit is
//! dev-only: never a normal dependency of any crate, and not reachable through normal
//! dependencies from the root package that ships the binaries (`cargo tree -e normal`).
//!
//! The rules are a pure function of the metadata ([`violations`]), so the tests below also show
//! that each rule catches an edge added to the real metadata.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{Value, json};

const WEB: &str = "exporter-web";
const CORE: &str = "migration-core";
const TESTKIT: &str = "migration-testkit";
const ROOT: &str = "migration-exporter";

/// Bottom to top. The test kit has no layer: it is dev-only (see [`testkit_rules`]).
const LAYERS: &[(&str, u32)] = &[
    (WEB, 0),
    (CORE, 0),
    ("migration-cli", 1),
    ("migration-daemon", 2),
    ("migration-monitor", 2),
    (ROOT, 3),
];

/// The crates the test kit may name as dev-dependencies (its examples drive the front ends).
const TESTKIT_DEV_ALLOWED: &[&str] = &[
    CORE,
    "migration-cli",
    "migration-daemon",
    "migration-monitor",
];

/// How a package depends on another, as `cargo metadata` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Normal,
    Build,
    Dev,
}

impl Kind {
    fn of(dep: &Value) -> Kind {
        match dep["kind"].as_str() {
            Some("dev") => Kind::Dev,
            Some("build") => Kind::Build,
            _ => Kind::Normal,
        }
    }
}

/// One dependency of a workspace package on another workspace package.
#[derive(Debug)]
struct Edge<'a> {
    from: &'a str,
    to: &'a str,
    kind: Kind,
}

/// The workspace's metadata, read once for all the tests here.
fn cargo_metadata() -> Value {
    static META: OnceLock<Value> = OnceLock::new();
    META.get_or_init(read_metadata).clone()
}

fn read_metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// The workspace's packages by name, and their package ids.
fn members(meta: &Value) -> BTreeMap<&str, &str> {
    let ids: BTreeSet<&str> = meta["workspace_members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["name"].as_str()?, p["id"].as_str()?)))
        .filter(|(_, id)| ids.contains(id))
        .collect()
}

/// Every dependency between workspace packages, of any kind.
fn edges<'a>(meta: &'a Value, members: &BTreeMap<&str, &str>) -> Vec<Edge<'a>> {
    let mut out = Vec::new();
    for p in meta["packages"].as_array().into_iter().flatten() {
        let Some(from) = p["name"].as_str().filter(|n| members.contains_key(n)) else {
            continue;
        };
        for d in p["dependencies"].as_array().into_iter().flatten() {
            // A workspace crate is a path dependency with a workspace member's name.
            let Some(to) = d["name"].as_str().filter(|n| members.contains_key(n)) else {
                continue;
            };
            if d["path"].is_string() {
                out.push(Edge {
                    from,
                    to,
                    kind: Kind::of(d),
                });
            }
        }
    }
    out
}

fn layer(name: &str) -> Option<u32> {
    LAYERS.iter().find(|(n, _)| *n == name).map(|(_, l)| *l)
}

/// Normal and build dependencies go strictly down the layers; the web crate imports nothing.
fn layer_rules(edges: &[Edge<'_>], members: &BTreeMap<&str, &str>) -> Vec<String> {
    let mut out = Vec::new();
    for name in members.keys() {
        if *name != TESTKIT && layer(name).is_none() {
            out.push(format!(
                "{name} is a workspace crate without a layer in LAYERS"
            ));
        }
    }
    for e in edges {
        if e.from == WEB {
            out.push(format!(
                "{WEB} depends on the workspace crate {} ({:?})",
                e.to, e.kind
            ));
        }
        if e.kind == Kind::Dev || e.to == TESTKIT || e.from == TESTKIT {
            continue;
        }
        if let (Some(from), Some(to)) = (layer(e.from), layer(e.to))
            && to >= from
        {
            out.push(format!(
                "{} (layer {from}) depends on {} (layer {to}): only lower layers may be used",
                e.from, e.to
            ));
        }
    }
    out
}

/// The test kit is only ever a dev-dependency, and itself uses only the read path (and the
/// front ends as dev-dependencies of its examples).
fn testkit_rules(edges: &[Edge<'_>]) -> Vec<String> {
    let mut out = Vec::new();
    for e in edges {
        if e.to == TESTKIT && e.kind != Kind::Dev {
            out.push(format!(
                "{} has {TESTKIT} as a {:?} dependency",
                e.from, e.kind
            ));
        }
        if e.from == TESTKIT {
            let allowed = match e.kind {
                Kind::Dev => TESTKIT_DEV_ALLOWED.contains(&e.to),
                Kind::Normal | Kind::Build => e.to == CORE,
            };
            if !allowed {
                out.push(format!("{TESTKIT} depends on {} ({:?})", e.to, e.kind));
            }
        }
    }
    out
}

/// What the root package reaches through normal dependencies in the resolve graph, by
/// package id (`cargo tree -e normal` from the root).
fn normal_closure<'a>(meta: &'a Value, root: &'a str) -> BTreeSet<&'a str> {
    let nodes: BTreeMap<&str, &Value> = meta["resolve"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| Some((n["id"].as_str()?, n)))
        .collect();
    let mut seen = BTreeSet::from([root]);
    let mut todo = vec![root];
    while let Some(id) = todo.pop() {
        let Some(node) = nodes.get(id) else { continue };
        for d in node["deps"].as_array().into_iter().flatten() {
            let normal = d["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].is_null());
            if let Some(pkg) = d["pkg"].as_str()
                && normal
                && seen.insert(pkg)
            {
                todo.push(pkg);
            }
        }
    }
    seen
}

/// Every broken rule, one line each; empty when the workspace keeps its layers.
fn violations(meta: &Value) -> Vec<String> {
    let members = members(meta);
    let edges = edges(meta, &members);
    let mut out = layer_rules(&edges, &members);
    out.extend(testkit_rules(&edges));
    match (members.get(ROOT), members.get(TESTKIT)) {
        (Some(root), Some(testkit)) => {
            if normal_closure(meta, root).contains(testkit) {
                out.push(format!(
                    "{TESTKIT} is reachable from {ROOT} through normal dependencies: the shipped binaries would link it"
                ));
            }
        }
        _ => out.push(format!("{ROOT} or {TESTKIT} missing from the workspace")),
    }
    out
}

/// The real metadata with one more dependency of `from` on `to` (in the package list, and in
/// the resolve graph for normal ones), as if a Cargo.toml had gained it.
fn with_edge(mut meta: Value, from: &str, to: &str, kind: Option<&str>) -> Value {
    let ids = members(&meta)
        .into_iter()
        .map(|(n, id)| (n.to_owned(), id.to_owned()))
        .collect::<BTreeMap<_, _>>();
    let packages = meta["packages"].as_array_mut().expect("packages");
    let to_path = packages
        .iter()
        .find(|p| p["name"] == to)
        .and_then(|p| p["manifest_path"].as_str())
        .expect("target package")
        .trim_end_matches("/Cargo.toml")
        .to_owned();
    let package = packages
        .iter_mut()
        .find(|p| p["name"] == from)
        .expect("source package");
    let deps = package["dependencies"]
        .as_array_mut()
        .expect("dependencies");
    deps.push(json!({"name": to, "kind": kind, "path": to_path, "req": "*"}));
    let nodes = meta["resolve"]["nodes"]
        .as_array_mut()
        .expect("resolve nodes");
    let node = nodes
        .iter_mut()
        .find(|n| n["id"] == ids[from].as_str())
        .expect("source node");
    let edges = node["deps"].as_array_mut().expect("node deps");
    edges.push(json!({"name": to.replace('-', "_"), "pkg": ids[to], "dep_kinds": [{"kind": kind, "target": null}]}));
    meta
}

#[test]
fn the_workspace_keeps_its_layers() {
    let meta = cargo_metadata();
    let found = violations(&meta);
    assert!(
        found.is_empty(),
        "layer rules broken:\n{}",
        found.join("\n")
    );
    // The rules look at something: the front ends' real edges are there.
    let members = members(&meta);
    assert!(
        edges(&meta, &members)
            .iter()
            .any(|e| e.from == "migration-daemon" && e.to == "migration-cli")
    );
}

/// What the rules find once `from` gains a dependency on `to` of `kind` (`None`: normal).
fn found_with_edge(from: &str, to: &str, kind: Option<&str>) -> Vec<String> {
    violations(&with_edge(cargo_metadata(), from, to, kind))
}

/// Asserts that one of `found` contains `needle`.
fn assert_names(found: &[String], needle: &str) {
    assert!(
        found.iter().any(|v| v.contains(needle)),
        "no {needle:?} in {found:?}"
    );
}

#[test]
fn a_crate_depending_on_a_higher_layer_is_caught() {
    let found = found_with_edge(CORE, "migration-cli", None);
    assert_names(&found, "migration-core (layer 0) depends on migration-cli");
}

#[test]
fn a_front_end_depending_on_the_other_is_caught() {
    let found = found_with_edge("migration-daemon", "migration-monitor", None);
    assert_eq!(
        found,
        [
            "migration-daemon (layer 2) depends on migration-monitor (layer 2): only lower layers may be used"
        ]
    );
}

#[test]
fn the_web_crate_depending_on_any_workspace_crate_is_caught() {
    let found = found_with_edge(WEB, CORE, Some("dev"));
    assert_names(
        &found,
        "exporter-web depends on the workspace crate migration-core",
    );
}

#[test]
fn the_testkit_as_a_normal_dependency_of_the_binaries_is_caught() {
    let found = found_with_edge(ROOT, TESTKIT, None);
    assert_names(
        &found,
        "migration-exporter has migration-testkit as a Normal",
    );
    assert_names(&found, "reachable from migration-exporter");
}

#[test]
fn the_testkit_reached_through_a_front_end_is_caught() {
    // The root names it only as a dev-dependency, but a shipped crate below pulls it in.
    let found = found_with_edge("migration-monitor", TESTKIT, None);
    assert_names(&found, "reachable from migration-exporter");
}

#[test]
fn the_testkit_using_a_front_end_outside_its_examples_is_caught() {
    let found = found_with_edge(TESTKIT, "migration-daemon", None);
    assert_names(
        &found,
        "migration-testkit depends on migration-daemon (Normal)",
    );
}
