// Renders helm/mqtt-broker with the default values and with ci/production-values.yaml through the
// small Go-template interpreter of deploy/testing (not Helm: see helm/mqtt-broker/README.md) and
// checks what an operator would rely on in the resulting manifests.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { byKind, CHART_DIR, readYaml, renderChart } from '../testing/chart.mjs';

const production = readYaml(join(CHART_DIR, 'ci/production-values.yaml'));

function envOf(deployment) {
  const [container] = deployment.spec.template.spec.containers;
  return Object.fromEntries(container.env.map((e) => [e.name, e.value ?? e.valueFrom]));
}

test('default values render a working clustered installation', () => {
  const { manifests, notes } = renderChart();
  const kinds = manifests.map((m) => m.doc.kind).sort();
  assert.deepEqual(kinds, ['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Secret', 'Service', 'Service', 'ServiceAccount']);
  for (const { doc } of manifests) {
    assert.ok(doc.apiVersion && doc.metadata?.name, `${doc.kind} has apiVersion and name`);
    assert.ok(doc.metadata.name.length <= 63, `${doc.metadata.name} fits a DNS label`);
    assert.equal(doc.metadata.labels['app.kubernetes.io/instance'], 'mqtt');
  }
  const [deployment] = byKind(manifests, 'Deployment');
  assert.equal(deployment.spec.replicas, 3);
  const env = envOf(deployment);
  assert.deepEqual(env.NODE_ID, { fieldRef: { fieldPath: 'metadata.name' } });
  // Every env value is a string (Kubernetes rejects numbers and YAML 1.1 booleans such as off).
  for (const [name, value] of Object.entries(env)) {
    if (typeof value !== 'object') assert.equal(typeof value, 'string', name);
  }
  assert.equal(env.MQTT_PORT, '1883');
  assert.equal(env.MQTT_TLS_PORT, 'off');
  assert.equal(env.MQTT_WSS_PORT, 'off');
  assert.equal(env.REDIS_URL, 'redis://mqtt-redis-master:6379', 'the bitnami subchart service of release "mqtt"');
  assert.deepEqual(env.REDIS_PASSWORD, { secretKeyRef: { name: 'mqtt-redis', key: 'redis-password' } });
  assert.equal(env.PROXY_PROTOCOL, 'false');
  assert.match(notes, /mosquitto_sub -h "\$MQTT_HOST" -p 1883/);
  assert.match(notes, /anonymous clients are allowed/);
});

test('terminationGracePeriodSeconds covers the preStop sleep, the drain and a margin', () => {
  for (const values of [{}, production, { broker: { drainSeconds: 120 }, lifecycle: { preStopSleepSeconds: 0 } }]) {
    const { manifests, values: v } = renderChart(values);
    const [deployment] = byKind(manifests, 'Deployment');
    const spec = deployment.spec.template.spec;
    const drain = Number(envOf(deployment).DRAIN_SECONDS);
    assert.equal(drain, v.broker.drainSeconds);
    assert.ok(spec.terminationGracePeriodSeconds > drain + v.lifecycle.preStopSleepSeconds);
    assert.equal(typeof spec.terminationGracePeriodSeconds, 'number');
    const preStop = spec.containers[0].lifecycle.preStop.exec.command;
    assert.deepEqual(preStop, ['/bin/sh', '-c', `sleep ${v.lifecycle.preStopSleepSeconds}`]);
  }
});

test('probes: readiness on /readyz, liveness and startup on /healthz, on the HTTP port', () => {
  const [deployment] = byKind(renderChart().manifests, 'Deployment');
  const [c] = deployment.spec.template.spec.containers;
  assert.equal(c.readinessProbe.httpGet.path, '/readyz');
  assert.equal(c.livenessProbe.httpGet.path, '/healthz');
  assert.equal(c.startupProbe.httpGet.path, '/healthz');
  const http = c.ports.find((p) => p.name === 'http');
  assert.equal(http.containerPort, 9090);
  assert.equal(c.readinessProbe.httpGet.port, 'http');
});

test('pods are spread: anti-affinity on hosts, topology spread on zones and hosts', () => {
  const [deployment] = byKind(renderChart().manifests, 'Deployment');
  const spec = deployment.spec.template.spec;
  const term = spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm;
  assert.equal(term.topologyKey, 'kubernetes.io/hostname');
  assert.deepEqual(term.labelSelector.matchLabels, deployment.spec.selector.matchLabels);
  assert.deepEqual(
    spec.topologySpreadConstraints.map((t) => t.topologyKey),
    ['topology.kubernetes.io/zone', 'kubernetes.io/hostname'],
  );
  assert.deepEqual(deployment.spec.template.metadata.labels, deployment.spec.selector.matchLabels);
  assert.equal(spec.securityContext.runAsNonRoot, true);
  assert.equal(spec.containers[0].securityContext.readOnlyRootFilesystem, true);
});

test('public LoadBalancer Service for MQTT, separate ClusterIP Service for metrics and gRPC', () => {
  const services = byKind(renderChart().manifests, 'Service');
  const pub = services.find((s) => s.spec.type === 'LoadBalancer');
  const internal = services.find((s) => s.spec.type === 'ClusterIP');
  assert.deepEqual(
    pub.spec.ports.map((p) => [p.name, p.port]),
    [
      ['mqtt', 1883],
      ['mqtt-ws', 8083],
    ],
  );
  assert.equal(pub.spec.externalTrafficPolicy, 'Local');
  assert.equal(pub.metadata.annotations, undefined);
  assert.deepEqual(
    internal.spec.ports.map((p) => [p.name, p.port]),
    [
      ['http', 9090],
      ['grpc', 9100],
    ],
  );
});

test('production values: external Redis Cluster, TLS, auth, PROXY protocol, HPA, ServiceMonitor', () => {
  const { manifests, notes } = renderChart(production);
  const [deployment] = byKind(manifests, 'Deployment');
  assert.equal(deployment.spec.replicas, undefined, 'the HPA owns the replica count');
  const env = envOf(deployment);
  assert.equal(env.REDIS_URL, undefined);
  assert.equal(env.REDIS_CLUSTER_NODES, production.externalRedis.clusterNodes.join(','));
  assert.deepEqual(env.REDIS_PASSWORD, { secretKeyRef: { name: 'mqtt-broker-redis', key: 'password' } });
  assert.equal(env.REDIS_TLS, 'true');
  assert.equal(env.REDIS_USERNAME, 'mqtt');
  assert.equal(env.PROXY_PROTOCOL, 'true');
  assert.equal(env.PROXY_PROTOCOL_LISTENERS, 'tcp,tls,ws,wss');
  assert.equal(env.ALLOW_ANONYMOUS, 'false');
  assert.equal(env.MQTT_TLS_PORT, '8883');
  assert.equal(env.MQTT_WS_PORT, 'off');
  assert.equal(env.MQTT_WSS_PORT, '8084');
  assert.equal(env.TLS_CERT, '/etc/mqtt-broker/tls/tls.crt');
  assert.equal(env.PASSWORD_FILE, '/etc/mqtt-broker/passwd/passwd');
  assert.equal(env.ACL_FILE, '/etc/mqtt-broker/acl/acl');
  assert.equal(env.MAX_CONNECTIONS, '200000');
  assert.equal(env.QUEUE_OVERFLOW, 'drop_oldest');
  assert.equal(env.UV_THREADPOOL_SIZE, '8');

  const spec = deployment.spec.template.spec;
  const mounts = Object.fromEntries(spec.containers[0].volumeMounts.map((m) => [m.name, m.mountPath]));
  const volumes = Object.fromEntries(spec.volumes.map((v) => [v.name, v]));
  for (const name of ['passwd', 'acl', 'tls', 'redis-ca']) assert.ok(mounts[name] && volumes[name], name);
  assert.equal(volumes.passwd.secret.secretName, 'mqtt-broker-passwd');
  assert.equal(volumes.passwd.secret.defaultMode, 0o440);
  assert.equal(volumes.tls.secret.secretName, 'mqtt-example-com-tls');
  // No subPath: mounted directories see ConfigMap/Secret updates, which SIGHUP then reloads.
  assert.ok(spec.containers[0].volumeMounts.every((m) => m.subPath === undefined));

  const acl = byKind(manifests, 'ConfigMap').find((c) => c.data.acl);
  assert.match(acl.data.acl, /^pattern write devices\/%u\/telemetry\/#$/m);
  assert.equal(acl.data.acl, production.auth.acl);

  const pub = byKind(manifests, 'Service').find((s) => s.spec.type === 'LoadBalancer');
  assert.equal(pub.metadata.annotations['service.beta.kubernetes.io/aws-load-balancer-proxy-protocol'], '*');
  assert.equal(pub.metadata.annotations['service.beta.kubernetes.io/aws-load-balancer-nlb-target-type'], 'ip');
  assert.deepEqual(
    pub.spec.ports.map((p) => p.port),
    [1883, 8883, 8084],
  );

  const [hpa] = byKind(manifests, 'HorizontalPodAutoscaler');
  assert.equal(hpa.spec.scaleTargetRef.name, deployment.metadata.name);
  assert.equal(hpa.spec.minReplicas, 6);
  const pods = hpa.spec.metrics.find((m) => m.type === 'Pods');
  assert.equal(pods.pods.metric.name, 'mqtt_connected_clients');
  assert.equal(pods.pods.target.averageValue, '150000');
  assert.equal(hpa.spec.behavior.scaleDown.policies[0].value, 1);

  const [monitor] = byKind(manifests, 'ServiceMonitor');
  assert.equal(monitor.metadata.labels.release, 'kube-prometheus-stack');
  assert.equal(monitor.spec.endpoints[0].port, 'http');
  const internal = byKind(manifests, 'Service').find((s) => s.spec.type === 'ClusterIP');
  for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels)) assert.equal(internal.metadata.labels[k], v);
  assert.ok(Object.entries(monitor.spec.selector.matchLabels).some(([k, v]) => pub.metadata.labels[k] !== v), 'selects only the internal Service');

  const [pdb] = byKind(manifests, 'PodDisruptionBudget');
  assert.equal(pdb.spec.maxUnavailable, 1);
  assert.doesNotMatch(notes, /anonymous clients are allowed/);
  assert.match(notes, /-u USER -P PASSWORD/);
  assert.match(notes, /expects a PROXY header on its tcp, tls, ws, wss listeners/);
  assert.doesNotMatch(notes, /its clients will fail/);
  const wssViaIngress = { ...production, proxyProtocol: { ...production.proxyProtocol, listeners: ['tcp', 'tls', 'ws'] } };
  assert.equal(envOf(byKind(renderChart(wssViaIngress).manifests, 'Deployment')[0]).PROXY_PROTOCOL_LISTENERS, 'tcp,tls,ws');
  assert.match(renderChart(wssViaIngress).notes, /its clients will fail/, 'a Service port whose listener skips the header behind the NLB is flagged');
  const wssOff = { ...wssViaIngress, ports: { ...production.ports, wss: { enabled: false } } };
  assert.doesNotMatch(renderChart(wssOff).notes, /its clients will fail/);
});

test('the dashboard ConfigMap carries the dashboard JSON for the Grafana sidecar', () => {
  const cm = byKind(renderChart().manifests, 'ConfigMap').find((c) => c.data['mqtt-broker.json']);
  assert.equal(cm.metadata.labels.grafana_dashboard, '1');
  const dashboard = JSON.parse(cm.data['mqtt-broker.json']);
  assert.equal(dashboard.uid, 'mqtt-broker');
});

test('secrets created by the chart hold base64 of the given content', () => {
  const values = {
    auth: { passwordFile: 'alice:$7$101$abc$def\n', acl: 'topic read #\n' },
    broker: { allowAnonymous: false },
    tls: { enabled: true, cert: 'CERT', key: 'KEY' },
    ports: { mqttTls: { enabled: true } },
    redis: { enabled: false },
    externalRedis: { url: 'rediss://redis.example:6380/0', password: 's3cret' },
  };
  const { manifests } = renderChart(values);
  const secrets = Object.fromEntries(byKind(manifests, 'Secret').map((s) => [s.metadata.name, s]));
  const b64 = (s) => Buffer.from(s).toString('base64');
  assert.equal(secrets['mqtt-mqtt-broker-passwd'].data.passwd, b64(values.auth.passwordFile));
  assert.equal(secrets['mqtt-mqtt-broker-tls'].type, 'kubernetes.io/tls');
  assert.equal(secrets['mqtt-mqtt-broker-tls'].data['tls.crt'], b64('CERT'));
  assert.equal(secrets['mqtt-mqtt-broker-redis'].data['redis-password'], b64('s3cret'));
  const env = envOf(byKind(manifests, 'Deployment')[0]);
  assert.equal(env.REDIS_URL, 'rediss://redis.example:6380/0');
  assert.deepEqual(env.REDIS_PASSWORD, { secretKeyRef: { name: 'mqtt-mqtt-broker-redis', key: 'redis-password' } });
  assert.equal(env.TLS_CA, undefined, 'no CA given');
  // A changed password file rolls the pods only when asked to.
  const annotations = (v) => byKind(renderChart(v).manifests, 'Deployment')[0].spec.template.metadata.annotations;
  assert.equal(annotations(values)['checksum/auth'], undefined);
  const rolled = annotations({ ...values, auth: { ...values.auth, rolloutOnChange: true } })['checksum/auth'];
  assert.match(rolled, /^[0-9a-f]{64}$/);
});

test('large limits are rendered as integers, not in Go float notation', () => {
  const { manifests } = renderChart({ broker: { limits: { MAX_CONNECTIONS: 2000000, MAX_PACKET_SIZE: 268435455 } } });
  const env = envOf(byKind(manifests, 'Deployment')[0]);
  assert.equal(env.MAX_CONNECTIONS, '2000000');
  assert.equal(env.MAX_PACKET_SIZE, '268435455');
});

test('settings that cannot work are refused with a message naming them', () => {
  const cases = [
    [{ redis: { enabled: false } }, /replicaCount > 1 or autoscaling needs Redis/],
    [{ redis: { enabled: false }, replicaCount: 1, autoscaling: { enabled: true } }, /needs Redis/],
    [{ externalRedis: { url: 'redis://x:6379' } }, /either redis.enabled or externalRedis/],
    [{ ports: { wss: { enabled: true } } }, /need tls.enabled/],
    [{ tls: { enabled: true } }, /tls.existingSecret or both tls.cert and tls.key/],
    [{ broker: { allowAnonymous: false } }, /allowAnonymous=false needs auth.passwordFile/],
    [{ admin: { tls: true } }, /admin.tls needs tls.enabled/],
    [{ admin: { token: 'short' } }, /admin.token must be at least 16 characters/],
  ];
  for (const [values, message] of cases) assert.throws(() => renderChart(values), message);
});

test('single-node mode: no Redis, one replica, no Redis environment', () => {
  const { manifests, notes } = renderChart({ redis: { enabled: false }, replicaCount: 1 });
  const env = envOf(byKind(manifests, 'Deployment')[0]);
  assert.equal(env.REDIS_URL, undefined);
  assert.equal(env.REDIS_PASSWORD, undefined);
  assert.match(notes, /single in-memory node/);
});

test('the admin API listens on 0.0.0.0 in the pods and needs a token from a Secret (generated when not given)', () => {
  const adminOf = (values) => {
    const { manifests, notes } = renderChart(values);
    const deployment = byKind(manifests, 'Deployment')[0];
    const spec = deployment.spec.template.spec;
    const volume = spec.volumes.find((v) => v.name === 'admin-token');
    const mount = spec.containers[0].volumeMounts.find((m) => m.name === 'admin-token');
    const secret = byKind(manifests, 'Secret').find((s) => s.metadata.name === 'mqtt-mqtt-broker-admin');
    return { env: envOf(deployment), volume, mount, secret, notes };
  };
  const generated = adminOf({});
  assert.equal(generated.env.GRPC_HOST, '0.0.0.0');
  assert.equal(generated.env.GRPC_PORT, '9100');
  assert.equal(generated.env.ADMIN_TLS, 'false');
  assert.equal(generated.env.ADMIN_TOKEN, undefined, 'the token is a file, not an environment variable');
  assert.equal(generated.env.ADMIN_TOKEN_FILE, `${generated.mount.mountPath}/admin-token`);
  assert.equal(generated.mount.readOnly, true);
  assert.deepEqual(generated.volume.secret.items, [{ key: 'admin-token', path: 'admin-token' }]);
  assert.equal(generated.volume.secret.secretName, 'mqtt-mqtt-broker-admin');
  const token = Buffer.from(generated.secret.data['admin-token'], 'base64').toString();
  assert.match(token, /^[A-Za-z0-9]{40}$/, 'a random token the broker accepts (16+ characters)');
  assert.notEqual(Buffer.from(adminOf({}).secret.data['admin-token'], 'base64').toString(), token, 'random per install');
  assert.match(generated.notes, /mqtt-mqtt-broker-admin/);
  assert.match(generated.notes, /MQTTCTL_TOKEN/);

  const given = adminOf({ admin: { token: 'a-given-admin-token-123' } });
  assert.equal(given.secret.data['admin-token'], Buffer.from('a-given-admin-token-123').toString('base64'));

  const existing = adminOf({ admin: { existingSecret: 'ops-admin', existingSecretKey: 'token' } });
  assert.equal(existing.secret, undefined, 'no Secret created');
  assert.equal(existing.volume.secret.secretName, 'ops-admin');
  assert.deepEqual(existing.volume.secret.items, [{ key: 'token', path: 'admin-token' }]);
  assert.equal(existing.env.ADMIN_TOKEN_FILE, '/etc/mqtt-broker/admin/admin-token');

  const tls = adminOf({ admin: { tls: true }, tls: { enabled: true, cert: 'CERT', key: 'KEY' } });
  assert.equal(tls.env.ADMIN_TLS, 'true');
  assert.equal(tls.env.TLS_CERT, '/etc/mqtt-broker/tls/tls.crt');
});
