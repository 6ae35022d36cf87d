// Static checks of helm/mqtt-broker that need no template engine: Chart.yaml, every value a
// template reads exists in values.yaml, values.yaml documents its keys, the dashboard copy.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CHART_DIR, ROOT, readYaml, templateSources } from '../testing/chart.mjs';

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

test('Chart.yaml is a valid v2 chart with a semver version and an appVersion', () => {
  const chart = readYaml(join(CHART_DIR, 'Chart.yaml'));
  assert.equal(chart.apiVersion, 'v2');
  assert.equal(chart.name, 'mqtt-broker');
  assert.match(chart.version, SEMVER);
  assert.equal(typeof chart.appVersion, 'string');
  assert.ok(chart.appVersion.length > 0);
  assert.ok(['application', 'library'].includes(chart.type));
  const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  assert.equal(chart.appVersion, root.version, 'appVersion follows the repository version (the image tag)');
  for (const dep of chart.dependencies ?? []) {
    assert.match(dep.version, SEMVER, `${dep.name}: pin an exact version`);
    assert.ok(dep.repository, `${dep.name}: repository`);
    assert.ok(dep.condition, `${dep.name}: optional dependencies need a condition`);
    const [key] = dep.condition.split('.');
    assert.ok(Object.hasOwn(readYaml(join(CHART_DIR, 'values.yaml')), key), `condition ${dep.condition} is in values.yaml`);
  }
});

function valueReferences() {
  const refs = new Map();
  for (const [file, src] of Object.entries(templateSources())) {
    for (const m of src.matchAll(/\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
      const path = m[1].slice(1);
      if (!refs.has(path)) refs.set(path, new Set());
      refs.get(path).add(file);
    }
  }
  return refs;
}

test('templates reference values', () => {
  assert.ok(valueReferences().size > 50);
});

test('every .Values path referenced by a template exists in values.yaml', () => {
  const values = readYaml(join(CHART_DIR, 'values.yaml'));
  const missing = [];
  for (const [path, files] of valueReferences()) {
    let cur = values;
    for (const key of path.split('.')) {
      if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, key)) {
        missing.push(`${path} (${[...files].join(', ')})`);
        break;
      }
      cur = cur[key];
    }
  }
  assert.deepEqual(missing, []);
});

test('every key of values.yaml is read by a template or passed to the redis subchart', () => {
  const values = readYaml(join(CHART_DIR, 'values.yaml'));
  const refs = [...valueReferences().keys()];
  const unused = [];
  const walk = (obj, prefix) => {
    for (const [k, v] of Object.entries(obj)) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (path.startsWith('redis.') && !refs.includes(path)) continue; // subchart values
      const used = refs.some((r) => r === path || r.startsWith(`${path}.`) || path.startsWith(`${r}.`));
      if (!used) unused.push(path);
      else if (v && typeof v === 'object' && !Array.isArray(v) && !refs.includes(path)) walk(v, path);
    }
  };
  walk(values, '');
  assert.deepEqual(unused, []);
});

test('values.yaml is documented line by line', () => {
  // Each key line has a comment directly above it, or its parent key has one (a documented
  // block such as resources or securityContext), or it sits in a list.
  const lines = readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8').split('\n');
  const undocumented = [];
  const stack = []; // [indent, documented]
  lines.forEach((line, i) => {
    const m = line.match(/^(\s*)([A-Za-z0-9_.-]+):/);
    if (!m || line.trim().startsWith('#') || line.trim().startsWith('-')) return;
    const indent = m[1].length;
    while (stack.length > 0 && stack[stack.length - 1][0] >= indent) stack.pop();
    let j = i - 1;
    while (j >= 0 && lines[j].trim() === '') j--;
    const commented = j >= 0 && lines[j].trim().startsWith('#');
    const parentDocumented = stack.length > 0 && stack[stack.length - 1][1];
    if (!commented && !parentDocumented) undocumented.push(`${i + 1}: ${line.trim()}`);
    stack.push([indent, commented || parentDocumented]);
  });
  assert.deepEqual(undocumented, []);
});

test('the chart ships the same Grafana dashboard as deploy/grafana', () => {
  const a = readFileSync(join(ROOT, 'deploy/grafana/dashboards/mqtt-broker.json'), 'utf8');
  const b = readFileSync(join(CHART_DIR, 'dashboards/mqtt-broker.json'), 'utf8');
  assert.equal(b, a, 'run: node deploy/grafana/build-dashboard.mjs');
});

test('templates use only balanced {{ }} and declare no default-less required value', () => {
  for (const [file, src] of Object.entries(templateSources())) {
    const opens = src.match(/\{\{/g)?.length ?? 0;
    const closes = src.match(/\}\}/g)?.length ?? 0;
    assert.equal(opens, closes, file);
  }
});
