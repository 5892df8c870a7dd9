// The mixin's Grafana dashboards, by file name, each built from _config.
{
  grafanaDashboards+:: {
    'migration-overview.json': (import 'migration-overview.libsonnet')($._config),
  },
}
