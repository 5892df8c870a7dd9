// The recording rules (group migration-recording, level:metric:operation names): the sums, rates
// and ETA that the dashboards and the alerts share. Several exporter replicas may be scraped under
// one job: they read the same table and export the same series, told apart only by `instance`
// (and `pod` on Kubernetes), so every expression takes one value per series first
// (`max without (instance, pod) (...)`) and sums after; tests/it/replicas.rs checks it.
// The latest of a per-instance ETA, none while an instance with uploads left has none. Spaces
// on no instance yet (instance_id="") have no rate of their own and hold no ETA back.
local slowest(series) = |||
  max by (job) (%(s)s)
    unless on (job) (job_instance_id:migration_uploads_remaining:sum{instance_id!=""} > 0 unless on (job, instance_id) %(s)s)
||| % { s: series };
// Remaining uploads over a percentile rate that is on the `side` of the hour's rate (`>=`: no
// slower, `<=`: no faster), or the hour's rate itself; only where the hour's rate is positive.
local bounded(percentile, side) = |||
  job_instance_id:migration_uploads_remaining:sum{instance_id!=""}
    / on (job, instance_id) (
      (
        (%(p)s %(side)s on (job, instance_id) job_instance_id:migration_uploads_completed:rate1h)
        or on (job, instance_id) job_instance_id:migration_uploads_completed:rate1h
      ) > 0
      and on (job, instance_id) job_instance_id:migration_uploads_completed:rate1h > 0
    )
||| % { p: percentile, side: side };

{
  local c = $._config,
  prometheusRules+:: {
    groups+: [
      {
        name: 'migration-recording',
        rules: [
          {
            record: 'job_instance_id:migration_uploads:sum',
            expr: 'sum by (job, instance_id) (max without (instance, pod) (migration_uploads))',
          },
          {
            record: 'job_instance_id:migration_uploads_completed:sum',
            expr: 'sum by (job, instance_id) (max without (instance, pod) (migration_uploads_completed))',
          },
          {
            record: 'job_instance_id:migration_spaces_completed:sum',
            expr: 'sum by (job, instance_id) (max without (instance, pod) (migration_spaces{status="completed"}))',
          },
          // Uploads not yet migrated, of spaces in any status (failed spaces are retried).
          {
            record: 'job_instance_id:migration_uploads_remaining:sum',
            expr: 'job_instance_id:migration_uploads:sum - job_instance_id:migration_uploads_completed:sum',
          },
          {
            record: 'job:migration_uploads_remaining:sum',
            expr: 'sum by (job) (job_instance_id:migration_uploads_remaining:sum)',
          },
          // Completion rates, per second. Uploads come from gauges (a space's completedUploads
          // moves with it between statuses, so the per-instance sum only grows with progress);
          // spaces per instance too, since the transitions counter has no instance_id.
          {
            record: 'job_instance_id:migration_uploads_completed:rate5m',
            expr: 'clamp_min(deriv(job_instance_id:migration_uploads_completed:sum[5m]), 0)',
          },
          {
            record: 'job_instance_id:migration_uploads_completed:rate1h',
            expr: 'clamp_min(deriv(job_instance_id:migration_uploads_completed:sum[1h]), 0)',
          },
          {
            record: 'job_instance_id:migration_spaces_completed:rate5m',
            expr: 'clamp_min(deriv(job_instance_id:migration_spaces_completed:sum[5m]), 0)',
          },
          {
            record: 'job:migration_uploads_completed:rate5m',
            expr: 'sum by (job) (job_instance_id:migration_uploads_completed:rate5m)',
          },
          {
            record: 'job:migration_uploads_completed:rate1h',
            expr: 'sum by (job) (job_instance_id:migration_uploads_completed:rate1h)',
          },
          // Spaces overall, exactly, from the status changes the exporter observed.
          {
            record: 'job:migration_spaces_completed:rate5m',
            expr: 'sum by (job) (max without (instance, pod) (rate(migration_space_transitions_total{to="completed"}[5m])))',
          },
          {
            record: 'job:migration_spaces_failed:increase1h',
            expr: 'sum by (job) (max without (instance, pod) (increase(migration_space_transitions_total{to="failed"}[1h])))',
          },
          // When each instance ends: its remaining uploads over its rate in the last hour, and a
          // range from the 90th (earliest) and 10th (latest) percentile of its 5-minute rates in
          // the same hour, each bound no nearer to the expected ETA than it. An instance whose
          // slowest 5 minutes completed nothing has no latest finish (the range is unbounded);
          // one that completed nothing in the hour has no ETA. No rate of zero is divided by.
          {
            record: 'job_instance_id:migration_uploads_completed:rate5m_p10_%s' % c.etaWindow,
            expr: 'quantile_over_time(0.1, job_instance_id:migration_uploads_completed:rate5m[%s])' % c.etaWindow,
          },
          {
            record: 'job_instance_id:migration_uploads_completed:rate5m_p90_%s' % c.etaWindow,
            expr: 'quantile_over_time(0.9, job_instance_id:migration_uploads_completed:rate5m[%s])' % c.etaWindow,
          },
          {
            record: 'job_instance_id:migration_eta:seconds',
            expr: 'job_instance_id:migration_uploads_remaining:sum{instance_id!=""} / (job_instance_id:migration_uploads_completed:rate1h > 0)',
          },
          {
            record: 'job_instance_id:migration_eta_low:seconds',
            expr: bounded('job_instance_id:migration_uploads_completed:rate5m_p90_%s' % c.etaWindow, '>='),
          },
          {
            record: 'job_instance_id:migration_eta_high:seconds',
            expr: bounded('job_instance_id:migration_uploads_completed:rate5m_p10_%s' % c.etaWindow, '<='),
          },
          // The migration ends when its slowest instance ends: the latest of each figure, and
          // none while an instance with uploads left has none (it is not moving, or for the
          // latest finish, it stalled).
          {
            record: 'job:migration_eta:seconds',
            expr: slowest('job_instance_id:migration_eta:seconds'),
          },
          {
            record: 'job:migration_eta_low:seconds',
            expr: slowest('job_instance_id:migration_eta_low:seconds'),
          },
          {
            record: 'job:migration_eta_high:seconds',
            expr: slowest('job_instance_id:migration_eta_high:seconds'),
          },
        ],
      },
    ],
  },
}
