// Validates the Prometheus Operator objects (ServiceMonitor, PrometheusRule) of built manifests
// against the operator's CRD schemas, as shipped by the npm package
// @kubernetes-models/prometheus-operator (installed in .cache/deploy-node by
// scripts/install-deps deploy). Reads the objects as a JSON list (scripts/deploy-checks.py
// to-json), prints one line per object, exits 1 if any is invalid or if the validator accepts a
// deliberately broken object (so a validator that checks nothing cannot pass).
// Usage: node scripts/validate-crds.mjs OBJECTS.json
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const models = join(repo, ".cache/deploy-node/node_modules/@kubernetes-models/prometheus-operator");
const version = JSON.parse(readFileSync(join(models, "package.json"), "utf8")).version;
const kinds = {};
for (const kind of ["ServiceMonitor", "PrometheusRule"]) {
  kinds[kind] = (await import(join(models, "monitoring.coreos.com/v1", `${kind}.js`)))[kind];
}

let failed = 0;
const validate = (obj) => {
  try {
    new kinds[obj.kind](obj).validate();
    return null;
  } catch (e) {
    return e.message.split("\n")[0];
  }
};

// The validator must reject a broken object: `for` is not a duration.
const broken = validate({
  apiVersion: "monitoring.coreos.com/v1",
  kind: "PrometheusRule",
  metadata: { name: "broken" },
  spec: { groups: [{ name: "g", rules: [{ alert: "A", expr: "up", for: "five minutes" }] }] },
});
if (broken === null) {
  console.log("FAIL the CRD validator accepted a PrometheusRule with for: five minutes");
  failed++;
}

const objects = JSON.parse(readFileSync(process.argv[2], "utf8"));
let seen = 0;
for (const obj of objects) {
  if (obj.apiVersion !== "monitoring.coreos.com/v1") continue;
  seen++;
  if (!kinds[obj.kind]) {
    console.log(`FAIL ${obj.kind}/${obj.metadata.name}: no schema for this kind`);
    failed++;
    continue;
  }
  const error = validate(obj);
  if (error) {
    console.log(`FAIL ${obj.kind}/${obj.metadata.name}: ${error}`);
    failed++;
  } else {
    console.log(`ok   ${obj.kind}/${obj.metadata.name} (@kubernetes-models/prometheus-operator ${version})`);
  }
}
if (seen === 0) {
  console.log("FAIL no monitoring.coreos.com/v1 object found");
  failed++;
}
process.exit(failed ? 1 : 0);
