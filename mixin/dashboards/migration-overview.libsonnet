// The dashboard "Migration overview": headline numbers, progress per instance and worker,
// throughput, stuck and failed spaces, and the exporter's health. It follows the sharing
// conventions that tests/it/dashboards.rs checks: one Prometheus datasource variable that every
// panel and query uses, no __inputs, a fixed uid, unique panel ids, units and descriptions, and
// $__rate_interval in rates. Panels select `job=~"$job"`, whose default is _config.jobName; the
// uid, tags, refresh, the Data age threshold and the runbook links come from _config too.
function(c)
  local datasource = { type: 'prometheus', uid: '${datasource}' };
  // " Runbook: <url>." for a panel description; a Prometheus template as base URL cannot be
  // expanded by Grafana, so the relative path stands then.
  local base = if std.length(std.findSubstr('{{', c.runbookBaseURL)) > 0 then '' else c.runbookBaseURL;
  local runbookLink(anchor) = ' Runbook: %s%s#%s.' % [base, c.runbookPath, anchor];
  {
    annotations: {
      list: [],
    },
    description: "Progress of the space migration, from migration-exporter's view of the migration-progress DynamoDB table: headline numbers, progress per instance and worker, throughput, stuck and failed spaces, and the exporter's health.",
    editable: true,
    fiscalYearStartMonth: 0,
    graphTooltip: 1,
    id: null,
    links: [],
    panels: [
      {
        id: 1,
        type: 'stat',
        title: 'Spaces completed',
        description: 'Spaces whose migration is completed (status "completed"), on the selected instances.',
        datasource: datasource,
        gridPos: {
          x: 0,
          y: 0,
          w: 4,
          h: 4,
        },
        targets: [
          {
            datasource: datasource,
            refId: 'A',
            expr: 'sum(max without (instance, pod) (migration_spaces{job=~"$job", instance_id=~"$instance_id", status="completed"}))',
            legendFormat: '',
            range: false,
            instant: true,
            format: 'time_series',
            editorMode: 'code',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'short',
            color: {
              mode: 'thresholds',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'blue',
                  value: null,
                },
              ],
            },
          },
          overrides: [],
        },
        options: {
          reduceOptions: {
            calcs: [
              'lastNotNull',
            ],
            fields: '',
            values: false,
          },
          colorMode: 'value',
          graphMode: 'none',
          justifyMode: 'auto',
          orientation: 'auto',
          textMode: 'auto',
        },
      },
      {
        id: 2,
        type: 'stat',
        title: 'Spaces completed (%)',
        description: 'Completed spaces as a share of all spaces in the table, whatever their status (unassigned spaces count when every instance is selected).',
        datasource: datasource,
        gridPos: {
          x: 4,
          y: 0,
          w: 4,
          h: 4,
        },
        targets: [
          {
            datasource: datasource,
            refId: 'A',
            expr: 'sum(max without (instance, pod) (migration_spaces{job=~"$job", instance_id=~"$instance_id", status="completed"})) / sum(max without (instance, pod) (migration_spaces{job=~"$job", instance_id=~"$instance_id"}))',
            legendFormat: '',
            range: false,
            instant: true,
            format: 'time_series',
            editorMode: 'code',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'percentunit',
            color: {
              mode: 'thresholds',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'blue',
                  value: null,
                },
              ],
            },
            decimals: 1,
          },
          overrides: [],
        },
        options: {
          reduceOptions: {
            calcs: [
              'lastNotNull',
            ],
            fields: '',
            values: false,
          },
          colorMode: 'value',
          graphMode: 'none',
          justifyMode: 'auto',
          orientation: 'auto',
          textMode: 'auto',
        },
      },
      {
        id: 3,
        type: 'stat',
        title: 'Uploads completed',
        description: 'Uploads migrated: the sum of completedUploads over every space, whatever its status.',
        datasource: datasource,
        gridPos: {
          x: 8,
          y: 0,
          w: 4,
          h: 4,
        },
        targets: [
          {
            datasource: datasource,
            refId: 'A',
            expr: 'sum(max without (instance, pod) (migration_uploads_completed{job=~"$job", instance_id=~"$instance_id"}))',
            legendFormat: '',
            range: false,
            instant: true,
            format: 'time_series',
            editorMode: 'code',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'short',
            color: {
              mode: 'thresholds',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'blue',
                  value: null,
                },
              ],
            },
          },
          overrides: [],
        },
        options: {
          reduceOptions: {
            calcs: [
              'lastNotNull',
            ],
            fields: '',
            values: false,
          },
          colorMode: 'value',
          graphMode: 'none',
          justifyMode: 'auto',
          orientation: 'auto',
          textMode: 'auto',
        },
      },
      {
        id: 4,
        type: 'stat',
        title: 'Uploads completed (%)',
        description: 'Uploads migrated as a share of all uploads (the sum of totalUploads over every space).',
        datasource: datasource,
        gridPos: {
          x: 12,
          y: 0,
          w: 4,
          h: 4,
        },
        targets: [
          {
            datasource: datasource,
            refId: 'A',
            expr: 'sum(max without (instance, pod) (migration_uploads_completed{job=~"$job", instance_id=~"$instance_id"})) / sum(max without (instance, pod) (migration_uploads{job=~"$job", instance_id=~"$instance_id"}))',
            legendFormat: '',
            range: false,
            instant: true,
            format: 'time_series',
            editorMode: 'code',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'percentunit',
            color: {
              mode: 'thresholds',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'blue',
                  value: null,
                },
              ],
            },
            decimals: 1,
          },
          overrides: [],
        },
        options: {
          reduceOptions: {
            calcs: [
              'lastNotNull',
            ],
            fields: '',
            values: false,
          },
          colorMode: 'value',
          graphMode: 'none',
          justifyMode: 'auto',
          orientation: 'auto',
          textMode: 'auto',
        },
      },
      {
        id: 5,
        type: 'stat',
        title: 'ETA (slowest instance)',
        description: "When the slowest instance ends: each instance's remaining uploads over its rate in the last hour (recording rule job_instance_id:migration_eta:seconds), the latest of them. Empty while an instance with uploads left completed nothing in the last hour: its end cannot be told. Spaces on no instance yet are in no ETA. The ETA per instance panel shows the range.",
        datasource: datasource,
        gridPos: {
          x: 16,
          y: 0,
          w: 8,
          h: 4,
        },
        targets: [
          {
            datasource: datasource,
            refId: 'A',
            expr: 'max(job_instance_id:migration_eta:seconds{job=~"$job", instance_id=~"$instance_id"}) unless on () (count(job_instance_id:migration_uploads_remaining:sum{job=~"$job", instance_id=~"$instance_id", instance_id!=""} > 0) > count(job_instance_id:migration_eta:seconds{job=~"$job", instance_id=~"$instance_id"} > 0))',
            legendFormat: '',
            range: false,
            instant: true,
            format: 'time_series',
            editorMode: 'code',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 's',
            color: {
              mode: 'thresholds',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'blue',
                  value: null,
                },
              ],
            },
          },
          overrides: [],
        },
        options: {
          reduceOptions: {
            calcs: [
              'lastNotNull',
            ],
            fields: '',
            values: false,
          },
          colorMode: 'value',
          graphMode: 'none',
          justifyMode: 'auto',
          orientation: 'auto',
          textMode: 'auto',
        },
      },
      {
        id: 6,
        type: 'stat',
        title: 'In progress',
        description: 'Spaces a worker is migrating now (status "in-progress"), stuck ones included.',
        datasource: datasource,
        gridPos: {
          x: 0,
          y: 4,
          w: 6,
          h: 4,
        },
        targets: [
          {
            datasource: datasource,
            refId: 'A',
            expr: 'sum(max without (instance, pod) (migration_spaces{job=~"$job", instance_id=~"$instance_id", status="in-progress"}))',
            legendFormat: '',
            range: false,
            instant: true,
            format: 'time_series',
            editorMode: 'code',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'short',
            color: {
              mode: 'thresholds',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'blue',
                  value: null,
                },
              ],
            },
          },
          overrides: [],
        },
        options: {
          reduceOptions: {
            calcs: [
              'lastNotNull',
            ],
            fields: '',
            values: false,
          },
          colorMode: 'value',
          graphMode: 'none',
          justifyMode: 'auto',
          orientation: 'auto',
          textMode: 'auto',
        },
      },
      {
        id: 7,
        type: 'stat',
        title: 'Pending',
        description: 'Spaces not started yet (status "pending").',
        datasource: datasource,
        gridPos: {
          x: 6,
          y: 4,
          w: 6,
          h: 4,
        },
        targets: [
          {
            datasource: datasource,
            refId: 'A',
            expr: 'sum(max without (instance, pod) (migration_spaces{job=~"$job", instance_id=~"$instance_id", status="pending"}))',
            legendFormat: '',
            range: false,
            instant: true,
            format: 'time_series',
            editorMode: 'code',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'short',
            color: {
              mode: 'thresholds',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'blue',
                  value: null,
                },
              ],
            },
          },
          overrides: [],
        },
        options: {
          reduceOptions: {
            calcs: [
              'lastNotNull',
            ],
            fields: '',
            values: false,
          },
          colorMode: 'value',
          graphMode: 'none',
          justifyMode: 'auto',
          orientation: 'auto',
          textMode: 'auto',
        },
      },
      {
        id: 8,
        type: 'stat',
        title: 'Stuck',
        description: "In-progress spaces with no update for longer than the exporter's --stuck-after (1h by default)." + runbookLink('migrationspacesstuck'),
        datasource: datasource,
        gridPos: {
          x: 12,
          y: 4,
          w: 6,
          h: 4,
        },
        targets: [
          {
            datasource: datasource,
            refId: 'A',
            expr: 'sum(max without (instance, pod) (migration_spaces_stuck{job=~"$job", instance_id=~"$instance_id"}))',
            legendFormat: '',
            range: false,
            instant: true,
            format: 'time_series',
            editorMode: 'code',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'short',
            color: {
              mode: 'thresholds',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'green',
                  value: null,
                },
                {
                  color: 'red',
                  value: 1,
                },
              ],
            },
          },
          overrides: [],
        },
        options: {
          reduceOptions: {
            calcs: [
              'lastNotNull',
            ],
            fields: '',
            values: false,
          },
          colorMode: 'value',
          graphMode: 'none',
          justifyMode: 'auto',
          orientation: 'auto',
          textMode: 'auto',
        },
      },
      {
        id: 9,
        type: 'stat',
        title: 'Failed',
        description: 'Spaces whose migration failed (status "failed"); their error messages are in the table (migration-monitor --failed).',
        datasource: datasource,
        gridPos: {
          x: 18,
          y: 4,
          w: 6,
          h: 4,
        },
        targets: [
          {
            datasource: datasource,
            refId: 'A',
            expr: 'sum(max without (instance, pod) (migration_spaces{job=~"$job", instance_id=~"$instance_id", status="failed"}))',
            legendFormat: '',
            range: false,
            instant: true,
            format: 'time_series',
            editorMode: 'code',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'short',
            color: {
              mode: 'thresholds',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'green',
                  value: null,
                },
                {
                  color: 'red',
                  value: 1,
                },
              ],
            },
          },
          overrides: [],
        },
        options: {
          reduceOptions: {
            calcs: [
              'lastNotNull',
            ],
            fields: '',
            values: false,
          },
          colorMode: 'value',
          graphMode: 'none',
          justifyMode: 'auto',
          orientation: 'auto',
          textMode: 'auto',
        },
      },
      {
        id: 10,
        type: 'bargauge',
        title: 'Spaces completed by instance',
        description: "Completed spaces as a share of each instance's spaces (spaces not assigned to an instance yet are left out).",
        datasource: datasource,
        gridPos: {
          x: 0,
          y: 8,
          w: 12,
          h: 8,
        },
        targets: [
          {
            datasource: datasource,
            refId: 'A',
            expr: 'sum by (instance_id) (max without (instance, pod) (migration_spaces{job=~"$job", instance_id=~"$instance_id", instance_id!="", status="completed"})) / sum by (instance_id) (max without (instance, pod) (migration_spaces{job=~"$job", instance_id=~"$instance_id", instance_id!=""}))',
            legendFormat: 'instance {{instance_id}}',
            range: false,
            instant: true,
            format: 'time_series',
            editorMode: 'code',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'percentunit',
            color: {
              mode: 'thresholds',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'blue',
                  value: null,
                },
                {
                  color: 'green',
                  value: 1,
                },
              ],
            },
            decimals: 1,
            min: 0,
            max: 1,
          },
          overrides: [],
        },
        options: {
          reduceOptions: {
            calcs: [
              'lastNotNull',
            ],
            fields: '',
            values: false,
          },
          orientation: 'horizontal',
          displayMode: 'gradient',
          showUnfilled: true,
          valueMode: 'color',
          namePlacement: 'auto',
          sizing: 'auto',
          minVizHeight: 16,
          minVizWidth: 8,
          maxVizHeight: 300,
        },
      },
      {
        id: 11,
        type: 'bargauge',
        title: 'Uploads completed by instance',
        description: "Uploads migrated as a share of each instance's uploads (spaces not assigned to an instance yet are left out).",
        datasource: datasource,
        gridPos: {
          x: 12,
          y: 8,
          w: 12,
          h: 8,
        },
        targets: [
          {
            datasource: datasource,
            refId: 'A',
            expr: 'sum by (instance_id) (max without (instance, pod) (migration_uploads_completed{job=~"$job", instance_id=~"$instance_id", instance_id!=""})) / (sum by (instance_id) (max without (instance, pod) (migration_uploads{job=~"$job", instance_id=~"$instance_id", instance_id!=""})) > 0)',
            legendFormat: 'instance {{instance_id}}',
            range: false,
            instant: true,
            format: 'time_series',
            editorMode: 'code',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'percentunit',
            color: {
              mode: 'thresholds',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'blue',
                  value: null,
                },
                {
                  color: 'green',
                  value: 1,
                },
              ],
            },
            decimals: 1,
            min: 0,
            max: 1,
          },
          overrides: [],
        },
        options: {
          reduceOptions: {
            calcs: [
              'lastNotNull',
            ],
            fields: '',
            values: false,
          },
          orientation: 'horizontal',
          displayMode: 'gradient',
          showUnfilled: true,
          valueMode: 'color',
          namePlacement: 'auto',
          sizing: 'auto',
          minVizHeight: 16,
          minVizWidth: 8,
          maxVizHeight: 300,
        },
      },
      {
        id: 12,
        type: 'table',
        title: 'Workers',
        description: 'One row per instance and worker: spaces (all, completed, in progress, stuck, failed) and uploads (completed, total, share). The row with no instance or worker holds spaces not assigned yet. Last activity is the time since the worker last wrote any of its spaces: orange past 15 minutes, red past an hour (see MigrationWorkerSilent).',
        datasource: datasource,
        gridPos: {
          x: 0,
          y: 16,
          w: 24,
          h: 10,
        },
        targets: [
          {
            datasource: datasource,
            refId: 'A',
            expr: 'sum by (instance_id, worker_id) (max without (instance, pod) (migration_spaces{job=~"$job", instance_id=~"$instance_id"}))',
            legendFormat: '',
            range: false,
            instant: true,
            format: 'table',
            editorMode: 'code',
          },
          {
            datasource: datasource,
            refId: 'B',
            expr: 'sum by (instance_id, worker_id) (max without (instance, pod) (migration_spaces{job=~"$job", instance_id=~"$instance_id", status="completed"}))',
            legendFormat: '',
            range: false,
            instant: true,
            format: 'table',
            editorMode: 'code',
          },
          {
            datasource: datasource,
            refId: 'C',
            expr: 'sum by (instance_id, worker_id) (max without (instance, pod) (migration_spaces{job=~"$job", instance_id=~"$instance_id", status="in-progress"}))',
            legendFormat: '',
            range: false,
            instant: true,
            format: 'table',
            editorMode: 'code',
          },
          {
            datasource: datasource,
            refId: 'D',
            expr: 'sum by (instance_id, worker_id) (max without (instance, pod) (migration_spaces_stuck{job=~"$job", instance_id=~"$instance_id"}))',
            legendFormat: '',
            range: false,
            instant: true,
            format: 'table',
            editorMode: 'code',
          },
          {
            datasource: datasource,
            refId: 'E',
            expr: 'sum by (instance_id, worker_id) (max without (instance, pod) (migration_spaces{job=~"$job", instance_id=~"$instance_id", status="failed"}))',
            legendFormat: '',
            range: false,
            instant: true,
            format: 'table',
            editorMode: 'code',
          },
          {
            datasource: datasource,
            refId: 'F',
            expr: 'sum by (instance_id, worker_id) (max without (instance, pod) (migration_uploads_completed{job=~"$job", instance_id=~"$instance_id"}))',
            legendFormat: '',
            range: false,
            instant: true,
            format: 'table',
            editorMode: 'code',
          },
          {
            datasource: datasource,
            refId: 'G',
            expr: 'sum by (instance_id, worker_id) (max without (instance, pod) (migration_uploads{job=~"$job", instance_id=~"$instance_id"}))',
            legendFormat: '',
            range: false,
            instant: true,
            format: 'table',
            editorMode: 'code',
          },
          {
            datasource: datasource,
            refId: 'H',
            expr: 'sum by (instance_id, worker_id) (max without (instance, pod) (migration_uploads_completed{job=~"$job", instance_id=~"$instance_id"})) / (sum by (instance_id, worker_id) (max without (instance, pod) (migration_uploads{job=~"$job", instance_id=~"$instance_id"})) > 0)',
            legendFormat: '',
            range: false,
            instant: true,
            format: 'table',
            editorMode: 'code',
          },
          {
            datasource: datasource,
            refId: 'I',
            expr: 'time() - max by (instance_id, worker_id) (migration_worker_last_update_timestamp_seconds{job=~"$job", instance_id=~"$instance_id"})',
            legendFormat: '',
            range: false,
            instant: true,
            format: 'table',
            editorMode: 'code',
          },
        ],
        transformations: [
          {
            id: 'merge',
            options: {},
          },
          {
            id: 'organize',
            options: {
              excludeByName: {
                Time: true,
              },
              indexByName: {
                instance_id: 0,
                worker_id: 1,
                'Value #A': 2,
                'Value #B': 3,
                'Value #C': 4,
                'Value #D': 5,
                'Value #E': 6,
                'Value #F': 7,
                'Value #G': 8,
                'Value #H': 9,
                'Value #I': 10,
              },
              renameByName: {
                instance_id: 'Instance',
                worker_id: 'Worker',
                'Value #A': 'Spaces',
                'Value #B': 'Completed',
                'Value #C': 'In progress',
                'Value #D': 'Stuck',
                'Value #E': 'Failed',
                'Value #F': 'Uploads completed',
                'Value #G': 'Uploads',
                'Value #H': 'Uploads completed (%)',
                'Value #I': 'Last activity',
              },
            },
          },
          {
            id: 'sortBy',
            options: {
              fields: {},
              sort: [
                {
                  field: 'Instance',
                },
              ],
            },
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'short',
            color: {
              mode: 'thresholds',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'green',
                  value: null,
                },
              ],
            },
            custom: {
              align: 'auto',
              cellOptions: {
                type: 'auto',
              },
              inspect: false,
            },
          },
          overrides: [
            {
              matcher: {
                id: 'byName',
                options: 'Uploads completed (%)',
              },
              properties: [
                {
                  id: 'unit',
                  value: 'percentunit',
                },
                {
                  id: 'decimals',
                  value: 1,
                },
                {
                  id: 'custom.cellOptions',
                  value: {
                    type: 'gauge',
                    mode: 'basic',
                  },
                },
                {
                  id: 'min',
                  value: 0,
                },
                {
                  id: 'max',
                  value: 1,
                },
              ],
            },
            {
              matcher: {
                id: 'byName',
                options: 'Stuck',
              },
              properties: [
                {
                  id: 'thresholds',
                  value: {
                    mode: 'absolute',
                    steps: [
                      {
                        color: 'green',
                        value: null,
                      },
                      {
                        color: 'red',
                        value: 1,
                      },
                    ],
                  },
                },
                {
                  id: 'custom.cellOptions',
                  value: {
                    type: 'color-text',
                  },
                },
              ],
            },
            {
              matcher: {
                id: 'byName',
                options: 'Failed',
              },
              properties: [
                {
                  id: 'thresholds',
                  value: {
                    mode: 'absolute',
                    steps: [
                      {
                        color: 'green',
                        value: null,
                      },
                      {
                        color: 'red',
                        value: 1,
                      },
                    ],
                  },
                },
                {
                  id: 'custom.cellOptions',
                  value: {
                    type: 'color-text',
                  },
                },
              ],
            },
            {
              matcher: {
                id: 'byName',
                options: 'Last activity',
              },
              properties: [
                {
                  id: 'unit',
                  value: 's',
                },
                {
                  id: 'thresholds',
                  value: {
                    mode: 'absolute',
                    steps: [
                      {
                        color: 'green',
                        value: null,
                      },
                      {
                        color: 'orange',
                        value: 900,
                      },
                      {
                        color: 'red',
                        value: 3600,
                      },
                    ],
                  },
                },
                {
                  id: 'custom.cellOptions',
                  value: {
                    type: 'color-background',
                    mode: 'basic',
                  },
                },
              ],
            },
          ],
        },
        options: {
          showHeader: true,
          cellHeight: 'sm',
          footer: {
            show: false,
            reducer: [
              'sum',
            ],
            fields: '',
          },
        },
      },
      {
        id: 13,
        type: 'timeseries',
        title: 'Uploads completed per minute by instance',
        description: 'How fast each instance completes uploads (recording rule job_instance_id:migration_uploads_completed:rate5m: the slope of its uploads completed over 5 minutes).',
        datasource: datasource,
        gridPos: {
          x: 0,
          y: 26,
          w: 12,
          h: 8,
        },
        targets: [
          {
            datasource: datasource,
            refId: 'A',
            expr: 'sum by (instance_id) (job_instance_id:migration_uploads_completed:rate5m{job=~"$job", instance_id=~"$instance_id", instance_id!=""}) * 60',
            legendFormat: 'instance {{instance_id}}',
            range: true,
            instant: false,
            format: 'time_series',
            editorMode: 'code',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'suffix: uploads/min',
            color: {
              mode: 'palette-classic',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'green',
                  value: null,
                },
              ],
            },
            min: 0,
            custom: {
              drawStyle: 'line',
              lineWidth: 1,
              fillOpacity: 10,
              showPoints: 'never',
              spanNulls: false,
              axisPlacement: 'auto',
              stacking: {
                mode: 'none',
                group: 'A',
              },
              thresholdsStyle: {
                mode: 'off',
              },
            },
          },
          overrides: [],
        },
        options: {
          legend: {
            displayMode: 'list',
            placement: 'bottom',
            showLegend: true,
          },
          tooltip: {
            mode: 'multi',
            sort: 'desc',
          },
        },
      },
      {
        id: 14,
        type: 'timeseries',
        title: 'Spaces completed and failed per minute',
        description: 'Status changes to completed and to failed the exporter observed (migration_space_transitions_total), all instances together: exact counts, not slopes of gauges. A restart of the exporter resets the counter, which rate() handles.',
        datasource: datasource,
        gridPos: {
          x: 12,
          y: 26,
          w: 12,
          h: 8,
        },
        targets: [
          {
            datasource: datasource,
            refId: 'A',
            expr: 'sum(max without (instance, pod) (rate(migration_space_transitions_total{job=~"$job", to="completed"}[$__rate_interval]))) * 60',
            legendFormat: 'completed',
            range: true,
            instant: false,
            format: 'time_series',
            editorMode: 'code',
          },
          {
            datasource: datasource,
            refId: 'B',
            expr: 'sum(max without (instance, pod) (rate(migration_space_transitions_total{job=~"$job", to="failed"}[$__rate_interval]))) * 60',
            legendFormat: 'failed',
            range: true,
            instant: false,
            format: 'time_series',
            editorMode: 'code',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'suffix: spaces/min',
            color: {
              mode: 'palette-classic',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'green',
                  value: null,
                },
              ],
            },
            min: 0,
            custom: {
              drawStyle: 'line',
              lineWidth: 1,
              fillOpacity: 10,
              showPoints: 'never',
              spanNulls: false,
              axisPlacement: 'auto',
              stacking: {
                mode: 'none',
                group: 'A',
              },
              thresholdsStyle: {
                mode: 'off',
              },
            },
          },
          overrides: [],
        },
        options: {
          legend: {
            displayMode: 'list',
            placement: 'bottom',
            showLegend: true,
          },
          tooltip: {
            mode: 'multi',
            sort: 'desc',
          },
        },
      },
      {
        id: 15,
        type: 'table',
        title: 'Stuck spaces',
        description: 'In-progress spaces with no update for longer than --stuck-after, oldest first, with the time since their last update. The exporter names at most --metrics.max-space-series of them (50 by default) across all workers; migration-monitor --stuck lists them all.',
        datasource: datasource,
        gridPos: {
          x: 0,
          y: 34,
          w: 14,
          h: 9,
        },
        targets: [
          {
            datasource: datasource,
            refId: 'A',
            expr: 'sort_desc(time() - max without (instance, pod) (migration_stuck_space_info{job=~"$job", instance_id=~"$instance_id"}))',
            legendFormat: '',
            range: false,
            instant: true,
            format: 'table',
            editorMode: 'code',
          },
        ],
        transformations: [
          {
            id: 'organize',
            options: {
              excludeByName: {
                Time: true,
                job: true,
                instance: true,
              },
              indexByName: {
                space: 0,
                instance_id: 1,
                worker_id: 2,
                Value: 3,
              },
              renameByName: {
                space: 'Space',
                instance_id: 'Instance',
                worker_id: 'Worker',
                Value: 'No update for',
              },
            },
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 's',
            color: {
              mode: 'thresholds',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'orange',
                  value: null,
                },
              ],
            },
            custom: {
              align: 'auto',
              cellOptions: {
                type: 'auto',
              },
              inspect: false,
            },
          },
          overrides: [],
        },
        options: {
          showHeader: true,
          cellHeight: 'sm',
          footer: {
            show: false,
            reducer: [
              'sum',
            ],
            fields: '',
          },
          sortBy: [
            {
              displayName: 'No update for',
              desc: true,
            },
          ],
        },
      },
      {
        id: 16,
        type: 'table',
        title: 'Failed spaces by instance and worker',
        description: 'Failed spaces per instance and worker (workers with none are left out). The error of each is in the table: migration-monitor --failed [--instance ID].',
        datasource: datasource,
        gridPos: {
          x: 14,
          y: 34,
          w: 10,
          h: 9,
        },
        targets: [
          {
            datasource: datasource,
            refId: 'A',
            expr: 'sum by (instance_id, worker_id) (max without (instance, pod) (migration_spaces{job=~"$job", instance_id=~"$instance_id", status="failed"})) > 0',
            legendFormat: '',
            range: false,
            instant: true,
            format: 'table',
            editorMode: 'code',
          },
        ],
        transformations: [
          {
            id: 'organize',
            options: {
              excludeByName: {
                Time: true,
              },
              indexByName: {
                instance_id: 0,
                worker_id: 1,
                Value: 2,
              },
              renameByName: {
                instance_id: 'Instance',
                worker_id: 'Worker',
                Value: 'Failed',
              },
            },
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'short',
            color: {
              mode: 'thresholds',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'red',
                  value: null,
                },
              ],
            },
            custom: {
              align: 'auto',
              cellOptions: {
                type: 'color-text',
              },
              inspect: false,
            },
          },
          overrides: [],
        },
        options: {
          showHeader: true,
          cellHeight: 'sm',
          footer: {
            show: false,
            reducer: [
              'sum',
            ],
            fields: '',
          },
          sortBy: [
            {
              displayName: 'Failed',
              desc: true,
            },
          ],
        },
      },
      {
        id: 17,
        type: 'table',
        title: 'Recently failed spaces',
        description: 'The most recently failed spaces, newest first, with their error class, whether a retry can help, and the time since they failed (migration_failed_space_info: at most --metrics.max-failed-space-series, 50 by default). The error text is never a label: read it with migration-monitor --failed [--error-class NAME], or migration-monitor --customer DID --space DID.',
        datasource: datasource,
        gridPos: {
          x: 0,
          y: 43,
          w: 14,
          h: 8,
        },
        targets: [
          {
            datasource: datasource,
            refId: 'A',
            expr: 'sort(time() - max without (instance, pod) (migration_failed_space_info{job=~"$job", instance_id=~"$instance_id"}))',
            legendFormat: '',
            range: false,
            instant: true,
            format: 'table',
            editorMode: 'code',
          },
        ],
        transformations: [
          {
            id: 'organize',
            options: {
              excludeByName: {
                Time: true,
                job: true,
                instance: true,
              },
              indexByName: {
                space: 0,
                instance_id: 1,
                worker_id: 2,
                error_class: 3,
                retryable: 4,
                Value: 5,
              },
              renameByName: {
                space: 'Space',
                instance_id: 'Instance',
                worker_id: 'Worker',
                error_class: 'Class',
                retryable: 'Retryable',
                Value: 'Failed for',
              },
            },
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 's',
            color: {
              mode: 'thresholds',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'red',
                  value: null,
                },
              ],
            },
            custom: {
              align: 'auto',
              cellOptions: {
                type: 'auto',
              },
              inspect: false,
            },
          },
          overrides: [],
        },
        options: {
          showHeader: true,
          cellHeight: 'sm',
          footer: {
            show: false,
            reducer: [
              'sum',
            ],
            fields: '',
          },
          sortBy: [
            {
              displayName: 'Failed for',
              desc: false,
            },
          ],
        },
      },
      {
        id: 18,
        type: 'table',
        title: 'Failed spaces by class',
        description: 'Failed spaces now by error class (the name of the classes-file rule that matches their error, or the error text with its numbers, ids and URLs masked) and whether a retry can help (true, false, unknown), most first: the --metrics.max-error-classes (20 by default) largest classes, the rest summed as "other". Every instance: classes have no instance_id. Read the spaces of a class with migration-monitor --failed --error-class NAME.' + runbookLink('migrationspacesfailed'),
        datasource: datasource,
        gridPos: {
          x: 14,
          y: 43,
          w: 10,
          h: 8,
        },
        targets: [
          {
            datasource: datasource,
            refId: 'A',
            expr: 'sort_desc(sum by (error_class, retryable) (max without (instance, pod) (migration_failed_spaces_by_class{job=~"$job"})))',
            legendFormat: '',
            range: false,
            instant: true,
            format: 'table',
            editorMode: 'code',
          },
        ],
        transformations: [
          {
            id: 'organize',
            options: {
              excludeByName: {
                Time: true,
              },
              indexByName: {
                error_class: 0,
                retryable: 1,
                Value: 2,
              },
              renameByName: {
                error_class: 'Class',
                retryable: 'Retryable',
                Value: 'Failed',
              },
            },
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 'short',
            color: {
              mode: 'thresholds',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'red',
                  value: null,
                },
              ],
            },
            custom: {
              align: 'auto',
              cellOptions: {
                type: 'color-text',
              },
              inspect: false,
            },
          },
          overrides: [
            {
              // Retryable, by colour: green retries, red does not, orange is to be read.
              matcher: {
                id: 'byName',
                options: 'Retryable',
              },
              properties: [
                {
                  id: 'mappings',
                  value: [
                    {
                      type: 'value',
                      options: {
                        'true': { color: 'green', index: 0 },
                        'false': { color: 'red', index: 1 },
                        unknown: { color: 'orange', index: 2 },
                      },
                    },
                  ],
                },
              ],
            },
          ],
        },
        options: {
          showHeader: true,
          cellHeight: 'sm',
          footer: {
            show: false,
            reducer: [
              'sum',
            ],
            fields: '',
          },
          sortBy: [
            {
              displayName: 'Failed',
              desc: true,
            },
          ],
        },
      },
      {
        id: 19,
        type: 'timeseries',
        title: 'ETA per instance, with its range',
        description: 'When each instance ends, over time: the expected ETA (its remaining uploads over its rate in the last hour, job_instance_id:migration_eta:seconds) and its range, from the 90th percentile of its 5-minute rates in the hour (earliest, job_instance_id:migration_eta_low:seconds) to the 10th (latest, job_instance_id:migration_eta_high:seconds). The latest finish is missing while the instance completed nothing in some 5 minutes of the hour: the range has no upper bound then. The band narrows as the rate steadies.',
        datasource: datasource,
        gridPos: {
          x: 0,
          y: 51,
          w: 12,
          h: 9,
        },
        targets: [
          {
            datasource: datasource,
            refId: 'A',
            expr: 'job_instance_id:migration_eta:seconds{job=~"$job", instance_id=~"$instance_id", instance_id!=""}',
            legendFormat: 'instance {{instance_id}}',
            range: true,
            instant: false,
            format: 'time_series',
            editorMode: 'code',
          },
          {
            datasource: datasource,
            refId: 'B',
            expr: 'job_instance_id:migration_eta_low:seconds{job=~"$job", instance_id=~"$instance_id", instance_id!=""}',
            legendFormat: 'instance {{instance_id}} earliest',
            range: true,
            instant: false,
            format: 'time_series',
            editorMode: 'code',
          },
          {
            datasource: datasource,
            refId: 'C',
            expr: 'job_instance_id:migration_eta_high:seconds{job=~"$job", instance_id=~"$instance_id", instance_id!=""}',
            legendFormat: 'instance {{instance_id}} latest',
            range: true,
            instant: false,
            format: 'time_series',
            editorMode: 'code',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 's',
            color: {
              mode: 'palette-classic',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'green',
                  value: null,
                },
              ],
            },
            min: 0,
            custom: {
              drawStyle: 'line',
              lineWidth: 1,
              fillOpacity: 0,
              showPoints: 'never',
              spanNulls: false,
              axisPlacement: 'auto',
              stacking: {
                mode: 'none',
                group: 'A',
              },
              thresholdsStyle: {
                mode: 'off',
              },
            },
          },
          overrides: [
            {
              matcher: {
                id: 'byRegexp',
                options: '.* (earliest|latest)$',
              },
              properties: [
                {
                  id: 'custom.lineStyle',
                  value: {
                    fill: 'dash',
                    dash: [
                      10,
                      10,
                    ],
                  },
                },
                {
                  id: 'custom.fillOpacity',
                  value: 10,
                },
              ],
            },
          ],
        },
        options: {
          legend: {
            displayMode: 'list',
            placement: 'bottom',
            showLegend: true,
          },
          tooltip: {
            mode: 'multi',
            sort: 'desc',
          },
        },
      },
      {
        id: 20,
        type: 'timeseries',
        title: 'Time per space by instance (p50 / p90)',
        description: 'How long completed spaces took, createdAt to the completing write, over the whole table: the median and the 90th percentile per instance from the histogram migration_space_duration_seconds (exact counts per bucket, interpolated inside a bucket). Spaces missing a timestamp are counted apart in migration_space_duration_unmeasured_spaces.',
        datasource: datasource,
        gridPos: {
          x: 12,
          y: 51,
          w: 12,
          h: 9,
        },
        targets: [
          {
            datasource: datasource,
            refId: 'A',
            expr: 'histogram_quantile(0.5, sum by (instance_id, le) (max without (instance, pod) (migration_space_duration_seconds_bucket{job=~"$job", instance_id=~"$instance_id", instance_id!=""})))',
            legendFormat: 'instance {{instance_id}} p50',
            range: true,
            instant: false,
            format: 'time_series',
            editorMode: 'code',
          },
          {
            datasource: datasource,
            refId: 'B',
            expr: 'histogram_quantile(0.9, sum by (instance_id, le) (max without (instance, pod) (migration_space_duration_seconds_bucket{job=~"$job", instance_id=~"$instance_id", instance_id!=""})))',
            legendFormat: 'instance {{instance_id}} p90',
            range: true,
            instant: false,
            format: 'time_series',
            editorMode: 'code',
          },
        ],
        fieldConfig: {
          defaults: {
            unit: 's',
            color: {
              mode: 'palette-classic',
            },
            thresholds: {
              mode: 'absolute',
              steps: [
                {
                  color: 'green',
                  value: null,
                },
              ],
            },
            min: 0,
            custom: {
              drawStyle: 'line',
              lineWidth: 1,
              fillOpacity: 0,
              showPoints: 'never',
              spanNulls: false,
              axisPlacement: 'auto',
              stacking: {
                mode: 'none',
                group: 'A',
              },
              thresholdsStyle: {
                mode: 'off',
              },
            },
          },
          overrides: [],
        },
        options: {
          legend: {
            displayMode: 'list',
            placement: 'bottom',
            showLegend: true,
          },
          tooltip: {
            mode: 'multi',
            sort: 'desc',
          },
        },
      },
      {
        id: 24,
        type: 'row',
        title: 'Exporter health',
        collapsed: true,
        gridPos: {
          x: 0,
          y: 60,
          w: 24,
          h: 1,
        },
        datasource: datasource,
        panels: [
          {
            id: 25,
            type: 'stat',
            title: 'Exporter up',
            description: 'Whether Prometheus can scrape the exporter (the up series of its job).' + runbookLink('migrationexporterdown'),
            datasource: datasource,
            gridPos: {
              x: 0,
              y: 61,
              w: 4,
              h: 6,
            },
            targets: [
              {
                datasource: datasource,
                refId: 'A',
                expr: 'up{job=~"$job"}',
                legendFormat: '{{instance}}',
                range: false,
                instant: true,
                format: 'time_series',
                editorMode: 'code',
              },
            ],
            fieldConfig: {
              defaults: {
                unit: 'none',
                color: {
                  mode: 'thresholds',
                },
                thresholds: {
                  mode: 'absolute',
                  steps: [
                    {
                      color: 'red',
                      value: null,
                    },
                    {
                      color: 'green',
                      value: 1,
                    },
                  ],
                },
                mappings: [
                  {
                    type: 'value',
                    options: {
                      '0': {
                        text: 'DOWN',
                        index: 0,
                      },
                      '1': {
                        text: 'UP',
                        index: 1,
                      },
                    },
                  },
                ],
              },
              overrides: [],
            },
            options: {
              reduceOptions: {
                calcs: [
                  'lastNotNull',
                ],
                fields: '',
                values: false,
              },
              colorMode: 'value',
              graphMode: 'none',
              justifyMode: 'auto',
              orientation: 'auto',
              textMode: 'auto',
            },
          },
          {
            id: 26,
            type: 'timeseries',
            title: 'Data age',
            description: "Time since the exporter's last successful read of DynamoDB. It restarts from 0 every --refresh.interval (30s by default); MigrationExporterDataStale fires above 5 minutes (the red line).",
            datasource: datasource,
            gridPos: {
              x: 4,
              y: 61,
              w: 10,
              h: 6,
            },
            targets: [
              {
                datasource: datasource,
                refId: 'A',
                expr: 'time() - migration_exporter_last_refresh_success_timestamp_seconds{job=~"$job"}',
                legendFormat: '{{instance}}',
                range: true,
                instant: false,
                format: 'time_series',
                editorMode: 'code',
              },
            ],
            fieldConfig: {
              defaults: {
                unit: 's',
                color: {
                  mode: 'thresholds',
                },
                thresholds: {
                  mode: 'absolute',
                  steps: [
                    {
                      color: 'green',
                      value: null,
                    },
                    {
                      color: 'red',
                      value: c.dataAgeWarningSeconds,
                    },
                  ],
                },
                min: 0,
                custom: {
                  drawStyle: 'line',
                  lineWidth: 1,
                  fillOpacity: 19,
                  showPoints: 'never',
                  spanNulls: false,
                  axisPlacement: 'auto',
                  stacking: {
                    mode: 'none',
                    group: 'A',
                  },
                  thresholdsStyle: {
                    mode: 'line',
                  },
                },
              },
              overrides: [],
            },
            options: {
              legend: {
                displayMode: 'list',
                placement: 'bottom',
                showLegend: true,
              },
              tooltip: {
                mode: 'multi',
                sort: 'desc',
              },
            },
          },
          {
            id: 27,
            type: 'timeseries',
            title: 'Refresh duration',
            description: 'How long the last successful refresh of each kind took (full: a parallel Scan of the whole table).',
            datasource: datasource,
            gridPos: {
              x: 14,
              y: 61,
              w: 10,
              h: 6,
            },
            targets: [
              {
                datasource: datasource,
                refId: 'A',
                expr: 'migration_exporter_refresh_duration_seconds{job=~"$job"}',
                legendFormat: '{{instance}} {{kind}}',
                range: true,
                instant: false,
                format: 'time_series',
                editorMode: 'code',
              },
            ],
            fieldConfig: {
              defaults: {
                unit: 's',
                color: {
                  mode: 'palette-classic',
                },
                thresholds: {
                  mode: 'absolute',
                  steps: [
                    {
                      color: 'green',
                      value: null,
                    },
                  ],
                },
                min: 0,
                custom: {
                  drawStyle: 'line',
                  lineWidth: 1,
                  fillOpacity: 19,
                  showPoints: 'never',
                  spanNulls: false,
                  axisPlacement: 'auto',
                  stacking: {
                    mode: 'none',
                    group: 'A',
                  },
                  thresholdsStyle: {
                    mode: 'off',
                  },
                },
              },
              overrides: [],
            },
            options: {
              legend: {
                displayMode: 'list',
                placement: 'bottom',
                showLegend: true,
              },
              tooltip: {
                mode: 'multi',
                sort: 'desc',
              },
            },
          },
          {
            id: 28,
            type: 'timeseries',
            title: 'Refresh errors per minute',
            description: 'Failed refreshes by kind of error (throttled, timeout, network, credentials, table_not_found, ...). A failed refresh keeps the last good data and is retried with backoff.',
            datasource: datasource,
            gridPos: {
              x: 0,
              y: 67,
              w: 6,
              h: 6,
            },
            targets: [
              {
                datasource: datasource,
                refId: 'A',
                expr: 'sum by (instance, kind) (rate(migration_exporter_refresh_errors_total{job=~"$job"}[$__rate_interval])) * 60',
                legendFormat: '{{instance}} {{kind}}',
                range: true,
                instant: false,
                format: 'time_series',
                editorMode: 'code',
              },
            ],
            fieldConfig: {
              defaults: {
                unit: 'suffix: errors/min',
                color: {
                  mode: 'palette-classic',
                },
                thresholds: {
                  mode: 'absolute',
                  steps: [
                    {
                      color: 'green',
                      value: null,
                    },
                  ],
                },
                min: 0,
                custom: {
                  drawStyle: 'line',
                  lineWidth: 1,
                  fillOpacity: 19,
                  showPoints: 'never',
                  spanNulls: false,
                  axisPlacement: 'auto',
                  stacking: {
                    mode: 'none',
                    group: 'A',
                  },
                  thresholdsStyle: {
                    mode: 'off',
                  },
                },
              },
              overrides: [],
            },
            options: {
              legend: {
                displayMode: 'list',
                placement: 'bottom',
                showLegend: true,
              },
              tooltip: {
                mode: 'multi',
                sort: 'desc',
              },
            },
          },
          {
            id: 29,
            type: 'timeseries',
            title: 'Read capacity units per second',
            description: "DynamoDB read capacity the exporter consumes, by operation, as DynamoDB reports it; the migration's workers use the same table.",
            datasource: datasource,
            gridPos: {
              x: 6,
              y: 67,
              w: 6,
              h: 6,
            },
            targets: [
              {
                datasource: datasource,
                refId: 'A',
                expr: 'sum by (instance, operation) (rate(migration_exporter_read_capacity_units_total{job=~"$job"}[$__rate_interval]))',
                legendFormat: '{{instance}} {{operation}}',
                range: true,
                instant: false,
                format: 'time_series',
                editorMode: 'code',
              },
            ],
            fieldConfig: {
              defaults: {
                unit: 'suffix: RCU/s',
                color: {
                  mode: 'palette-classic',
                },
                thresholds: {
                  mode: 'absolute',
                  steps: [
                    {
                      color: 'green',
                      value: null,
                    },
                  ],
                },
                min: 0,
                custom: {
                  drawStyle: 'line',
                  lineWidth: 1,
                  fillOpacity: 19,
                  showPoints: 'never',
                  spanNulls: false,
                  axisPlacement: 'auto',
                  stacking: {
                    mode: 'none',
                    group: 'A',
                  },
                  thresholdsStyle: {
                    mode: 'off',
                  },
                },
              },
              overrides: [],
            },
            options: {
              legend: {
                displayMode: 'list',
                placement: 'bottom',
                showLegend: true,
              },
              tooltip: {
                mode: 'multi',
                sort: 'desc',
              },
            },
          },
          {
            id: 30,
            type: 'timeseries',
            title: 'Items read per second',
            description: "Items the exporter's refreshes read from DynamoDB, by kind of refresh.",
            datasource: datasource,
            gridPos: {
              x: 12,
              y: 67,
              w: 6,
              h: 6,
            },
            targets: [
              {
                datasource: datasource,
                refId: 'A',
                expr: 'sum by (instance, kind) (rate(migration_exporter_items_read_total{job=~"$job"}[$__rate_interval]))',
                legendFormat: '{{instance}} {{kind}}',
                range: true,
                instant: false,
                format: 'time_series',
                editorMode: 'code',
              },
            ],
            fieldConfig: {
              defaults: {
                unit: 'suffix: items/s',
                color: {
                  mode: 'palette-classic',
                },
                thresholds: {
                  mode: 'absolute',
                  steps: [
                    {
                      color: 'green',
                      value: null,
                    },
                  ],
                },
                min: 0,
                custom: {
                  drawStyle: 'line',
                  lineWidth: 1,
                  fillOpacity: 19,
                  showPoints: 'never',
                  spanNulls: false,
                  axisPlacement: 'auto',
                  stacking: {
                    mode: 'none',
                    group: 'A',
                  },
                  thresholdsStyle: {
                    mode: 'off',
                  },
                },
              },
              overrides: [],
            },
            options: {
              legend: {
                displayMode: 'list',
                placement: 'bottom',
                showLegend: true,
              },
              tooltip: {
                mode: 'multi',
                sort: 'desc',
              },
            },
          },
          {
            id: 31,
            type: 'timeseries',
            title: 'Invalid items read per minute',
            description: 'Items read with a problem (missing or unknown status, mistyped attribute, ...), by reason. They are still counted; --log.level debug logs each.' + runbookLink('migrationinvaliditems'),
            datasource: datasource,
            gridPos: {
              x: 18,
              y: 67,
              w: 6,
              h: 6,
            },
            targets: [
              {
                datasource: datasource,
                refId: 'A',
                expr: 'sum by (instance, reason) (rate(migration_exporter_invalid_items_total{job=~"$job"}[$__rate_interval])) * 60',
                legendFormat: '{{instance}} {{reason}}',
                range: true,
                instant: false,
                format: 'time_series',
                editorMode: 'code',
              },
            ],
            fieldConfig: {
              defaults: {
                unit: 'suffix: items/min',
                color: {
                  mode: 'palette-classic',
                },
                thresholds: {
                  mode: 'absolute',
                  steps: [
                    {
                      color: 'green',
                      value: null,
                    },
                  ],
                },
                min: 0,
                custom: {
                  drawStyle: 'line',
                  lineWidth: 1,
                  fillOpacity: 19,
                  showPoints: 'never',
                  spanNulls: false,
                  axisPlacement: 'auto',
                  stacking: {
                    mode: 'none',
                    group: 'A',
                  },
                  thresholdsStyle: {
                    mode: 'off',
                  },
                },
              },
              overrides: [],
            },
            options: {
              legend: {
                displayMode: 'list',
                placement: 'bottom',
                showLegend: true,
              },
              tooltip: {
                mode: 'multi',
                sort: 'desc',
              },
            },
          },
        ],
      },
    ],
    refresh: c.dashboardRefresh,
    schemaVersion: 39,
    tags: c.dashboardTags,
    templating: {
      list: [
        {
          name: 'datasource',
          label: 'Data source',
          type: 'datasource',
          query: 'prometheus',
          current: {},
          hide: 0,
          includeAll: false,
          multi: false,
          options: [],
          refresh: 1,
          regex: '',
          skipUrlSync: false,
        },
        {
          name: 'job',
          label: 'Job',
          type: 'query',
          datasource: datasource,
          definition: 'label_values(migration_exporter_build_info, job)',
          query: {
            qryType: 1,
            query: 'label_values(migration_exporter_build_info, job)',
            refId: 'PrometheusVariableQueryEditor-VariableQuery',
          },
          current: {
            selected: false,
            text: c.jobName,
            value: c.jobName,
          },
          hide: 0,
          includeAll: false,
          multi: false,
          options: [],
          refresh: 2,
          regex: '',
          skipUrlSync: false,
          sort: 1,
        },
        {
          name: 'instance_id',
          label: 'Instance',
          type: 'query',
          datasource: datasource,
          definition: 'label_values(migration_spaces{job=~"$job"}, instance_id)',
          query: {
            qryType: 1,
            query: 'label_values(migration_spaces{job=~"$job"}, instance_id)',
            refId: 'PrometheusVariableQueryEditor-VariableQuery',
          },
          current: {
            selected: true,
            text: [
              'All',
            ],
            value: [
              '$__all',
            ],
          },
          hide: 0,
          includeAll: true,
          allValue: '.*',
          multi: true,
          options: [],
          refresh: 2,
          regex: '',
          skipUrlSync: false,
          sort: 3,
        },
      ],
    },
    time: {
      from: 'now-24h',
      to: 'now',
    },
    timepicker: {},
    timezone: 'browser',
    title: 'Migration overview',
    uid: c.dashboardUid,
    version: 1,
    weekStart: '',
  }
