/// <reference path="./cloudflare-workers.d.ts" />
/**
 * The floor the gateway is measured against: a Worker that takes the same POST the gateway takes
 * (the benchmark sends it the very same signed payment requests) and makes exactly one durable
 * write per request — one RPC into one SQLite-backed Durable Object that inserts the body — and
 * answers 202. No verification, no configuration, no second object: what any Worker that records
 * a payment at all must pay on this runtime.
 */
import { DurableObject } from 'cloudflare:workers';

interface Env {
  WRITES: { idFromName(name: string): unknown; get(id: unknown): WriteOnce };
}

/** Why one named object: a partner's admission is serialised through one object today, so the floor is too. */
const objectName = 'bare';
const bodyBytesMax = 64 * 1024;

export class WriteOnce extends DurableObject<Env> {
  constructor(ctx: ConstructorParameters<typeof DurableObject<Env>>[0], env: Env) {
    super(ctx, env);
    this.ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS writes (id TEXT PRIMARY KEY, body TEXT NOT NULL)');
  }

  record(id: string, body: string): number {
    this.ctx.storage.sql.exec('INSERT INTO writes (id, body) VALUES (?, ?)', id, body);
    return body.length;
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (path === '/healthz') return Response.json({ status: 'ok' });
    if (request.method !== 'POST') return Response.json({ title: 'bare bench Worker takes POST' }, { status: 405 });
    const body = await request.text();
    if (body.length > bodyBytesMax) return Response.json({ title: 'body too large' }, { status: 413 });
    const stub = env.WRITES.get(env.WRITES.idFromName(objectName));
    const written = await stub.record(crypto.randomUUID(), body);
    return Response.json({ status: 'accepted', bytes: written }, { status: 202 });
  },
};
