#!/usr/bin/env python3
# The checks of scripts/check-deploy on the Helm chart deploy/helm/migration-exporter that need
# Helm itself, done offline with helm-python-sdk (Helm's Go SDK as a library, no helm binary and
# no cluster): `lint` runs helm lint --strict with the default values and with ci/*-values.yaml;
# `render VALUES RELEASE OUT` writes the rendered objects as one YAML stream (VALUES "default" or
# a values file) for the schema, CRD, checkov and promtool checks; `unit` renders the chart with
# one value changed at a time and asserts that each lands where it should. Each prints what it
# found and exits 1 on the first broken lint or on any failed unit test. Run with the Python of
# .cache/deploy-tools (scripts/install-deps deploy).
import base64
import copy
import json
import re
import sys
from pathlib import Path

import helm_python as helm
import yaml

REPO = Path(__file__).resolve().parent.parent
CHART = REPO / "deploy" / "helm" / "migration-exporter"
ALL_ON = CHART / "ci" / "all-on-values.yaml"
RULES = REPO / "alerts" / "migration.rules.yml"
DASHBOARDS = REPO / "grafana" / "dashboards"
BASE_DEPLOYMENT = REPO / "deploy" / "kubernetes" / "base" / "deployment.yaml"
NAMESPACE = "monitoring"
DEFAULT_JOB = "migration-exporter"


class Broken(Exception):
    pass


def need(cond, message):
    if not cond:
        raise Broken(message)


def values_file(name):
    return {} if name == "default" else yaml.safe_load(Path(name).read_text())


def render(values=None, release="migration-exporter", namespace=NAMESPACE):
    """The rendered objects and NOTES.txt."""
    with helm.Chart.load(str(CHART)) as chart:
        out = chart.render(values or {}, name=release, namespace=namespace, is_install=True)
    notes = "".join(text for path, text in out.items() if path.endswith("NOTES.txt"))
    docs = [doc for path, text in sorted(out.items()) if path.endswith((".yaml", ".yml"))
            for doc in yaml.safe_load_all(text) if doc]
    return docs, notes


def render_error(values, release="migration-exporter"):
    """The error message of a render that must fail."""
    try:
        render(values, release)
    except helm.HelmError as e:
        return str(e)
    raise Broken(f"rendering with {values} succeeded; it must fail")


def kinds(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def one(docs, kind):
    found = kinds(docs, kind)
    need(len(found) == 1, f"exactly one {kind}, found {len(found)}")
    return found[0]


def container(docs):
    return one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]


def rules_of(path):
    return yaml.safe_load(Path(path).read_text())["groups"]


# --- lint and render ---------------------------------------------------------------------------

def lint():
    status = 0
    for name in ["default", *sorted(str(p) for p in (CHART / "ci").glob("*-values.yaml"))]:
        report = helm.lint(str(CHART), values_file(name), strict=True, namespace=NAMESPACE)
        bad = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
        label = Path(name).name if name != "default" else "default values"
        for m in report["messages"]:
            print(f"{label}: {['unknown', 'info', 'warning', 'error'][m['severity']]}: {m['path']}: {m['error']}")
        if report["total_charts_linted"] != 1 or bad:
            print(f"{label}: helm lint --strict failed: {bad}")
            status = 1
        else:
            print(f"{label}: helm lint --strict: no warning, no error")
    return status


def render_to(values, release, out):
    docs, notes = render(values_file(values), release)
    Path(out).write_text(yaml.safe_dump_all(docs, sort_keys=False, width=1000))
    Path(out + ".notes").write_text(notes)
    print(f"{len(docs)} objects: " + ", ".join(f"{d['kind']}/{d['metadata']['name']}" for d in docs))
    return 0


# --- unit tests --------------------------------------------------------------------------------

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


@test
def default_objects():
    docs, _ = render()
    found = sorted(d["kind"] for d in docs)
    expected = sorted(["ServiceAccount", "Deployment", "Service", "NetworkPolicy", "ServiceMonitor",
                       "PrometheusRule", "ConfigMap"])
    need(found == expected, f"default objects {found}, expected {expected}")
    need({d["metadata"]["namespace"] for d in docs} == {NAMESPACE}, "every object in the release's namespace")
    return f"{len(docs)} objects, no Secret, no PodDisruptionBudget, all in {NAMESPACE}"


# value path, value, the argument it must give, the default argument it replaces
SETTINGS = [
    ("dynamodb.table", "other-table", "--dynamodb.table=other-table", "--dynamodb.table=migration-progress"),
    ("dynamodb.statusIndex", "idx", "--dynamodb.status-index=idx", "--dynamodb.status-index=status-index"),
    ("dynamodb.endpointUrl", "http://ddb.local:8000", "--dynamodb.endpoint-url=http://ddb.local:8000", None),
    ("dynamodb.maxReadUnitsPerSecond", 25, "--dynamodb.max-read-units-per-second=25", None),
    ("refresh.interval", "1m", "--refresh.interval=1m", "--refresh.interval=30s"),
    ("refresh.fullInterval", "1h", "--refresh.full-interval=1h", "--refresh.full-interval=15m"),
    ("stuckAfter", "90m", "--stuck-after=90m", "--stuck-after=1h"),
    ("metrics.maxSpaceSeries", 7, "--metrics.max-space-series=7", "--metrics.max-space-series=50"),
    ("metrics.maxFailedSpaceSeries", 0, "--metrics.max-failed-space-series=0", "--metrics.max-failed-space-series=50"),
    ("log.level", "debug", "--log.level=debug", "--log.level=info"),
    ("log.format", "logfmt", "--log.format=logfmt", "--log.format=json"),
    ("containerPort", 9999, "--web.listen-address=:9999", "--web.listen-address=:10940"),
]


def setting(path, value):
    out = cur = {}
    *parents, last = path.split(".")
    for key in parents:
        cur = cur.setdefault(key, {})
    cur[last] = value
    return out


@test
def settings_reach_the_args():
    default_args = container(render()[0])["args"]
    for path, value, arg, replaced in SETTINGS:
        args = container(render(setting(path, value))[0])["args"]
        need(arg in args, f"{path}={value!r}: {arg} not in {args}")
        if replaced:
            need(replaced in default_args, f"{replaced} is not a default argument: {default_args}")
            need(replaced not in args, f"{path}={value!r}: {replaced} still in {args}")
        else:
            need(not any(a.startswith(arg.split("=")[0] + "=") for a in default_args),
                 f"{arg.split('=')[0]} is set by default: {default_args}")
    c = container(render({"containerPort": 9999})[0])
    need(c["ports"][0]["containerPort"] == 9999, "containerPort reaches the container's port")
    return f"{len(SETTINGS)} settings, each to its flag, replacing its default"


@test
def extra_args_and_env():
    docs, _ = render({"extraArgs": ["--scan.segments=4"], "dynamodb": {"region": "eu-west-1"},
                      "env": [{"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"}]})
    c = container(docs)
    need(c["args"][-1] == "--scan.segments=4", f"extraArgs come last: {c['args']}")
    need(c["env"] == [{"name": "AWS_REGION", "value": "eu-west-1"},
                      {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"}], f"env: {c['env']}")
    need("region" in render_error({"dynamodb": {"region": ""}}), "an empty region fails, naming it")
    return "extraArgs appended, env after AWS_REGION from dynamodb.region, no region refused"


@test
def toggles_off():
    for values, kind, what in [
        ({"serviceMonitor": {"enabled": False}}, "ServiceMonitor", "serviceMonitor.enabled: false"),
        ({"prometheusRule": {"enabled": False}}, "PrometheusRule", "prometheusRule.enabled: false"),
        ({"dashboards": {"enabled": False}}, "ConfigMap", "dashboards.enabled: false"),
        ({"networkPolicy": {"enabled": False}}, "NetworkPolicy", "networkPolicy.enabled: false"),
    ]:
        docs, _ = render(values)
        need(not kinds(docs, kind), f"{what} still renders a {kind}")
        need(len(docs) == 6, f"{what} removed more than its {kind}: {[d['kind'] for d in docs]}")
    docs, _ = render({"serviceAccount": {"create": False, "name": "existing"}})
    need(not kinds(docs, "ServiceAccount"), "serviceAccount.create: false renders no ServiceAccount")
    need(one(docs, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == "existing",
         "the pod runs as serviceAccount.name")
    need("serviceAccount.name" in render_error({"serviceAccount": {"create": False}}),
         "serviceAccount.create: false without a name fails, naming serviceAccount.name")
    return "ServiceMonitor, PrometheusRule, dashboards, NetworkPolicy, ServiceAccount each off alone"


@test
def pod_disruption_budget():
    docs, _ = render({"podDisruptionBudget": {"enabled": True}})
    pdb = one(docs, "PodDisruptionBudget")
    pod_labels = one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    need(pdb["spec"].get("maxUnavailable") == 1 and "minAvailable" not in pdb["spec"], f"maxUnavailable 1: {pdb['spec']}")
    need(all(pod_labels.get(k) == v for k, v in pdb["spec"]["selector"]["matchLabels"].items()), "selects the pod")
    pdb = one(render({"podDisruptionBudget": {"enabled": True, "minAvailable": 1}})[0], "PodDisruptionBudget")
    need(pdb["spec"].get("minAvailable") == 1 and "maxUnavailable" not in pdb["spec"], f"minAvailable 1: {pdb['spec']}")
    return "off by default; maxUnavailable, or minAvailable when set; selects the exporter's pod"


@test
def hardened_as_the_kustomize_base():
    base = yaml.safe_load(BASE_DEPLOYMENT.read_text())["spec"]["template"]["spec"]
    docs, _ = render()
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    c = pod["containers"][0]
    need(pod["securityContext"] == base["securityContext"], f"podSecurityContext: {pod['securityContext']}")
    need(c["securityContext"] == base["containers"][0]["securityContext"], f"securityContext: {c['securityContext']}")
    need(c["resources"] == base["containers"][0]["resources"], f"resources: {c['resources']}")
    need(pod["automountServiceAccountToken"] is False and one(docs, "ServiceAccount")["automountServiceAccountToken"] is False,
         "no Kubernetes API token")
    need(one(docs, "Deployment")["spec"]["strategy"] == {"type": "Recreate"}, "Recreate")
    need(c["livenessProbe"]["httpGet"]["path"] == "/-/healthy" and c["readinessProbe"]["httpGet"]["path"] == "/-/ready",
         "probes on /-/healthy and /-/ready")
    custom = container(render({"securityContext": {"runAsUser": 70000}, "resources": {"limits": {"memory": "1Gi"}}})[0])
    need(custom["securityContext"]["runAsUser"] == 70000 and custom["resources"]["limits"]["memory"] == "1Gi",
         "securityContext and resources come from the values")
    return "pod and container security contexts, resources, token, strategy, probes = base/deployment.yaml's"


@test
def image_and_irsa():
    docs, _ = render({"serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/r"}}})
    need(container(docs)["image"] == "migration-exporter:0.1.0", "the tag defaults to appVersion")
    need("checkov.io/skip1" in one(docs, "Deployment")["metadata"].get("annotations", {}), "without a digest, CKV_K8S_43 skipped with a reason")
    need(one(docs, "ServiceAccount")["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/r"},
         "serviceAccount.annotations reach the ServiceAccount")
    digest = "sha256:" + "1" * 64
    docs, _ = render({"image": {"repository": "r/e", "tag": "9", "digest": digest}})
    need(container(docs)["image"] == f"r/e@{digest}", "a digest wins over the tag")
    need("annotations" not in one(docs, "Deployment")["metadata"], "with a digest, no checkov skip")
    return "tag defaults to appVersion, digest wins, IRSA annotation on the ServiceAccount"


@test
def rules_equal_alerts():
    docs, _ = render()
    need(one(docs, "PrometheusRule")["spec"]["groups"] == rules_of(RULES),
         "the PrometheusRule's groups are not alerts/migration.rules.yml's")
    docs, _ = render({"prometheusRule": {"additionalLabels": {"release": "kps"},
                                         "additionalGroups": [{"name": "x", "rules": [{"record": "a:b:c", "expr": "up"}]}]}},
                     release="prod")
    rule = one(docs, "PrometheusRule")
    need(rule["metadata"]["labels"].get("release") == "kps", "additionalLabels on the PrometheusRule")
    groups = rule["spec"]["groups"]
    need(groups[-1]["name"] == "x" and len(groups) == len(rules_of(RULES)) + 1, "additionalGroups appended")
    expected = rules_of(RULES)
    changed = 0
    for group in expected:
        for r in group["rules"]:
            if f'job="{DEFAULT_JOB}"' in r["expr"]:
                r["expr"] = r["expr"].replace(f'job="{DEFAULT_JOB}"', 'job="prod-migration-exporter"')
                changed += 1
    need(changed == 1, f"one rule selects the job by name, found {changed}")
    need(groups[:-1] == expected, "release prod: the groups differ from alerts/ by more than the job")
    svc, sm = one(docs, "Service"), one(docs, "ServiceMonitor")
    need("jobLabel" not in sm["spec"] and svc["metadata"]["name"] == "prod-migration-exporter",
         "the ServiceMonitor's job is the Service's name, which the rules select")
    return "release migration-exporter: groups = alerts/; release prod: job=\"prod-migration-exporter\" in MigrationExporterDown only, = the scrape job"


@test
def dashboards_with_the_sidecar_label():
    files = {p.name: json.loads(p.read_text()) for p in DASHBOARDS.glob("*.json")}
    need(files, "no dashboards in grafana/dashboards")
    docs, _ = render({"dashboards": {"label": "my_dashboards", "labelValue": "yes", "folder": "Ops"}}, release="prod")
    maps = kinds(docs, "ConfigMap")
    got = {}
    for cm in maps:
        need(cm["metadata"]["labels"].get("my_dashboards") == "yes", "the sidecar label from dashboards.label/labelValue")
        need(cm["metadata"]["annotations"] == {"grafana_folder": "Ops"}, "the folder annotation")
        got.update({k: json.loads(v) for k, v in cm["data"].items()})
    need(set(got) == set(files), f"dashboards {sorted(got)} = grafana/dashboards {sorted(files)}")
    for name, dash in files.items():
        expected = copy.deepcopy(dash)
        for var in expected["templating"]["list"]:
            if var["name"] == "job":
                var["current"] = {"selected": False, "text": "prod-migration-exporter", "value": "prod-migration-exporter"}
        need(got[name] == expected, f"{name}: differs from grafana/dashboards/{name} by more than the Job default")
    default = kinds(render()[0], "ConfigMap")[0]
    need(default["metadata"]["labels"].get("grafana_dashboard") == "1", "grafana_dashboard: \"1\" by default")
    return f"{len(files)} dashboard(s) = grafana/dashboards/ with Job defaulting to the release's job; label and folder from values"


@test
def service_monitor_values():
    values = {"serviceMonitor": {"interval": "1m", "scrapeTimeout": "20s", "labels": {"release": "kps"},
                                 "relabelings": [{"action": "replace", "targetLabel": "cluster", "replacement": "c"}],
                                 "metricRelabelings": [{"action": "drop", "regex": "x", "sourceLabels": ["__name__"]}]}}
    docs, _ = render(values)
    sm = one(docs, "ServiceMonitor")
    ep = sm["spec"]["endpoints"][0]
    need(ep["interval"] == "1m" and ep["scrapeTimeout"] == "20s", f"interval and scrapeTimeout: {ep}")
    need(ep["relabelings"] == values["serviceMonitor"]["relabelings"], "relabelings")
    need(ep["metricRelabelings"] == values["serviceMonitor"]["metricRelabelings"], "metricRelabelings")
    need(sm["metadata"]["labels"].get("release") == "kps", "labels")
    svc = one(docs, "Service")
    need(all(svc["metadata"]["labels"].get(k) == v for k, v in sm["spec"]["selector"]["matchLabels"].items()),
         "selects the Service")
    need(ep["port"] == "metrics" and "scheme" not in ep and "basicAuth" not in ep, "plain HTTP on port metrics")
    return "interval, scrapeTimeout, labels, relabelings, metricRelabelings; plain HTTP without a web config"


@test
def web_config_tls_and_basic_auth():
    values = yaml.safe_load(ALL_ON.read_text())
    docs, _ = render(values, release="prod")
    c = container(docs)
    secret = one(docs, "Secret")
    need(yaml.safe_load(base64.b64decode(secret["data"]["web-config.yml"])) == values["webConfig"]["config"],
         "the Secret holds webConfig.config")
    flag = [a for a in c["args"] if a.startswith("--web.config.file=")]
    need(len(flag) == 1, f"--web.config.file passed: {c['args']}")
    path = flag[0].split("=", 1)[1]
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    web_mount = mounts.get(str(Path(path).parent))
    need(web_mount and web_mount["readOnly"] and "subPath" not in web_mount, "the Secret's directory mounted read-only (updates reach it)")
    need(volumes[web_mount["name"]]["secret"]["secretName"] == secret["metadata"]["name"], "from the web config Secret")
    tls = mounts.get("/etc/migration-exporter/tls")
    need(tls and volumes[tls["name"]]["secret"]["secretName"] == "migration-exporter-tls", "the TLS Secret mounted")
    need("tcpSocket" in c["livenessProbe"] and "tcpSocket" in c["readinessProbe"], "basic auth: TCP probes")
    ep = one(docs, "ServiceMonitor")["spec"]["endpoints"][0]
    need(ep["scheme"] == "https", "TLS: the ServiceMonitor scrapes https")
    need(ep["tlsConfig"] == {"ca": {"secret": {"name": "migration-exporter-tls", "key": "ca.crt"}},
                             "serverName": "prod-migration-exporter.monitoring.svc"}, f"tlsConfig: {ep['tlsConfig']}")
    need(ep["basicAuth"] == values["serviceMonitor"]["basicAuth"], "basicAuth from serviceMonitor.basicAuth")

    tls_only = {"webConfig": {"config": {"tls_server_config": {"cert_file": "/etc/migration-exporter/tls/tls.crt",
                                                               "key_file": "/etc/migration-exporter/tls/tls.key"}},
                              "tlsSecret": "t"},
                "serviceMonitor": {"tlsConfig": {"insecureSkipVerify": True}}}
    docs, _ = render(tls_only)
    c = container(docs)
    need(c["livenessProbe"]["httpGet"]["scheme"] == "HTTPS" and c["readinessProbe"]["httpGet"]["scheme"] == "HTTPS",
         "TLS without credentials: HTTPS probes on /-/healthy and /-/ready")
    ep = one(docs, "ServiceMonitor")["spec"]["endpoints"][0]
    need(ep["tlsConfig"] == {"insecureSkipVerify": True} and "basicAuth" not in ep, "serviceMonitor.tlsConfig verbatim")
    client_cert = copy.deepcopy(tls_only)
    client_cert["webConfig"]["config"]["tls_server_config"]["client_auth_type"] = "RequireAndVerifyClientCert"
    need("tcpSocket" in container(render(client_cert)[0])["readinessProbe"], "a required client certificate: TCP probes")

    no_auth = copy.deepcopy(values)
    del no_auth["serviceMonitor"]["basicAuth"]
    need("serviceMonitor.basicAuth" in render_error(no_auth), "basic auth without serviceMonitor.basicAuth fails, naming it")
    need("serviceMonitor.tlsConfig" in render_error({"webConfig": {"config": {"tls_server_config": {}}}}),
         "TLS with neither tlsSecret nor serviceMonitor.tlsConfig fails, naming them")
    docs, _ = render()
    need(not kinds(docs, "Secret") and "volumes" not in one(docs, "Deployment")["spec"]["template"]["spec"]
         and not any(a.startswith("--web.config.file") for a in container(docs)["args"]), "no web config: no Secret, volume or flag")
    return "Secret + directory mount + --web.config.file, TLS Secret, HTTPS/TCP probes, ServiceMonitor https/tlsConfig/basicAuth, guards"


@test
def job_follows_the_release():
    for values, release, job in [({}, "migration-exporter", "migration-exporter"),
                                 ({}, "prod", "prod-migration-exporter"),
                                 ({"fullnameOverride": "mx"}, "prod", "mx")]:
        docs, notes = render(values, release=release)
        svc = one(docs, "Service")["metadata"]["name"]
        exprs = [r["expr"] for g in one(docs, "PrometheusRule")["spec"]["groups"] for r in g["rules"]]
        jobs = {j for e in exprs for j in re.findall(r'\bjob="([^"]*)"', e)}
        dash = json.loads(next(iter(kinds(docs, "ConfigMap")[0]["data"].values())))
        default = next(v for v in dash["templating"]["list"] if v["name"] == "job")["current"]["value"]
        need(svc == job and jobs == {job} and default == job,
             f"release {release} {values}: Service {svc}, rules' job {jobs}, dashboard default {default}, expected {job}")
        need(f"job {job}" in notes, f"NOTES.txt names the job {job}")
    return "Service name = rules' job = dashboards' default Job = NOTES' job, for 3 releases"


@test
def notes_tell_what_to_do_next():
    _, notes = render()
    for text in ["migration-progress", "deploy/iam/policy.json", "kubectl -n monitoring rollout status deployment/migration-exporter",
                 "port-forward service/migration-exporter 10940", "http://127.0.0.1:10940/", "set serviceMonitor.labels"]:
        need(text in notes, f"NOTES.txt (default values) lacks {text!r}:\n{notes}")
    _, notes = render(yaml.safe_load(ALL_ON.read_text()), release="prod")
    for text in ["prod-migration-progress", "arn:aws:iam::123456789012:role/prod-migration-exporter",
                 "system:serviceaccount:monitoring:prod-migration-exporter", "https://127.0.0.1:10940/",
                 "(release=kube-prometheus-stack)"]:
        need(text in notes, f"NOTES.txt (ci/all-on-values.yaml) lacks {text!r}:\n{notes}")
    _, notes = render({"serviceMonitor": {"enabled": False}})
    need("serviceMonitor.enabled is false" in notes, "NOTES.txt says how to scrape without a ServiceMonitor")
    return "table, IAM role and trust, rollout, port-forward, scheme, selector labels, with and without a ServiceMonitor"


def unit():
    passed = failed = 0
    for fn in TESTS:
        try:
            detail = fn()
            passed += 1
            print(f"ok    {fn.__name__}: {detail}")
        except (Broken, helm.HelmError) as e:
            failed += 1
            print(f"FAIL  {fn.__name__}: {e}")
    print(f"chart unit tests: {passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


def main():
    cmd, *args = sys.argv[1:]
    try:
        sys.exit({"lint": lint, "render": render_to, "unit": unit}[cmd](*args))
    except (Broken, helm.HelmError) as e:
        print(f"broken: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
