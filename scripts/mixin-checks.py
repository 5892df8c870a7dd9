#!/usr/bin/env python3
# The checks of scripts/check-deploy on the monitoring mixin (mixin/) that no installable tool
# does: `lint` applies mixtool's lint rules (mixtool itself cannot be installed here): every alert
# named in CamelCase with a severity label and summary, description and runbook_url annotations,
# every recording rule named level:metric:operations, every dashboard with a uid, a title and a
# datasource variable that its panels and queries use; and proves the linter on a broken mixin,
# which it must reject for each of those reasons. `custom` renders the mixin through
# scripts/generate-deploy with another _config (job, every threshold and `for:`, runbook URL,
# dashboard settings) and asserts that exactly the rules and dashboard fields that read a changed
# setting changed, to the new value, and that the rules still pass promtool check rules (also
# with a regex job selector). Each prints what it found and exits 1 on the first problem. Run
# with the Python of .cache/deploy-tools (PyYAML); needs jsonnet and promtool.
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
MIXIN = REPO / "mixin"
SEVERITIES = {"critical", "warning", "info"}
CAMEL = re.compile(r"^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)*$")
RECORD = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_]+$")


class Broken(Exception):
    pass


def need(cond, message):
    if not cond:
        raise Broken(message)


def render(override="{}"):
    """The mixin, plus a jsonnet object `override` mixed in, as JSON."""
    program = (f"local m = (import 'mixin.libsonnet') + ({override});\n"
               "{ alerts: m.prometheusAlerts, rules: m.prometheusRules, dashboards: m.grafanaDashboards }")
    run = subprocess.run(["jsonnet", "-J", str(MIXIN), "-e", program], capture_output=True, text=True)
    need(run.returncode == 0, f"jsonnet: {run.stderr}")
    return json.loads(run.stdout)


# --- lint --------------------------------------------------------------------------------------

def panels(dashboard):
    for p in dashboard.get("panels", []):
        yield p
        yield from p.get("panels", [])


def uses_variable(datasource, name):
    uid = datasource.get("uid", "") if isinstance(datasource, dict) else datasource
    return uid in (f"${name}", f"${{{name}}}")


def problems(mixin):
    """mixtool's lint findings, one line each."""
    out = []
    for group in mixin["alerts"].get("groups", []):
        for rule in group["rules"]:
            name = rule.get("alert")
            if name is None:
                out.append(f"group {group['name']}: a rule without alert: among the alerts")
                continue
            if not CAMEL.match(name):
                out.append(f"{name}: alert name not in CamelCase")
            if rule.get("labels", {}).get("severity") not in SEVERITIES:
                out.append(f"{name}: severity label missing or not one of {sorted(SEVERITIES)}")
            for key in ("summary", "description", "runbook_url"):
                if not rule.get("annotations", {}).get(key):
                    out.append(f"{name}: no {key} annotation")
    for group in mixin["rules"].get("groups", []):
        for rule in group["rules"]:
            if not RECORD.match(rule.get("record", "")):
                out.append(f"{rule.get('record')}: recording rule not named level:metric:operations")
    for file_name, dashboard in mixin["dashboards"].items():
        for key in ("uid", "title"):
            if not dashboard.get(key):
                out.append(f"{file_name}: no {key}")
        variables = [v for v in dashboard.get("templating", {}).get("list", []) if v.get("type") == "datasource"]
        if not variables:
            out.append(f"{file_name}: no datasource variable")
            continue
        ds = variables[0]["name"]
        for p in panels(dashboard):
            if p.get("type") == "row":
                continue
            if not uses_variable(p.get("datasource", {}), ds):
                out.append(f"{file_name}: panel {p.get('title')!r} does not use the ${ds} datasource")
            for t in p.get("targets", []):
                if not uses_variable(t.get("datasource", {}), ds):
                    out.append(f"{file_name}: a query of panel {p.get('title')!r} does not use the ${ds} datasource")
    return out


# A mixin broken once for each rule: the linter must say so every time.
BROKEN = """
{
  prometheusAlerts+:: { groups: [
    { name: 'broken', rules: [
      { alert: 'migration_lower', expr: 'up', labels: { severity: 'critical' },
        annotations: { summary: 's', description: 'd', runbook_url: 'r' } },
      { alert: 'NoSeverity', expr: 'up', labels: { severity: 'page' },
        annotations: { summary: 's', description: 'd', runbook_url: 'r' } },
      { alert: 'NoRunbook', expr: 'up', labels: { severity: 'warning' },
        annotations: { summary: 's', description: 'd' } },
      { alert: 'NoTexts', expr: 'up', labels: { severity: 'warning' }, annotations: { runbook_url: 'r' } },
    ] },
  ] },
  prometheusRules+:: { groups: [{ name: 'broken', rules: [{ record: 'no_colons', expr: 'up' }] }] },
  grafanaDashboards+:: {
    'no-uid.json': super['migration-overview.json'] { uid: '' },
    'no-title.json': super['migration-overview.json'] { title: '' },
    'no-datasource.json': super['migration-overview.json'] {
      templating+: { list: std.filter(function(v) v.type != 'datasource', super.list) },
    },
    'fixed-datasource.json': super['migration-overview.json'] {
      panels: [super.panels[0] { datasource: { type: 'prometheus', uid: 'abc' } }],
    },
  },
}
"""
BROKEN_FINDINGS = [
    "migration_lower: alert name not in CamelCase",
    "NoSeverity: severity label missing",
    "NoRunbook: no runbook_url annotation",
    "NoTexts: no summary annotation",
    "NoTexts: no description annotation",
    "no_colons: recording rule not named level:metric:operations",
    "no-uid.json: no uid",
    "no-title.json: no title",
    "no-datasource.json: no datasource variable",
    "fixed-datasource.json: panel 'Spaces completed' does not use the $datasource datasource",
]


def lint():
    mixin = render()
    alerts = sum(len(g["rules"]) for g in mixin["alerts"]["groups"])
    records = sum(len(g["rules"]) for g in mixin["rules"]["groups"])
    found = problems(mixin)
    for p in found:
        print(f"lint: {p}")
    need(alerts and records and mixin["dashboards"], "the mixin has no alerts, recording rules or dashboards")
    need(not found, f"{len(found)} lint finding(s)")
    broken = problems(render(BROKEN))
    missed = [f for f in BROKEN_FINDINGS if not any(b.startswith(f) for b in broken)]
    need(not missed, f"the linter let these through in a broken mixin: {missed}")
    print(f"{alerts} alerts, {records} recording rules, {len(mixin['dashboards'])} dashboard(s): no finding; "
          f"a broken mixin gets all {len(BROKEN_FINDINGS)} expected findings")


# --- a custom _config --------------------------------------------------------------------------

CUSTOM = {
    "jobName": "kubernetes-migration",
    "exporterDownFor": "7m", "stuckSpacesFor": "20m", "workerSilentMinutes": 25, "workerSilentFor": "8m",
    "stalledWindow": "45m", "stalledFor": "25m", "failedSpaceRecentSeconds": 7200, "failedSpacesFor": "9m",
    "failuresSurgingThreshold": 25, "failuresSurgingFor": "11m", "permanentFailuresFor": "13m",
    "newFailureClassThreshold": 7, "newFailureClassWindow": "2h", "newFailureClassFor": "14m",
    "invalidItemsWindow": "40m",
    "invalidItemsFor": "1h", "dataStaleRefreshIntervals": 4, "dataStaleMinSeconds": 120, "dataStaleFor": "6m",
    "refreshFailingFor": "12m", "throttledWindow": "15m", "throttledFor": "20m",
    "runbookBaseURL": "https://runbooks.example.org/", "dashboardUid": "migration-custom",
    "dashboardRefresh": "1m", "dashboardTags": ["custom"], "dataAgeWarningSeconds": 600,
}
# alert -> field -> what the custom field must contain (and the default must not); every field
# not named must be the same as with the defaults.
EXPECTED = {
    "MigrationSpacesStuck": {"for": ["20m"]},
    "MigrationWorkerSilent": {"expr": ["> 25 * 60"], "for": ["8m"], "description": ["more than 25 minutes"]},
    "MigrationStalled": {"expr": ["offset 45m"], "for": ["25m"], "summary": ["for 45 minutes"],
                         "description": ["in the last 45 minutes"]},
    "MigrationSpacesFailed": {"expr": ["< 7200"], "for": ["9m"]},
    "MigrationPermanentFailures": {"for": ["13m"], "description": ["have been for 13 minutes"]},
    "MigrationNewFailureClass": {"expr": [">= 7", "[10m] offset 2h))\nand on (job)", "migration_failed_error_classes[10m] offset 2h"],
                                 "for": ["14m"],
                                 "description": ["no failed space 2 hours ago", "at least 7 for 14 minutes"]},
    "MigrationFailuresSurging": {"expr": [">= 25"], "for": ["11m"], "description": ["(threshold 25)"]},
    "MigrationInvalidItems": {"expr": ["[40m]"], "for": ["1h"], "description": ["For 1 hour,"]},
    "MigrationExporterDown": {"expr": ['up{job="kubernetes-migration"} == 0 or absent(up{job="kubernetes-migration"})'],
                              "for": ["7m"], "description": ["for 7 minutes.{{ else }}", "for 7 minutes.{{ end }}"]},
    "MigrationExporterDataStale": {"expr": ["clamp_min(4 * migration_exporter_refresh_interval_seconds, 120)"],
                                   "for": ["6m"], "description": ["more than four of its refresh intervals"]},
    "MigrationExporterRefreshFailing": {"for": ["12m"], "description": ["has failed for 12 minutes"]},
    "MigrationExporterThrottled": {"expr": ["[15m]"], "for": ["20m"],
                                   "description": ["For 20 minutes, every 15-minute window"]},
}
# Dashboard fields that read a changed setting (JSON paths as regexes); anything else must stay.
DASHBOARD_CHANGES = {
    r"^uid$": "migration-custom",
    r"^refresh$": "1m",
    r"^tags$": ["custom"],
    r"^templating\.list\[\d+\]\.current\.(text|value)$": "kubernetes-migration",
    r"^panels\[\d+\]\.panels\[\d+\]\.fieldConfig\.defaults\.thresholds\.steps\[1\]\.value$": 600,
    r"^panels\[\d+\](\.panels\[\d+\])?\.description$": "https://runbooks.example.org/docs/runbook.md#",
}


def field(rule, name):
    return rule.get(name) if name in ("expr", "for") else rule.get("annotations", {}).get(name)


def generate(config, out):
    run = subprocess.run([str(REPO / "scripts" / "generate-deploy"), "--config", json.dumps(config),
                          "--rules-out", str(out / "rules.yml"), "--dashboards-out", str(out / "dashboards")],
                         capture_output=True, text=True)
    need(run.returncode == 0, f"generate-deploy --config failed: {run.stderr}")
    groups = yaml.safe_load((out / "rules.yml").read_text())["groups"]
    dashboards = {p.name: json.loads(p.read_text()) for p in (out / "dashboards").glob("*.json")}
    return {r.get("alert") or r.get("record"): r for g in groups for r in g["rules"]}, dashboards


def promtool_check(path):
    run = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True)
    need(run.returncode == 0, f"promtool check rules {path}: {run.stdout}{run.stderr}")
    return run.stdout.strip().splitlines()[-1].strip()


def diff_paths(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += diff_paths(a.get(k), b.get(k), f"{path}.{k}" if path else k)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b) and a and isinstance(a[0], (dict, list)):
        return [p for i, (x, y) in enumerate(zip(a, b)) for p in diff_paths(x, y, f"{path}[{i}]")]
    return [] if a == b else [path]


def lookup(doc, path):
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        doc = doc[int(part[1:-1])] if part.startswith("[") else doc[part]
    return doc


def custom():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        default_rules, default_dash = generate({"jobName": "migration-exporter"}, tmp / "default")
        rules, dash = generate(CUSTOM, tmp / "custom")
        need(set(rules) == set(default_rules), "the custom config changed which rules exist")
        changed_rules = 0
        for name, rule in rules.items():
            base = default_rules[name]
            if "record" in rule:
                need(rule == base, f"{name}: a recording rule changed, none reads a changed setting")
                continue
            need(name in EXPECTED, f"{name}: no expectation for this alert")
            need(rule["annotations"]["runbook_url"] == f"https://runbooks.example.org/docs/runbook.md#{name.lower()}",
                 f"{name}: runbook_url {rule['annotations']['runbook_url']}")
            for key in ("expr", "for", "summary", "description"):
                wanted = EXPECTED[name].get(key)
                if not wanted:
                    need(field(rule, key) == field(base, key), f"{name}: {key} changed but reads no changed setting")
                    continue
                for text in wanted:
                    need(text in field(rule, key), f"{name}: {key} lacks {text!r}: {field(rule, key)!r}")
                    need(text not in field(base, key), f"{name}: {key} has {text!r} with the defaults too")
            need(rule["labels"] == base["labels"], f"{name}: labels changed")
            changed_rules += 1
        need(not any("migration-exporter" in r["expr"] for r in rules.values()), "the default job is still selected")
        result = promtool_check(tmp / "custom" / "rules.yml")

        need(set(dash) == set(default_dash), "the custom config changed which dashboards exist")
        changed_fields = 0
        for file_name, d in dash.items():
            paths = diff_paths(default_dash[file_name], d)
            seen = set()
            for p in paths:
                pattern = next((r for r in DASHBOARD_CHANGES if re.match(r, p)), None)
                need(pattern, f"{file_name}: {p} changed but reads no changed setting")
                want, got = DASHBOARD_CHANGES[pattern], lookup(d, p)
                need(want in got if isinstance(want, str) and pattern.endswith("description$") else got == want,
                     f"{file_name}: {p} is {got!r}, expected {want!r}")
                seen.add(pattern)
            need(seen == set(DASHBOARD_CHANGES), f"{file_name}: unchanged: {sorted(set(DASHBOARD_CHANGES) - seen)}")
            job = next(v for v in d["templating"]["list"] if v["name"] == "job")
            need(job["current"]["value"] == "kubernetes-migration", "the Job variable's default")
            changed_fields += len(paths)

        regex_rules, _ = generate({"jobSelector": 'job=~"migration-.*"'}, tmp / "regex")
        need('up{job=~"migration-.*"} == 0' in regex_rules["MigrationExporterDown"]["expr"], "a regex jobSelector reaches the rule")
        regex_result = promtool_check(tmp / "regex" / "rules.yml")
    print(f"{changed_rules} alerts changed where they read a changed setting and nowhere else, "
          f"{len(default_rules) - changed_rules} recording rules unchanged; promtool: {result}")
    print(f"dashboard: {changed_fields} fields changed (uid, refresh, tags, Job default, Data age threshold, "
          f"runbook links), every panel query unchanged; regex jobSelector: promtool {regex_result}")


def main():
    cmd = sys.argv[1]
    try:
        {"lint": lint, "custom": custom}[cmd]()
    except Broken as e:
        print(f"broken: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
