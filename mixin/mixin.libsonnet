// migration-exporter's monitoring mixin (the monitoring-mixins convention): prometheusRules (the
// recording rules), prometheusAlerts (the alerts) and grafanaDashboards (file name -> dashboard),
// all configured by _config (config.libsonnet). scripts/generate-deploy renders it into
// alerts/migration.rules.yml, grafana/dashboards/, the kustomize base's PrometheusRule and
// dashboard ConfigMaps, and the Helm chart's rules and dashboards; README, "The monitoring mixin".
(import 'config.libsonnet') +
(import 'rules/rules.libsonnet') +
(import 'alerts/alerts.libsonnet') +
(import 'dashboards/dashboards.libsonnet')
