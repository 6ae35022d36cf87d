// Loads helm/mqtt-broker and renders it with deploy/test/go-template.mjs the way `helm template`
// would: values.yaml merged with overrides (maps merge recursively, null removes a key), one
// render per file of templates/ (files starting with _ only define templates), NOTES.txt apart.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { createRenderer } from './go-template.mjs';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CHART_DIR = join(ROOT, 'helm/mqtt-broker');

/** Parses YAML as Helm and Kubernetes do: YAML 1.1 (`off`, `yes` are booleans, 0440 is octal). */
export function readYaml(path) {
  return parse(readFileSync(path, 'utf8'), { version: '1.1' });
}

export function mergeValues(base, override) {
  if (override === null || typeof override !== 'object' || Array.isArray(override)) return override;
  const out = base !== null && typeof base === 'object' && !Array.isArray(base) ? { ...base } : {};
  for (const [k, v] of Object.entries(override)) {
    if (v === null) delete out[k];
    else out[k] = mergeValues(out[k], v);
  }
  return out;
}

export function templateSources() {
  const dir = join(CHART_DIR, 'templates');
  const sources = {};
  for (const name of readdirSync(dir).sort()) sources[name] = readFileSync(join(dir, name), 'utf8');
  return sources;
}

/** Renders the chart; returns { manifests: [{ file, doc }], notes, values }. Throws on `fail`. */
export function renderChart(overrides = {}, release = { Name: 'mqtt', Namespace: 'iot' }) {
  const chart = readYaml(join(CHART_DIR, 'Chart.yaml'));
  const values = mergeValues(readYaml(join(CHART_DIR, 'values.yaml')), overrides);
  const sources = templateSources();
  const renderer = createRenderer(sources);
  const root = {
    Values: values,
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
    Release: { Name: release.Name, Namespace: release.Namespace, Service: 'Helm', IsInstall: true, IsUpgrade: false },
    Files: { Get: (path) => readFileSync(join(CHART_DIR, path), 'utf8') },
    Capabilities: { KubeVersion: { Version: 'v1.30.0' } },
  };
  const manifests = [];
  let notes = '';
  for (const file of Object.keys(sources)) {
    if (file.startsWith('_')) continue;
    const text = renderer.render(file, { ...root, Template: { Name: `mqtt-broker/templates/${file}`, BasePath: 'mqtt-broker/templates' } });
    if (file === 'NOTES.txt') {
      notes = text;
      continue;
    }
    for (const doc of parseAllDocuments(text, { version: '1.1' })) {
      if (doc.errors.length > 0) throw new Error(`${file}: rendered YAML does not parse: ${doc.errors[0].message}\n${text}`);
      const value = doc.toJS();
      if (value !== null && value !== undefined) manifests.push({ file, doc: value });
    }
  }
  return { manifests, notes, values };
}

export function byKind(manifests, kind) {
  return manifests.filter((m) => m.doc.kind === kind).map((m) => m.doc);
}
