// A forked process of the idle scenario (idle.ts): opens its share of the connections when told,
// reports, counts the live ones on request, and closes them and exits when told (or when its
// parent goes away).

import { type IdleConnection, type IdleWorkerReply, type IdleWorkerRequest, openConnections } from './idle.js';

let clients: IdleConnection[] = [];
const reply = (m: IdleWorkerReply): void => {
  process.send?.(m);
};

process.on('message', (m: IdleWorkerRequest) => {
  if (m.type === 'start') {
    void openConnections(m.options, m.count, m.prefix, m.concurrency).then((r) => {
      clients = r.clients;
      reply({ type: 'opened', opened: r.clients.length, failed: r.failed, errors: r.errors, startMs: r.startMs, endMs: r.endMs });
    });
  } else if (m.type === 'alive') {
    reply({ type: 'alive', alive: clients.filter((c) => !c.closed).length });
  } else {
    for (const c of clients) c.destroy();
    process.disconnect();
  }
});
process.on('disconnect', () => {
  for (const c of clients) c.destroy();
  setTimeout(() => process.exit(0), 100).unref();
});
reply({ type: 'ready' });
