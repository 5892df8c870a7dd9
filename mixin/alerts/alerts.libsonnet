// The alerting rules: the migration's own state (group migration-progress: stuck spaces, silent
// workers, a stalled migration, new and surging failures, permanent and new failure classes,
// unreadable items), alerts that carry component="migration", and the exporter's health (group
// migration-exporter: down, stale data, failing refreshes, DynamoDB throttling),
// component="exporter"; alerts/alertmanager.yml holds the first back while the second say the data
// cannot be trusted. Data alerts read `last_over_time(...[10m])` so that a missed scrape or an
// exporter restart neither resets their `for:` nor resolves them before the exporter-down alert
// can inhibit them; the tickets on failed spaces and their classes read 2 minutes only, so that a
// retry within `for:` tickets nothing. Thresholds and
// `for:` durations come from _config (config.libsonnet), and so do the words that name them.
// Tests: alerts/tests/*.yml (promtool test rules), tests/it/alerts.rs, tests/it/alerting_e2e.rs.
local t = import '../lib/text.libsonnet';

{
  local c = $._config,
  local runbook(alert) = t.runbookURL(c, alert),

  // For the alerts on a failure class ($labels.error_class, $labels.retryable): what to do with
  // its spaces, by whether the exporter's class rules call it retryable.
  local retryAdvice = |||
    {{- if eq $labels.retryable "true" }} A transient error: restart the worker or retry the space.
    {{- else if eq $labels.retryable "false" }} A permanent error: do not retry, investigate the data.
    {{- else }} The exporter does not know whether it is transient: read the error with
    migration-monitor --failed --error-class "{{ $labels.error_class }}".
    {{- end }}
  |||,
  // ... and the most recently failed space of the class that migration_failed_space_info names
  // (it names only the --metrics.max-failed-space-series most recent failures).
  local exampleSpace = |||
    {{- with query (printf `topk(1, max without (instance, pod) (last_over_time(migration_failed_space_info{job=%q,error_class=%q}[2m])))` $labels.job $labels.error_class) }}
    The most recent: space {{ . | first | label "space" }} (instance {{ . | first | label "instance_id" }}, worker {{ . | first | label "worker_id" }}).
    {{- else }}
    None of them is among the recently failed spaces the exporter names
    (--metrics.max-failed-space-series); migration-monitor --failed --error-class "{{ $labels.error_class }}" lists them.
    {{- end }}
  |||,

  prometheusAlerts+:: {
    groups+: [
      {
        name: 'migration-progress',
        rules: [
          {
            alert: 'MigrationSpacesStuck',
            expr: 'max without (instance, pod) (last_over_time(migration_spaces_stuck[10m])) > 0',
            'for': c.stuckSpacesFor,
            labels: { severity: 'critical', component: 'migration' },
            annotations: {
              summary: '{{ $value | humanize }} stuck space(s) on instance {{ $labels.instance_id }}, worker {{ $labels.worker_id }}',
              description: t.fold(|||
                In-progress spaces of instance {{ $labels.instance_id }}, worker {{ $labels.worker_id }}
                have had no update for longer than the exporter's --stuck-after (1h by default): the
                worker is probably hung or gone.
                {{ with query (printf `sort_desc(topk(3, time() - max without (instance, pod) (last_over_time(migration_stuck_space_info{job=%q,instance_id=%q,worker_id=%q}[10m]))))` $labels.job $labels.instance_id $labels.worker_id) -}}
                Oldest: {{ range $i, $s := . }}{{ if $i }}, {{ end }}{{ $s.Labels.space }} (no update for {{ $s.Value | humanizeDuration }}){{ end }}.
                {{- else -}}
                None of them is among the oldest stuck spaces the exporter names (--metrics.max-space-series); list them with migration-monitor --stuck.
                {{- end }}
              |||),
              runbook_url: runbook('MigrationSpacesStuck'),
            },
          },
          {
            alert: 'MigrationWorkerSilent',
            // Exact: when the worker last wrote any of its spaces, against the spaces still
            // assigned to it that are pending or in progress. Unassigned spaces (no workerId) are
            // no worker's.
            expr: |||
              time() - max without (instance, pod) (last_over_time(migration_worker_last_update_timestamp_seconds{worker_id!=""}[10m])) > %(workerSilentMinutes)d * 60
              and on (job, instance_id, worker_id)
              sum by (job, instance_id, worker_id) (max without (instance, pod) (last_over_time(migration_spaces{status=~"pending|in-progress"}[10m]))) > 0
            ||| % c,
            'for': c.workerSilentFor,
            labels: { severity: 'warning', component: 'migration' },
            annotations: {
              summary: 'Worker {{ $labels.worker_id }} on instance {{ $labels.instance_id }} has written nothing for {{ $value | humanizeDuration }}',
              description: t.fold(|||
                Worker {{ $labels.worker_id }} on instance {{ $labels.instance_id }} last updated one of
                its spaces {{ $value | humanizeDuration }} ago (more than %(silent)s), yet
                {{- with query (printf `sum(max without (instance, pod) (last_over_time(migration_spaces{job=%%q,instance_id=%%q,worker_id=%%q,status=~"pending|in-progress"}[10m])))` $labels.job $labels.instance_id $labels.worker_id) }}
                {{ . | first | value | humanize }}{{ end }} of its spaces are pending or in progress.
                Workers write a space's record every few uploads: it is hung, gone, or stuck on one
                upload.
              ||| % { silent: t.duration('%dm' % c.workerSilentMinutes) }),
              runbook_url: runbook('MigrationWorkerSilent'),
            },
          },
          {
            alert: 'MigrationStalled',
            expr: |||
              sum by (job) (max without (instance, pod) (last_over_time(migration_spaces{status="in-progress"}[10m]))) > 0
              and
              (
                  sum by (job) (max without (instance, pod) (last_over_time(migration_uploads_completed[10m])))
                + sum by (job) (max without (instance, pod) (last_over_time(migration_spaces{status=~"completed|failed"}[10m])))
              )
              <=
              (
                  sum by (job) (max without (instance, pod) (last_over_time(migration_uploads_completed[10m] offset %(stalledWindow)s)))
                + sum by (job) (max without (instance, pod) (last_over_time(migration_spaces{status=~"completed|failed"}[10m] offset %(stalledWindow)s)))
              )
            ||| % c,
            'for': c.stalledFor,
            labels: { severity: 'critical', component: 'migration' },
            annotations: {
              summary: 'The migration has made no progress for %s' % t.duration(c.stalledWindow),
              description: t.fold(|||
                {{ $value | humanize }} space(s) are in progress, but no worker on any instance completed
                an upload or finished a space in the last %s. A cause shared by every worker is
                likely: credentials, DynamoDB, the source or destination service, or the workers'
                deployment.
              ||| % t.duration(c.stalledWindow)),
              runbook_url: runbook('MigrationStalled'),
            },
          },
          {
            alert: 'MigrationSpacesFailed',
            // One alert per space that failed within failedSpaceRecentSeconds (by its updatedAt),
            // named through migration_failed_space_info; Alertmanager groups them into one
            // notification per instance. Only the --metrics.max-failed-space-series most recent
            // failures are named: MigrationFailuresSurging counts them all. A space retried leaves
            // the list at once: the 2-minute window only rides out a missed scrape, so a retry
            // within `for:` tickets nothing. `max without` keeps every other label, error_class and
            // retryable too, which the texts read.
            expr: 'time() - max without (instance, pod) (last_over_time(migration_failed_space_info[2m])) < %d' % c.failedSpaceRecentSeconds,
            'for': c.failedSpacesFor,
            labels: { severity: 'warning', component: 'migration' },
            annotations: {
              summary: 'Space {{ $labels.space }} failed on instance {{ $labels.instance_id }}, worker {{ $labels.worker_id }}: "{{ $labels.error_class }}" (retryable: {{ $labels.retryable }})',
              description: t.fold(|||
                Space {{ $labels.space }} (instance {{ $labels.instance_id }}, worker
                {{ $labels.worker_id }}) was marked failed {{ $value | humanizeDuration }} ago and has
                not been retried since. Its error class is "{{ $labels.error_class }}" (retryable:
                {{ $labels.retryable }}).
              ||| + retryAdvice),
              runbook_url: runbook('MigrationSpacesFailed'),
            },
          },
          {
            alert: 'MigrationPermanentFailures',
            // Per class: failed spaces whose class the exporter's rules call not retryable. Its
            // spaces also have their MigrationSpacesFailed tickets while they are recent; this one
            // says what they share, and stays while they stay failed. "other" (the classes past
            // --metrics.max-error-classes, summed) is kept: those are permanent failures too. A
            // ticket, like MigrationSpacesFailed, and for the same reason a 2-minute window: it
            // rides out a missed scrape, and a class whose spaces are retried within `for:`
            // tickets nothing (a 10-minute window would ticket any class seen once).
            expr: 'sum by (job, error_class, retryable) (max without (instance, pod) (last_over_time(migration_failed_spaces_by_class{retryable="false"}[2m]))) > 0',
            'for': c.permanentFailuresFor,
            labels: { severity: 'warning', component: 'migration' },
            annotations: {
              summary: '{{ $value | humanize }} failed space(s) of the permanent error class "{{ $labels.error_class }}"',
              description: t.fold(|||
                {{ $value | humanize }} space(s) are failed with the error class
                "{{ $labels.error_class }}", which is not retryable, and have been for %s.
                {{- if eq $labels.error_class "other" }} "other" sums the classes past the
                --metrics.max-error-classes (20 by default) most common ones: migration-monitor --failed
                lists them all.
                {{- else }}
              ||| % t.duration(c.permanentFailuresFor) + exampleSpace + |||
                {{- end }}
                Do not retry them: a retry fails the same way. Investigate the data (the space, its
                customer, its uploads) and fix the cause first.
              |||),
              runbook_url: runbook('MigrationPermanentFailures'),
            },
          },
          {
            alert: 'MigrationNewFailureClass',
            // A class with no failed space newFailureClassWindow ago that has at least
            // newFailureClassThreshold now. "other" is no class: a class moving into or out of the
            // --metrics.max-error-classes named ones is nothing new. An hour ago is only known if
            // the exporter already exported failure classes then (`and on (job)`): without that, a
            // new exporter, an exporter upgraded to failure classes or a Prometheus without the
            // older data would make every class look new. The guard is per job, as the counts
            // are (one value across replicas). Now: the 2-minute window of MigrationSpacesFailed,
            // so that a class retried within `for:` tickets nothing; an hour ago: any failed space
            // of the class in 10 minutes, so that a missed scrape then makes no class new.
            expr: |||
              sum by (job, error_class, retryable) (max without (instance, pod) (last_over_time(migration_failed_spaces_by_class{error_class!="other"}[2m]))) >= %(newFailureClassThreshold)d
              unless on (job, error_class)
              max without (instance, pod) (last_over_time(migration_failed_spaces_by_class[10m] offset %(newFailureClassWindow)s))
              and on (job)
              max without (instance, pod) (last_over_time(migration_failed_error_classes[10m] offset %(newFailureClassWindow)s))
            ||| % c,
            'for': c.newFailureClassFor,
            labels: { severity: 'warning', component: 'migration' },
            annotations: {
              summary: 'New failure class "{{ $labels.error_class }}": {{ $value | humanize }} failed space(s)',
              description: t.fold(|||
                {{ $value | humanize }} space(s) are failed with the error class
                "{{ $labels.error_class }}" (retryable: {{ $labels.retryable }}), which had no failed
                space %(window)s ago, and there have been at least %(threshold)d for %(for)s: a kind of
                failure the migration did not have, such as a new bug, a changed dependency or new kinds
                of data.
              ||| % {
                window: t.duration(c.newFailureClassWindow),
                threshold: c.newFailureClassThreshold,
                'for': t.duration(c.newFailureClassFor),
              } + exampleSpace + retryAdvice),
              runbook_url: runbook('MigrationNewFailureClass'),
            },
          },
          {
            alert: 'MigrationFailuresSurging',
            // Exact: status changes to failed the exporter observed in the last hour, retried ones
            // included (an exporter restart loses the changes before it).
            expr: 'job:migration_spaces_failed:increase1h >= %d' % c.failuresSurgingThreshold,
            'for': c.failuresSurgingFor,
            labels: { severity: 'critical', component: 'migration' },
            annotations: {
              summary: '{{ $value | humanize }} spaces failed in the last hour',
              description: t.fold(|||
                {{ $value | humanize }} spaces moved to failed in the last hour across all instances and
                workers (threshold %d). Many failures at once usually share a cause (expired credentials
                or delegations, a dependency down, a bad deploy of the workers): read the error messages
                with migration-monitor --failed before restarting anything.
              ||| % c.failuresSurgingThreshold),
              runbook_url: runbook('MigrationFailuresSurging'),
            },
          },
          {
            alert: 'MigrationInvalidItems',
            // Incremental refreshes read only what changed; full scans (every
            // --refresh.full-interval, 15m by default) read every item, so a bad item is counted
            // at least once per invalidItemsWindow.
            expr: 'max by (job, reason) (increase(migration_exporter_invalid_items_total[%s])) > 0' % c.invalidItemsWindow,
            'for': c.invalidItemsFor,
            labels: { severity: 'warning', component: 'migration' },
            annotations: {
              summary: 'The migration table has items the exporter cannot fully read ({{ $labels.reason }})',
              description: t.fold(|||
                For %s, the exporter's full scans have kept reading items with the problem
                {{ $labels.reason }}. They are still counted (an unreadable status as "unknown", an
                unreadable upload count as 0), so totals and progress are off. The exporter logs one line
                per invalid item at --log.level debug.
              ||| % t.duration(c.invalidItemsFor)),
              runbook_url: runbook('MigrationInvalidItems'),
            },
          },
        ],
      },
      {
        name: 'migration-exporter',
        rules: [
          {
            alert: 'MigrationExporterDown',
            expr: 'up{%(jobSelector)s} == 0 or absent(up{%(jobSelector)s})' % c,
            'for': c.exporterDownFor,
            labels: { severity: 'critical', component: 'exporter' },
            annotations: {
              summary: 'migration-exporter {{ with $labels.instance }}{{ . }} {{ end }}is down',
              description: t.fold(|||
                {{ if $labels.instance }}Prometheus has failed to scrape {{ $labels.instance }} (job
                {{ $labels.job }}) for %(for)s.{{ else }}Prometheus has had no target for job
                {{ $labels.job }} for %(for)s.{{ end }} Nobody is watching the migration: Alertmanager
                holds back the alerts on its data while this fires.
              ||| % { 'for': t.duration(c.exporterDownFor) }),
              runbook_url: runbook('MigrationExporterDown'),
            },
          },
          {
            alert: 'MigrationExporterDataStale',
            // dataStaleRefreshIntervals refresh intervals, as the exporter reports its own
            // --refresh.interval (at least dataStaleMinSeconds: fresher data is never worth a page).
            expr: |||
              time() - migration_exporter_last_refresh_success_timestamp_seconds
              > clamp_min(%(dataStaleRefreshIntervals)d * migration_exporter_refresh_interval_seconds, %(dataStaleMinSeconds)d)
            ||| % c,
            'for': c.dataStaleFor,
            labels: { severity: 'critical', component: 'exporter' },
            annotations: {
              summary: 'migration-exporter {{ $labels.instance }} serves data {{ $value | humanizeDuration }} old',
              description: t.fold(|||
                The last successful read of DynamoDB by {{ $labels.instance }} ended
                {{ $value | humanizeDuration }} ago, more than %s of its refresh intervals
                (--refresh.interval). Alertmanager holds back the alerts on the migration's data while
                this fires.
                {{- with query (printf `sum by (kind) (increase(migration_exporter_refresh_errors_total{job=%%q,instance=%%q}[15m])) > 0` $labels.job $labels.instance) }}
                Refresh errors in the last 15 minutes: {{ range $i, $e := sortByLabel "kind" . }}{{ if $i }}, {{ end }}{{ $e.Labels.kind }}{{ end }}.
                {{- end }}
              ||| % t.number(c.dataStaleRefreshIntervals)),
              runbook_url: runbook('MigrationExporterDataStale'),
            },
          },
          {
            alert: 'MigrationExporterRefreshFailing',
            expr: 'migration_exporter_last_refresh_success == 0',
            'for': c.refreshFailingFor,
            labels: { severity: 'warning', component: 'exporter' },
            annotations: {
              summary: 'migration-exporter {{ $labels.instance }} cannot read DynamoDB',
              description: t.fold(|||
                Every refresh of {{ $labels.instance }} has failed for %s; it keeps serving its
                last good snapshot, which grows old.
                {{- with query (printf `sum by (kind) (increase(migration_exporter_refresh_errors_total{job=%%q,instance=%%q}[15m])) > 0` $labels.job $labels.instance) }}
                Refresh errors in the last 15 minutes: {{ range $i, $e := sortByLabel "kind" . }}{{ if $i }}, {{ end }}{{ $e.Labels.kind }}{{ end }}.
                {{- end }}
              ||| % t.duration(c.refreshFailingFor)),
              runbook_url: runbook('MigrationExporterRefreshFailing'),
            },
          },
          {
            alert: 'MigrationExporterThrottled',
            expr: 'increase(migration_exporter_dynamodb_errors_total{kind="throttled"}[%s]) > 0' % c.throttledWindow,
            'for': c.throttledFor,
            labels: { severity: 'warning', component: 'exporter' },
            annotations: {
              summary: 'DynamoDB throttles migration-exporter {{ $labels.instance }}',
              description: t.fold(|||
                For %s, every %s window has had DynamoDB throttle reads of
                {{ $labels.instance }} (counted on every attempt, also those the SDK retried): the table's
                read capacity is exhausted, and the migration's workers use the same table.
              ||| % [t.duration(c.throttledFor), t.durationAdjective(c.throttledWindow)]),
              runbook_url: runbook('MigrationExporterThrottled'),
            },
          },
        ],
      },
    ],
  },
}
