#!/usr/bin/env python3
# The static checks of scripts/check-deploy that no off-the-shelf tool does: what the Dockerfile
# promises (build command, user, port, labels, entrypoint, both binaries), what the built
# Kubernetes objects promise (replicas, probes, security context, resources, IRSA, the job the
# ServiceMonitor yields matching the rules' selector), the IAM policy's actions and resources,
# and small conversions for the tools (rules out of a PrometheusRule, YAML to JSON). Each
# subcommand prints what it found and exits 1 on the first broken promise. Run by
# scripts/check-deploy with the Python of .cache/deploy-tools (PyYAML).
import json
import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
SHIPPED_ACTIONS = {"dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"}


class Broken(Exception):
    pass


def need(cond, message):
    if not cond:
        raise Broken(message)


# --- Dockerfile -------------------------------------------------------------------------------

def dockerfile_instructions(path):
    """(stage index, instruction, arguments) with continuation lines joined, comments dropped."""
    out, stage, pending = [], -1, ""
    for line in Path(path).read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        line, pending = pending + line, ""
        word, _, rest = line.strip().partition(" ")
        word = word.upper()
        if word == "FROM":
            stage += 1
        out.append((stage, word, rest.strip()))
    return out


def check_dockerfile(path):
    ins = dockerfile_instructions(path)
    stages = [rest for _, w, rest in ins if w == "FROM"]
    need(len(stages) == 2, f"two stages expected, found {stages}")
    need(re.search(r"\bAS build$", stages[0]), "the first stage is the build stage (AS build)")
    need(stages[1].startswith("gcr.io/distroless/"), f"runtime stage on distroless: {stages[1]}")
    runs = [rest for s, w, rest in ins if w == "RUN" and s == 0]
    need(any("cargo build --release --locked" in r for r in runs),
         "the build stage runs cargo build --release --locked")
    need(any("--mount=type=cache,target=/src/target" in r and
             "--mount=type=cache,target=/usr/local/cargo/registry" in r for r in runs),
         "the build caches the registry and the target directory (BuildKit cache mounts), so a "
         "change of the sources does not rebuild the dependencies")
    need(not [1 for s, w, _ in ins if w == "RUN" and s == 1], "the runtime stage runs nothing")
    final = [(w, rest) for s, w, rest in ins if s == 1]
    users = [rest for w, rest in final if w == "USER"]
    need(users and re.fullmatch(r"[1-9][0-9]*(:[0-9]+)?", users[-1]),
         f"runtime USER is a non-root number: {users}")
    need(("EXPOSE", "10940") in final, "EXPOSE 10940")
    entry = [json.loads(rest) for w, rest in final if w == "ENTRYPOINT"]
    need(entry == [["/usr/local/bin/migration-exporter"]], f"ENTRYPOINT is the exporter: {entry}")
    copies = " ".join(rest for w, rest in final if w == "COPY")
    for binary in ("migration-exporter", "migration-monitor"):
        need(f"/out/{binary}" in copies, f"{binary} copied into the runtime stage")
    labels = " ".join(rest for w, rest in final if w == "LABEL")
    for key in ("source", "version", "licenses"):
        need(f"org.opencontainers.image.{key}=" in labels, f"OCI label org.opencontainers.image.{key}")
    cargo_version = re.search(r'^version = "([^"]+)"', (REPO / "Cargo.toml").read_text(), re.M).group(1)
    args = dict(rest.split("=", 1) for w, rest in final if w == "ARG" and "=" in rest)
    need(args.get("VERSION") == cargo_version,
         f"ARG VERSION={args.get('VERSION')} is Cargo.toml's version {cargo_version}")
    print(f"2 stages, cargo build --release --locked, runtime {stages[1]}, USER {users[-1]}, "
          f"EXPOSE 10940, entrypoint migration-exporter, both binaries, OCI labels, VERSION {cargo_version}")


def build_stage_script(path):
    """A bash script that lays out the build stage's context (its COPY instructions) in the
    current directory and runs its RUN commands there, /out becoming ./out."""
    lines = ["set -euo pipefail"]
    for stage, word, rest in dockerfile_instructions(path):
        if stage != 0:
            continue
        if word == "COPY":
            *sources, dest = rest.split()
            need(not any(s.startswith("--") for s in sources), f"unexpected COPY flags: {rest}")
            for src in sources:
                target = dest if not dest.endswith("/") else dest + Path(src).name
                target = target.removeprefix("./") or "."
                lines.append(f'mkdir -p "$(dirname "{target}")" && cp -a "$REPO/{src}" "{target}"')
        elif word == "RUN":
            # BuildKit's cache mounts are the replay's own persistent target directory.
            command = re.sub(r"^(--mount=\S+\s+)+", "", rest)
            lines.append(command.replace("/out", "./out"))
        elif word not in ("FROM", "WORKDIR", "ARG", "ENV"):
            raise Broken(f"build stage: {word} is not reproduced by this check")
    print("\n".join(lines))


# --- Kubernetes -------------------------------------------------------------------------------

def load_docs(path):
    return [d for d in yaml.safe_load_all(Path(path).read_text()) if d]


def one(docs, kind):
    found = [d for d in docs if d["kind"] == kind]
    need(len(found) == 1, f"exactly one {kind}, found {len(found)}")
    return found[0]


def rules_job(rule_doc):
    """The job the rules select: every `job="..."` matcher of every expr names the same one."""
    jobs = set()
    for group in rule_doc["spec"]["groups"]:
        for rule in group["rules"]:
            jobs.update(re.findall(r'\bjob="([^"]*)"', rule["expr"]))
    need(len(jobs) == 1, f"the rules select one job, found {sorted(jobs)}")
    return jobs.pop()


def check_manifests(path, exporter_help):
    docs = load_docs(path)
    help_text = Path(exporter_help).read_text()
    dep = one(docs, "Deployment")
    spec = dep["spec"]
    need(spec["replicas"] == 1, "one replica")
    pod = spec["template"]["spec"]
    need(len(pod["containers"]) == 1, "one container")
    c = pod["containers"][0]
    need(c["livenessProbe"]["httpGet"]["path"] == "/-/healthy", "liveness probe on /-/healthy")
    need(c["readinessProbe"]["httpGet"]["path"] == "/-/ready", "readiness probe on /-/ready")
    sc, psc = c["securityContext"], pod["securityContext"]
    need(sc.get("runAsNonRoot") is True and psc.get("runAsNonRoot") is True, "runAsNonRoot")
    need(sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem")
    need(sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation false")
    need(sc.get("capabilities", {}).get("drop") == ["ALL"], "capabilities drop ALL")
    need(sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", "seccomp RuntimeDefault")
    for kind in ("requests", "limits"):
        need({"cpu", "memory"} <= set(c["resources"].get(kind, {})), f"cpu and memory {kind}")
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    need(ports.get("metrics") == 10940, "container port metrics 10940")
    for arg in c["args"]:
        need(arg.startswith("--"), f"{arg}: flags only")
        flag = arg.split("=", 1)[0]
        need(re.search(rf"{re.escape(flag)}\b", help_text), f"{flag} is not a flag of migration-exporter")
    sa = one(docs, "ServiceAccount")
    need(pod["serviceAccountName"] == sa["metadata"]["name"], "the pod runs as the ServiceAccount")
    need(sa["metadata"].get("annotations", {}).get("eks.amazonaws.com/role-arn", "").startswith("arn:aws:iam::"),
         "ServiceAccount has the IRSA role annotation")
    svc = one(docs, "Service")
    svc_ports = [p for p in svc["spec"]["ports"] if p.get("name") == "metrics"]
    need(len(svc_ports) == 1, "Service has a port named metrics")
    pod_labels = spec["template"]["metadata"]["labels"]
    need(all(pod_labels.get(k) == v for k, v in svc["spec"]["selector"].items()),
         "the Service selects the exporter's pods")
    need(all(pod_labels.get(k) == v for k, v in spec["selector"]["matchLabels"].items()),
         "the Deployment selects its pods")
    sm = one(docs, "ServiceMonitor")
    need(all(svc["metadata"]["labels"].get(k) == v for k, v in sm["spec"]["selector"]["matchLabels"].items()),
         "the ServiceMonitor selects the Service")
    need([e["port"] for e in sm["spec"]["endpoints"]] == ["metrics"], "the ServiceMonitor scrapes port metrics")
    # The job Prometheus gives the scraped series: the Service's jobLabel label, else its name.
    job = svc["metadata"]["labels"].get(sm["spec"].get("jobLabel", ""), svc["metadata"]["name"])
    rule = one(docs, "PrometheusRule")
    need(rules_job(rule) == job,
         f"the rules select job {rules_job(rule)!r} but the ServiceMonitor yields job {job!r}")
    dashboards = [d for d in docs if d["kind"] == "ConfigMap"
                  and d["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
    need(dashboards, "a ConfigMap labelled grafana_dashboard")
    for d in dashboards:
        for name, text in d["data"].items():
            json.loads(text)
    ns = {d["metadata"].get("namespace") for d in docs}
    need(len(ns) == 1 and None not in ns, f"every object in one namespace: {ns}")
    print(f"{len(docs)} objects in namespace {ns.pop()}: 1 replica, probes, security context, "
          f"resources, IRSA annotation, port metrics, flags known to the exporter, "
          f"scrape job {job!r} = the rules' job, {len(dashboards)} dashboard ConfigMap(s)")


def extract_rules(path, out):
    rule = one(load_docs(path), "PrometheusRule")
    Path(out).write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}, sort_keys=False, width=1000))


def to_json(path, out):
    Path(out).write_text(json.dumps(load_docs(path)))


# --- IAM --------------------------------------------------------------------------------------

def check_policy(path):
    policy = json.loads(Path(path).read_text())
    need(set(policy) == {"Version", "Statement"}, f"only Version and Statement: {sorted(policy)}")
    need(policy["Version"] == "2012-10-17", "Version 2012-10-17")
    statements = policy["Statement"]
    need(isinstance(statements, list) and len(statements) == 1, "exactly one statement")
    st = statements[0]
    need(set(st) <= {"Sid", "Effect", "Action", "Resource"},
         f"no NotAction, NotResource, Principal or Condition: {sorted(st)}")
    need(st["Effect"] == "Allow", "Effect Allow")
    need(set(st["Action"]) == SHIPPED_ACTIONS and len(st["Action"]) == len(SHIPPED_ACTIONS),
         f"actions are exactly {sorted(SHIPPED_ACTIONS)}: {st['Action']}")
    arn = re.compile(r"^arn:aws:dynamodb:(REGION):(ACCOUNT_ID):table/([A-Za-z0-9_.-]{3,255})(/index/\*)?$")
    resources = st["Resource"]
    need(isinstance(resources, list) and len(resources) == 2, f"two resources: {resources}")
    parsed = [arn.match(r) for r in resources]
    need(all(parsed), f"resources are the table ARN and its index/*, placeholders REGION and ACCOUNT_ID: {resources}")
    tables = {m.group(3) for m in parsed}
    need(len(tables) == 1, f"one table: {tables}")
    need(sorted(bool(m.group(4)) for m in parsed) == [False, True], "the table ARN and its index/* ARN")
    need("*" not in "".join(resources).replace("/index/*", ""), "no wildcard but the index's")
    print(f"1 Allow statement: {', '.join(sorted(st['Action']))} on table/{tables.pop()} and its index/*; "
          f"editable: REGION, ACCOUNT_ID, table name")


def main():
    cmd, *args = sys.argv[1:]
    try:
        {
            "dockerfile": check_dockerfile,
            "build-stage-script": build_stage_script,
            "manifests": check_manifests,
            "extract-rules": extract_rules,
            "to-json": to_json,
            "policy": check_policy,
        }[cmd](*args)
    except Broken as e:
        print(f"broken: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
