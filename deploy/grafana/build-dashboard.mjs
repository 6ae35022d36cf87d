// Source of deploy/grafana/dashboards/mqtt-broker.json (and its copy in the Helm chart).
//
// Grafana dashboard JSON is verbose and easy to break by hand; this file states each panel once
// (title, unit, queries) and lays them out on the 24-column grid. Run it after an edit:
//   node deploy/grafana/build-dashboard.mjs
// deploy/test/dashboard.test.mjs fails when the committed JSON (either copy) differs from what
// this produces, and lists every metric name queried (METRICS below) for the check against a
// running node's /metrics (deploy/grafana/README.md).
//
// Conventions: `instance` is the node name (Prometheus relabels it: deploy/prometheus.yml, the
// chart's ServiceMonitor); every query is filtered by the $instance variable.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const F = '{instance=~"$instance"}';
const by = (labels, expr) => `sum by (${labels}) (${expr})`;
const rate = (metric, extra = '') => `rate(${metric}{instance=~"$instance"${extra}}[$__rate_interval])`;

// Every metric the dashboard queries, by where it comes from. Keep in sync with the panels: the
// test checks that each name used in a query is listed here and vice versa.
export const METRICS = {
  broker: [
    'mqtt_connected_clients',
    'mqtt_connections_accepted_total',
    'mqtt_connections_rejected_total',
    'mqtt_disconnects_total',
    'mqtt_messages_published_total',
    'mqtt_messages_delivered_total',
    'mqtt_messages_dropped_total',
    'mqtt_packets_received_total',
    'mqtt_packets_sent_total',
    'mqtt_bytes_received_total',
    'mqtt_bytes_sent_total',
    'mqtt_subscriptions',
    'mqtt_retained_messages',
    'mqtt_sessions',
    'mqtt_inflight_messages',
    'mqtt_queued_messages',
    'mqtt_limit_hits_total',
    'mqtt_protocol_violations_total',
    'mqtt_ready',
    'mqtt_connections_opened_total',
    'mqtt_connections_closed_before_connect_total',
    'mqtt_transport_rejections_total',
    'mqtt_transport_errors_total',
  ],
  // prom-client's collectDefaultMetrics() without a prefix (services/broker/src/metrics.ts).
  process: [
    'process_resident_memory_bytes',
    'nodejs_heap_size_used_bytes',
    'nodejs_external_memory_bytes',
    'process_cpu_seconds_total',
    'nodejs_eventloop_lag_p50_seconds',
    'nodejs_eventloop_lag_p99_seconds',
  ],
  cluster: [
    'mqtt_cluster_nodes',
    'mqtt_cluster_forwarded_messages_total',
    'mqtt_cluster_received_messages_total',
    'mqtt_redis_command_duration_seconds_bucket',
    'mqtt_cluster_stream_lag',
    'mqtt_redis_reconnects_total',
    'mqtt_session_takeovers_total',
    'mqtt_sessions_adopted_total',
  ],
};

let nextId = 1;
function target(expr, legend, refId) {
  return { datasource: { type: 'prometheus', uid: '${datasource}' }, expr, legendFormat: legend, range: true, refId };
}
function targets(queries) {
  return queries.map(([expr, legend], i) => target(expr, legend, String.fromCharCode(65 + i)));
}

function timeseries(title, unit, queries, { description, stack = false } = {}) {
  return {
    type: 'timeseries',
    title,
    description,
    datasource: { type: 'prometheus', uid: '${datasource}' },
    fieldConfig: {
      defaults: {
        unit,
        min: 0,
        custom: {
          drawStyle: 'line',
          lineWidth: 1,
          fillOpacity: stack ? 30 : 10,
          showPoints: 'never',
          stacking: { mode: stack ? 'normal' : 'none', group: 'A' },
        },
      },
      overrides: [],
    },
    options: {
      legend: { displayMode: 'table', placement: 'bottom', calcs: ['lastNotNull', 'max'] },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
    targets: targets(queries),
  };
}

function stat(title, unit, expr, description) {
  return {
    type: 'stat',
    title,
    description,
    datasource: { type: 'prometheus', uid: '${datasource}' },
    fieldConfig: { defaults: { unit, decimals: 0 }, overrides: [] },
    options: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'value',
      graphMode: 'area',
      textMode: 'auto',
    },
    targets: targets([[expr, title]]),
  };
}

function row(title) {
  return { type: 'row', title, collapsed: false, panels: [] };
}

// Rows of panels; each inner array is laid out left to right with equal widths.
const layout = [
  row('Overview'),
  [
    stat('Connected clients', 'short', `sum(mqtt_connected_clients${F})`, 'All nodes selected.'),
    stat('Ready nodes', 'short', `sum(mqtt_ready${F})`, 'Nodes whose /readyz is 200 (listeners up, not draining).'),
    stat('Cluster nodes', 'short', 'max(mqtt_cluster_nodes)', 'Live nodes as seen by the cluster membership (cluster mode only).'),
    stat('Messages in /s', 'short', `sum(${rate('mqtt_messages_published_total')})`, 'PUBLISH packets accepted from clients.'),
    stat('Messages out /s', 'short', `sum(${rate('mqtt_messages_delivered_total')})`, 'Messages delivered to subscribers.'),
    stat('Dropped /s', 'short', `sum(${rate('mqtt_messages_dropped_total')})`, 'Messages not delivered, any reason.'),
    stat('Retained messages', 'short', `max(mqtt_retained_messages${F})`, 'Retained messages (each node holds the whole set).'),
  ],
  row('Connections'),
  [
    timeseries('Connected clients per node', 'short', [[by('instance', `mqtt_connected_clients${F}`), '{{instance}}']], {
      description: 'A node far above the others after a restart means clients did not rebalance.',
    }),
    timeseries('Connects per second by transport', 'cps', [[by('transport', rate('mqtt_connections_accepted_total')), '{{transport}}']]),
  ],
  [
    timeseries('Rejected CONNECTs by reason', 'cps', [[by('reason', rate('mqtt_connections_rejected_total')), '{{reason}}']], {
      description: 'CONNACK with a failure reason code (MQTT 5 names; 3.1.1 return codes are mapped).',
      stack: true,
    }),
    timeseries('Disconnects by cause', 'cps', [[by('cause', rate('mqtt_disconnects_total')), '{{cause}}']], { stack: true }),
  ],
  [
    timeseries('Sockets opened and closed before CONNECT', 'cps', [
      [by('transport', rate('mqtt_connections_opened_total')), 'opened {{transport}}'],
      [by('cause', rate('mqtt_connections_closed_before_connect_total')), 'closed before CONNECT: {{cause}}'],
    ], { description: 'Many sockets closed before CONNECT: scanners, health checks without PROXY header, or clients timing out.' }),
    timeseries('Transport rejections and errors', 'cps', [
      [by('transport, reason', rate('mqtt_transport_rejections_total')), 'rejected {{transport}} {{reason}}'],
      [by('transport', rate('mqtt_transport_errors_total')), 'errors {{transport}}'],
    ], { description: 'Sockets the transport closed itself (bad PROXY header, refused WebSocket, TLS handshake) and socket errors.' }),
  ],
  row('Messages'),
  [
    timeseries('Messages in by QoS', 'short', [[by('qos', rate('mqtt_messages_published_total')), 'QoS {{qos}}']], {
      description: 'Per second.',
    }),
    timeseries('Messages out by QoS', 'short', [[by('qos', rate('mqtt_messages_delivered_total')), 'QoS {{qos}}']], {
      description: 'Per second.',
    }),
    timeseries('Dropped messages by reason', 'short', [[by('reason, qos', rate('mqtt_messages_dropped_total')), '{{reason}} (QoS {{qos}})']], {
      description: 'Per second. no_subscribers is normal; queue_full, client_slow and redis-related reasons are not.',
      stack: true,
    }),
  ],
  [
    timeseries('Packets per second by type', 'pps', [
      [by('type', rate('mqtt_packets_received_total')), 'in {{type}}'],
      [`-${by('type', rate('mqtt_packets_sent_total'))}`, 'out {{type}}'],
    ], { description: 'Received above zero, sent below.' }),
    timeseries('Network throughput', 'Bps', [
      [`sum(${rate('mqtt_bytes_received_total')})`, 'in'],
      [`sum(${rate('mqtt_bytes_sent_total')})`, 'out'],
    ]),
  ],
  row('Cluster and Redis'),
  [
    timeseries('Forwarded to other nodes', 'short', [[by('instance, peer', rate('mqtt_cluster_forwarded_messages_total')), '{{instance}} -> {{peer}}']], {
      description: 'Per second: messages this node sent to a peer node (pub/sub for QoS 0, stream for QoS 1/2).',
    }),
    timeseries('Received from other nodes', 'short', [[by('instance, peer', rate('mqtt_cluster_received_messages_total')), '{{instance}} <- {{peer}}']], {
      description: 'Per second.',
    }),
  ],
  [
    timeseries('Redis command latency', 's', [
      [`histogram_quantile(0.5, ${by('le', rate('mqtt_redis_command_duration_seconds_bucket'))})`, 'p50'],
      [`histogram_quantile(0.99, ${by('le', rate('mqtt_redis_command_duration_seconds_bucket'))})`, 'p99'],
      [`histogram_quantile(0.99, ${by('le, instance', rate('mqtt_redis_command_duration_seconds_bucket'))})`, 'p99 {{instance}}'],
    ]),
    timeseries('Inbox stream lag', 'short', [[by('instance', `mqtt_cluster_stream_lag${F}`), '{{instance}}']], {
      description: "Entries of the node's durable inbox (QoS 1/2 from other nodes) not yet secured. Should stay near 0.",
    }),
    timeseries('Redis reconnects, takeovers, adoptions', 'short', [
      [`sum(increase(mqtt_redis_reconnects_total${F}[$__rate_interval]))`, 'redis reconnects'],
      [`sum(increase(mqtt_session_takeovers_total{instance=~"$instance",side="took"}[$__rate_interval]))`, 'session takeovers'],
      [`sum(increase(mqtt_sessions_adopted_total${F}[$__rate_interval]))`, 'sessions adopted'],
    ], { description: 'Events per interval. Adoptions follow a node death; takeovers (counted on the taking side) follow client reconnects to another node.' }),
  ],
  row('State'),
  [
    timeseries('Sessions', 'short', [[by('state', `mqtt_sessions${F}`), '{{state}}']], { stack: true }),
    timeseries('Subscriptions and retained', 'short', [
      [`sum(mqtt_subscriptions${F})`, 'subscriptions'],
      [`max(mqtt_retained_messages${F})`, 'retained'],
    ]),
    timeseries('In flight and queued', 'short', [
      [by('instance', `mqtt_inflight_messages${F}`), 'in flight {{instance}}'],
      [by('instance', `mqtt_queued_messages${F}`), 'queued {{instance}}'],
    ], { description: 'QoS 1/2 messages awaiting acknowledgement, and messages queued for offline or slow sessions.' }),
  ],
  row('Node runtime'),
  [
    timeseries('Event loop lag', 's', [
      [by('instance', `nodejs_eventloop_lag_p99_seconds${F}`), 'p99 {{instance}}'],
      [by('instance', `nodejs_eventloop_lag_p50_seconds${F}`), 'p50 {{instance}}'],
    ], { description: 'Above ~50 ms p99, every client on that node sees the delay.' }),
    timeseries('Memory', 'bytes', [
      [by('instance', `process_resident_memory_bytes${F}`), 'rss {{instance}}'],
      [by('instance', `nodejs_heap_size_used_bytes${F}`), 'heap used {{instance}}'],
      [by('instance', `nodejs_external_memory_bytes${F}`), 'external {{instance}}'],
    ]),
    timeseries('CPU', 'percentunit', [[by('instance', rate('process_cpu_seconds_total')), '{{instance}}']], {
      description: 'Cores used; Node runs the broker on one core.',
    }),
  ],
  [
    timeseries('Limits hit', 'short', [[by('limit', rate('mqtt_limit_hits_total')), '{{limit}}']], { stack: true }),
    timeseries('Protocol violations by reason code', 'short', [[by('reason', rate('mqtt_protocol_violations_total')), '{{reason}}']], {
      stack: true,
    }),
  ],
];

export function buildDashboard() {
  nextId = 1;
  const panels = [];
  let y = 0;
  for (const item of layout) {
    if (!Array.isArray(item)) {
      panels.push({ ...item, id: nextId++, gridPos: { h: 1, w: 24, x: 0, y } });
      y += 1;
      continue;
    }
    const w = Math.floor(24 / item.length);
    const h = item[0].type === 'stat' ? 4 : 8;
    item.forEach((panel, i) => {
      panels.push({ id: nextId++, gridPos: { h, w, x: i * w, y }, ...panel });
    });
    y += h;
  }
  return {
    title: 'MQTT broker',
    uid: 'mqtt-broker',
    description: 'Connections, messages, drops, cluster forwarding, Redis and runtime of the MQTT broker nodes.',
    tags: ['mqtt', 'broker'],
    timezone: 'browser',
    editable: true,
    graphTooltip: 1,
    refresh: '10s',
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-1h', to: 'now' },
    timepicker: {},
    annotations: { list: [] },
    links: [],
    templating: {
      list: [
        {
          name: 'datasource',
          label: 'Data source',
          type: 'datasource',
          query: 'prometheus',
          current: {},
          hide: 0,
          refresh: 1,
          options: [],
        },
        {
          name: 'instance',
          label: 'Node',
          type: 'query',
          datasource: { type: 'prometheus', uid: '${datasource}' },
          query: { query: 'label_values(mqtt_connected_clients, instance)', refId: 'nodes' },
          definition: 'label_values(mqtt_connected_clients, instance)',
          multi: true,
          includeAll: true,
          allValue: '.+',
          current: { selected: true, text: ['All'], value: ['$__all'] },
          refresh: 2,
          sort: 1,
          hide: 0,
          options: [],
        },
      ],
    },
    panels,
  };
}

export function dashboardJson() {
  return `${JSON.stringify(buildDashboard(), null, 2)}\n`;
}

export const DASHBOARD_PATHS = ['deploy/grafana/dashboards/mqtt-broker.json', 'helm/mqtt-broker/dashboards/mqtt-broker.json'];

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  for (const path of DASHBOARD_PATHS) writeFileSync(root + path, dashboardJson());
  console.log(`wrote ${DASHBOARD_PATHS.join(', ')}`);
}
