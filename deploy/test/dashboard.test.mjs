// The Grafana dashboard: valid JSON, generated from deploy/grafana/build-dashboard.mjs, every
// panel queries something, and every metric it queries is in the documented list (which
// deploy/grafana/README.md asks to check against a running node's /metrics).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DASHBOARD_PATHS, dashboardJson, METRICS } from '../grafana/build-dashboard.mjs';
import { ROOT } from '../testing/chart.mjs';

const text = readFileSync(join(ROOT, 'deploy/grafana/dashboards/mqtt-broker.json'), 'utf8');
const dashboard = JSON.parse(text);
const panels = dashboard.panels.filter((p) => p.type !== 'row');
// Grafana's variable syntax, not a JavaScript template placeholder.
const DATASOURCE_VAR = ['$', '{datasource}'].join('');

// Metric names in a PromQL expression: identifiers that are neither functions, keywords,
// label names inside {...} or by (...), nor Grafana variables.
function metricNames(expr) {
  const stripped = expr
    .replace(/\{[^}]*\}/g, '')
    .replace(/\b(by|without)\s*\([^)]*\)/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/"[^"]*"/g, '');
  const words = stripped.match(/[A-Za-z_:][A-Za-z0-9_:]*/g) ?? [];
  const notMetrics = new Set(['sum', 'max', 'min', 'avg', 'rate', 'increase', 'histogram_quantile', 'le', 'irate', 'count']);
  return words.filter((w) => !notMetrics.has(w));
}

test('both committed copies are exactly what build-dashboard.mjs produces', () => {
  for (const path of DASHBOARD_PATHS) {
    assert.equal(readFileSync(join(ROOT, path), 'utf8'), dashboardJson(), `${path}: run node deploy/grafana/build-dashboard.mjs`);
  }
});

test('the dashboard has a uid, a datasource variable and a node variable', () => {
  assert.equal(dashboard.uid, 'mqtt-broker');
  const vars = Object.fromEntries(dashboard.templating.list.map((v) => [v.name, v]));
  assert.equal(vars.datasource.type, 'datasource');
  assert.equal(vars.datasource.query, 'prometheus');
  assert.match(vars.instance.query.query, /^label_values\(mqtt_connected_clients, instance\)$/);
});

test('every panel has at least one non-empty Prometheus query, a unique id and fits the grid', () => {
  const ids = new Set();
  for (const p of dashboard.panels) {
    assert.ok(!ids.has(p.id), `duplicate id ${p.id}`);
    ids.add(p.id);
    assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title} fits 24 columns`);
  }
  assert.ok(panels.length >= 20);
  for (const p of panels) {
    assert.ok(p.title, 'panel title');
    assert.ok(Array.isArray(p.targets) && p.targets.length > 0, `${p.title}: no query`);
    for (const t of p.targets) {
      assert.ok(t.expr && t.expr.trim().length > 0, `${p.title}: empty query`);
      assert.equal(t.datasource.uid, DATASOURCE_VAR);
      assert.ok(metricNames(t.expr).length > 0, `${p.title}: no metric in ${t.expr}`);
      // Balanced brackets: a broken query shows as an error panel in Grafana.
      for (const [o, c] of ['()', '{}', '[]']) {
        assert.equal(t.expr.split(o).length, t.expr.split(c).length, `${p.title}: unbalanced ${o}${c} in ${t.expr}`);
      }
    }
  }
});

test('the panels the issue asks for are there', () => {
  const titles = panels.map((p) => p.title.toLowerCase()).join('\n');
  for (const wanted of [
    'connected clients per node',
    'rejected connects',
    'disconnects',
    'messages in by qos',
    'messages out by qos',
    'dropped messages by reason',
    'forwarded to other nodes',
    'redis command latency',
    'stream lag',
    'sessions',
    'retained',
    'event loop lag',
    'memory',
  ]) {
    assert.ok(titles.includes(wanted), `no panel for "${wanted}"`);
  }
});

test('queried metrics are exactly the documented list: mqtt_ names, and Node process metrics', () => {
  const queried = new Set(panels.flatMap((p) => p.targets.flatMap((t) => metricNames(t.expr))));
  const listed = new Set(Object.values(METRICS).flat());
  assert.deepEqual([...queried].sort(), [...listed].sort());
  for (const name of [...METRICS.broker, ...METRICS.cluster]) assert.match(name, /^mqtt_[a-z0-9_]+$/);
  for (const name of METRICS.process) assert.match(name, /^(process|nodejs)_[a-z0-9_]+$/);
  const readme = readFileSync(join(ROOT, 'deploy/grafana/README.md'), 'utf8');
  for (const name of listed) assert.ok(readme.includes(`\`${name}\``), `${name} missing from deploy/grafana/README.md`);
});

test('counters are only used through rate() or increase()', () => {
  for (const p of panels) {
    for (const t of p.targets) {
      for (const m of t.expr.matchAll(/(\w*)\(?(mqtt_[a-z0-9_]+_total)\b/g)) {
        const before = t.expr.slice(0, m.index + m[0].length - m[2].length);
        assert.match(before, /(rate|increase)\($/, `${p.title}: ${m[2]} without rate()`);
      }
    }
  }
});
