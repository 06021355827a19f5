// The baseline the single-node benchmark compares against: the smallest idiomatic Koa key-value
// server — Koa, @koa/router and a Map — with no durability, validation, metrics or logging.
// Usage: node dist/bench/koa-map-server.js <port>

import Koa from 'koa';
import Router from '@koa/router';

const values = new Map<string, Buffer>();
const router = new Router();

router.get('/v1/kv/:key', (ctx) => {
  const value = values.get(ctx.params.key ?? '');
  if (value === undefined) {
    ctx.status = 404;
    return;
  }
  ctx.type = 'application/octet-stream';
  ctx.body = value;
});

router.put('/v1/kv/:key', async (ctx) => {
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) chunks.push(chunk);
  values.set(ctx.params.key ?? '', Buffer.concat(chunks));
  ctx.body = { key: ctx.params.key };
});

const app = new Koa();
app.use(router.routes());
app.listen(Number(process.argv[2] ?? 8090), '127.0.0.1');
// Exit cleanly on SIGTERM so a --cpu-prof profile of the baseline is written too.
process.on('SIGTERM', () => process.exit(0));
