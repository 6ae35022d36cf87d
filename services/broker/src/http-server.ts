/**
 * HTTP endpoints for orchestration and monitoring:
 * `/healthz` 200 while the process runs; `/readyz` 200 once every listener is up, 503 before
 * and while draining; `/metrics` the Prometheus text format.
 */
import { createServer, type Server } from 'node:http';
import { bindServer } from './bind.js';

export interface HttpEndpoints {
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

export async function startHttpServer(options: { host: string; port: number; metrics: { scrape(): Promise<string>; readonly contentType: string }; isReady: () => boolean; onError: (err: Error) => void }): Promise<HttpEndpoints> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const ready = options.isReady();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : 'not ready\n');
    } else if (path === '/metrics') {
      options.metrics.scrape().then(
        (text) => res.writeHead(200, { 'content-type': options.metrics.contentType }).end(text),
        (err: Error) => {
          options.onError(err);
          res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
        },
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  const port = await bindServer(server, options.host, options.port);
  server.on('error', options.onError);
  return {
    server,
    port,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
