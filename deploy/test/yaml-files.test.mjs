// Every YAML file of deploy/ and of the chart (except templates/, which are Go templates and are
// rendered by chart-render.test.mjs) parses, as YAML 1.1 like Helm and Kubernetes read them.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { ROOT } from '../testing/chart.mjs';

function yamlFiles(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== 'templates' && name !== 'node_modules') yamlFiles(path, out);
    } else if (/\.ya?ml$/.test(name)) out.push(path);
  }
  return out;
}

const files = [...yamlFiles(join(ROOT, 'deploy')), ...yamlFiles(join(ROOT, 'helm'))];

test('the deploy and chart directories have the expected YAML files', () => {
  const names = files.map((f) => relative(ROOT, f));
  for (const expected of [
    'deploy/prometheus.yml',
    'deploy/grafana/provisioning/datasources/prometheus.yml',
    'deploy/grafana/provisioning/dashboards/mqtt-broker.yml',
    'helm/mqtt-broker/Chart.yaml',
    'helm/mqtt-broker/values.yaml',
    'helm/mqtt-broker/ci/production-values.yaml',
  ]) {
    assert.ok(names.includes(expected), `${expected} is missing`);
  }
});

for (const file of files) {
  test(`${relative(ROOT, file)} parses`, () => {
    const docs = parseAllDocuments(readFileSync(file, 'utf8'), { version: '1.1' });
    assert.ok(docs.length > 0);
    for (const doc of docs) assert.deepEqual(doc.errors, [], doc.errors.map((e) => e.message).join('\n'));
    assert.equal(typeof docs[0].toJS(), 'object');
  });
}

test('/docker-compose.yml: redis, three broker nodes on it, HAProxy and Prometheus', () => {
  const docs = parseAllDocuments(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { version: '1.1' });
  for (const doc of docs) assert.deepEqual(doc.errors, [], doc.errors.map((e) => e.message).join('\n'));
  const { services } = docs[0].toJS({ maxAliasCount: 100 });
  for (const name of ['redis', 'broker1', 'broker2', 'broker3', 'haproxy', 'prometheus']) assert.ok(services[name], `service ${name}`);
  for (const name of ['broker1', 'broker2', 'broker3']) {
    assert.equal(services[name].environment.REDIS_URL, 'redis://redis:6379', `${name} is a cluster node`);
    assert.equal(services[name].environment.NODE_ID, name);
  }
  assert.deepEqual(services.haproxy.ports.slice(0, 2), ['1883:1883', '8083:8083']);
  assert.ok(services.haproxy.volumes.some((v) => v.startsWith('./deploy/haproxy.cfg:')));
  assert.ok(services.prometheus.volumes.some((v) => v.startsWith('./deploy/prometheus.yml:')));
});

test('prometheus.yml scrapes the three broker nodes on the HTTP port', () => {
  const [doc] = parseAllDocuments(readFileSync(join(ROOT, 'deploy/prometheus.yml'), 'utf8'));
  const job = doc.toJS().scrape_configs.find((j) => j.job_name === 'mqtt-broker');
  assert.deepEqual(job.static_configs[0].targets, ['broker1:9090', 'broker2:9090', 'broker3:9090']);
  assert.equal(job.metrics_path, '/metrics');
  // The relabelling makes `instance` the bare node name, as the dashboard legends expect.
  const rule = job.relabel_configs.find((r) => r.target_label === 'instance');
  assert.equal('broker2:9090'.replace(new RegExp(`^${rule.regex}$`), rule.replacement), 'broker2');
});
