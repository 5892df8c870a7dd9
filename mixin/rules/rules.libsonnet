// The recording rules (group migration-recording, level:metric:operation names): the sums, rates
// and ETA that the dashboards and the alerts share. Several exporter replicas may be scraped under
// one job: they read the same table and export the same series, told apart only by `instance`
// (and `pod` on Kubernetes), so every expression takes one value per series first
// (`max without (instance, pod) (...)`) and sums after; tests/it/replicas.rs checks it.
{
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
          // Seconds until every upload is migrated at the last hour's rate (none while nothing
          // moves).
          {
            record: 'job:migration_eta:seconds',
            expr: 'job:migration_uploads_remaining:sum / (job:migration_uploads_completed:rate1h > 0)',
          },
        ],
      },
    ],
  },
}
