// The baseline the single-node benchmark compares against: the smallest sensible Koa key-value
// server, with a Map for storage (no durability, no routing library, no metrics, no logging).
// Usage: node dist/bench/koa-map-server.js <port>

import Koa from 'koa';

const PREFIX = '/v1/kv/';
const values = new Map<string, Buffer>();
const app = new Koa();

app.use(async (ctx) => {
  if (!ctx.path.startsWith(PREFIX)) {
    ctx.status = 404;
    return;
  }
  const key = decodeURIComponent(ctx.path.slice(PREFIX.length));
  if (ctx.method === 'GET') {
    const value = values.get(key);
    if (value === undefined) {
      ctx.status = 404;
      return;
    }
    ctx.type = 'application/octet-stream';
    ctx.body = value;
  } else if (ctx.method === 'PUT') {
    const chunks: Buffer[] = [];
    for await (const chunk of ctx.req as AsyncIterable<Buffer>) chunks.push(chunk);
    values.set(key, Buffer.concat(chunks));
    ctx.body = { key };
  } else {
    ctx.status = 405;
  }
});

app.listen(Number(process.argv[2] ?? 8090), '127.0.0.1');
