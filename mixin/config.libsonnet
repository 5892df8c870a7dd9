// The mixin's settings. Every rule, alert and dashboard of this mixin reads them from `_config`;
// override any of them with `(import 'mixin.libsonnet') + { _config+:: { ... } }`. The defaults
// are what alerts/migration.rules.yml, the PrometheusRule of deploy/kubernetes/base and
// grafana/dashboards/ are generated with (scripts/generate-deploy).
{
  _config+:: {
    // The scrape job of the exporter. MigrationExporterDown selects `up{<jobSelector>}` (the only
    // rule that cannot take the job from the exporter's own series: the other rules keep `job` and
    // work for every job that scrapes an exporter), and the dashboards' Job variable defaults to
    // jobName. scripts/generate-deploy --job NAME sets jobName.
    jobName: 'migration-exporter',
    jobSelector: 'job="%s"' % self.jobName,

    // Thresholds and `for:` durations. Durations are Prometheus durations of one unit (30s, 5m,
    // 1h, 1d): the annotations spell them out ("for 5 minutes").
    exporterDownFor: '5m',
    stuckSpacesFor: '15m',
    workerSilentMinutes: 15,  // a worker that wrote nothing for longer has hung
    workerSilentFor: '5m',
    stalledWindow: '30m',  // no upload completed and no space finished within it
    stalledFor: '15m',
    failedSpaceRecentSeconds: 3600,  // a failed space is alerted on for this long after it failed
    failedSpacesFor: '5m',
    failuresSurgingThreshold: 10,  // spaces moved to failed in the last hour
    failuresSurgingFor: '5m',
    permanentFailuresFor: '10m',  // failed spaces of a class that is not retryable
    newFailureClassThreshold: 3,  // failed spaces of a class that had none newFailureClassWindow ago
    newFailureClassWindow: '1h',
    newFailureClassFor: '5m',
    invalidItemsWindow: '20m',  // longer than --refresh.full-interval (15m by default)
    invalidItemsFor: '30m',
    dataStaleRefreshIntervals: 3,  // data older than this many of the exporter's refresh intervals
    dataStaleMinSeconds: 60,  // ... and at least this old
    dataStaleFor: '5m',
    refreshFailingFor: '5m',
    throttledWindow: '10m',
    throttledFor: '10m',

    // The ETA's range: the 10th and 90th percentile of each instance's 5-minute completion rate
    // over this window (the expected ETA uses the rate over the same window).
    etaWindow: '1h',

    // Runbooks: each alert's runbook_url is <runbookBaseURL><runbookPath>#<alert name in lower
    // case>. The default base defers to the Prometheus external label runbook_base_url (empty when
    // unset, which leaves the repository-relative path). The dashboards link to the same sections
    // with runbookBaseURL when it is a plain URL, and with the relative path otherwise.
    runbookBaseURL: '{{ $externalLabels.runbook_base_url }}',
    runbookPath: 'docs/runbook.md',

    // Dashboards.
    dashboardUid: 'migration-overview',
    dashboardTags: ['migration', 'migration-exporter'],
    dashboardRefresh: '30s',
    dataAgeWarningSeconds: 300,  // the Data age panel turns red past it
  },
}
