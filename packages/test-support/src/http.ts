/**
 * HTTP probes of a process under test: GET with a bound, /readyz status, Prometheus /metrics
 * scrape and one sample's value.
 */
import { get } from 'node:http';

export interface HttpAnswer {
  status: number;
  body: string;
  type: string | undefined;
}

/** GET http://127.0.0.1:<port><path>; rejects on a connection error or after timeoutMs. */
export function httpGet(port: number, path: string, timeoutMs = 2000): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: res.headers['content-type'] }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** Status of GET <path>, 0 when nothing answers (not listening yet, timeout). */
export async function httpStatus(port: number, path: string, timeoutMs = 1000): Promise<number> {
  try {
    return (await httpGet(port, path, timeoutMs)).status;
  } catch {
    return 0;
  }
}

/** GET /readyz status, 0 when the process does not answer. */
export function readyStatus(port: number): Promise<number> {
  return httpStatus(port, '/readyz');
}

/** Body of GET /metrics (Prometheus text). */
export async function metricsText(port: number): Promise<string> {
  return (await httpGet(port, '/metrics')).body;
}

/**
 * Value of the sample `<name><labels>` in Prometheus text (labels written as exposed, e.g.
 * '{peer="a"}'); 0 when absent (a counter never incremented is not exported with its labels).
 */
export function metricValue(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}
