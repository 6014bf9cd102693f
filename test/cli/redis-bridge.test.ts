/**
 * The Upstash-compatible Redis bridge, driven through the real @upstash/redis client, the way the
 * edge Worker uses it. Every case runs against the embedded store; with REDIS_URL set, the same
 * cases also run against real Redis (keys under a unique prefix, deleted afterwards), so the
 * embedded store cannot drift from Redis unnoticed.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisBridge, type RedisBridge } from '../../cli/dev/redis-bridge.ts';
import { EmbeddedBackend } from '../../cli/dev/redis-bridge/embedded/embedded-backend.ts';
import { connectRedisBackend } from '../../cli/dev/redis-bridge/redis-backend.ts';
import type { RedisReply } from '../../cli/dev/redis-bridge/reply.ts';

const token = 'redis-bridge-test-token';
const backends = [
  { backendName: 'embedded' as const, redisUrl: undefined },
  ...(process.env.REDIS_URL ? [{ backendName: 'redis' as const, redisUrl: process.env.REDIS_URL }] : []),
];

describe.each(backends)('redis bridge, $backendName backend, through @upstash/redis', ({ backendName, redisUrl }) => {
  let bridge: RedisBridge;
  let redis: Redis;
  const keyPrefix = `meridian-test:redis-bridge:${randomUUID()}:`;
  const usedKeys = new Set<string>();
  const key = (name: string) => {
    usedKeys.add(keyPrefix + name);
    return keyPrefix + name;
  };
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${bridge.url}${path}`, { method: 'POST', body, headers: { authorization: `Bearer ${token}`, ...headers } });

  beforeAll(async () => {
    bridge = await startRedisBridge({ port: 0, token, ...(redisUrl === undefined ? {} : { redisUrl }) });
    // Defaults on purpose: auto-pipelining and base64 responses, as the Worker's client runs.
    redis = new Redis({ url: bridge.url, token, enableTelemetry: false });
  });

  afterAll(async () => {
    if (usedKeys.size > 0) await redis.del(...usedKeys);
    await bridge.stop();
  });

  it('reports its backend on /healthz', async () => {
    const response = await fetch(`${bridge.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', backend: backendName });
  });

  it('round-trips strings, non-ASCII text and JSON values', async () => {
    const partnerLimit = { partnerId: 'bank-eu-1', dailyLimitMinor: '150000000', corridors: ['EUR-USD', 'EUR-GBP'] };
    await redis.set(key('plain'), 'accepted');
    await redis.set(key('unicode'), 'Zürich ✓ 東京');
    await redis.set(key('json'), partnerLimit);
    expect(await redis.get(key('plain'))).toBe('accepted');
    expect(await redis.get(key('unicode'))).toBe('Zürich ✓ 東京');
    expect(await redis.get(key('json'))).toEqual(partnerLimit);
    expect(await redis.get(key('absent'))).toBeNull();
    expect(await redis.mget(key('plain'), key('absent'), key('json'))).toEqual(['accepted', null, partnerLimit]);
  });

  it('answers single commands on POST / and plain-encoded responses the same way', async () => {
    const direct = new Redis({ url: bridge.url, token, enableTelemetry: false, enableAutoPipelining: false, responseEncoding: false });
    expect(await direct.set(key('direct'), 'Zürich')).toBe('OK');
    expect(await direct.get(key('direct'))).toBe('Zürich');
    expect(await direct.incr(key('direct-counter'))).toBe(1);
    expect(await direct.ping()).toBe('PONG');
  });

  it('encodes results as Upstash does: base64 strings when asked, "OK" as is, integers as exact numbers', async () => {
    await redis.set(key('raw'), 'héllo');
    const base64 = await post('/', JSON.stringify(['GET', key('raw')]), { 'upstash-encoding': 'base64' });
    expect(await base64.json()).toEqual({ result: Buffer.from('héllo').toString('base64') });
    const ok = await post('/', JSON.stringify(['SET', key('raw'), 'x']), { 'upstash-encoding': 'base64' });
    expect(await ok.json()).toEqual({ result: 'OK' });
    const beyondDouble = await post('/', JSON.stringify(['INCRBY', key('raw-counter'), '9007199254740993']));
    expect(await beyondDouble.text()).toBe('{"result":9007199254740993}');
  });

  it('counts with INCR, INCRBY and DECRBY, and refuses non-integers and overflow', async () => {
    expect(await redis.incr(key('counter'))).toBe(1);
    expect(await redis.incrby(key('counter'), 41)).toBe(42);
    expect(await redis.decrby(key('counter'), 2)).toBe(40);
    expect(await redis.get(key('counter'))).toBe(40);
    await redis.set(key('not-a-number'), 'ten');
    await expect(redis.incr(key('not-a-number'))).rejects.toThrow('ERR value is not an integer or out of range');
    await redis.set(key('at-max'), '9223372036854775807');
    await expect(redis.incr(key('at-max'))).rejects.toThrow('ERR increment or decrement would overflow');
  });

  it('SET NX only creates and SET XX only replaces', async () => {
    expect(await redis.set(key('nx'), 'first', { nx: true })).toBe('OK');
    expect(await redis.set(key('nx'), 'second', { nx: true })).toBeNull();
    expect(await redis.get(key('nx'))).toBe('first');
    expect(await redis.set(key('xx'), 'ghost', { xx: true })).toBeNull();
    expect(await redis.exists(key('xx'))).toBe(0);
    expect(await redis.set(key('nx'), 'third', { xx: true })).toBe('OK');
    expect(await redis.get(key('nx'))).toBe('third');
  });

  it('keeps expiry as Redis does: EX/PX set it, TTL/PTTL report it, a plain SET clears it, INCR keeps it', async () => {
    await redis.set(key('px'), 'v', { px: 60_000 });
    const remainingMs = await redis.pttl(key('px'));
    expect(remainingMs).toBeGreaterThan(55_000);
    expect(remainingMs).toBeLessThanOrEqual(60_000);
    expect(await redis.ttl(key('px'))).toBe(60);
    await redis.set(key('px'), 'v');
    expect(await redis.ttl(key('px'))).toBe(-1);
    expect(await redis.ttl(key('never-set'))).toBe(-2);
    await redis.set(key('ex'), '5', { ex: 100 });
    expect(await redis.incr(key('ex'))).toBe(6);
    expect(await redis.ttl(key('ex'))).toBe(100);
    expect(await redis.expire(key('ex'), 10)).toBe(1);
    expect(await redis.ttl(key('ex'))).toBe(10);
    expect(await redis.expire(key('never-set'), 10)).toBe(0);
  });

  it('drops a key whose deadline has passed, without waiting', async () => {
    await redis.set(key('past-deadline'), 'v', { pxat: Date.now() - 1_000 });
    expect(await redis.get(key('past-deadline'))).toBeNull();
    await redis.set(key('negative-expire'), 'v');
    expect(await redis.pexpire(key('negative-expire'), -1)).toBe(1);
    expect(await redis.exists(key('negative-expire'))).toBe(0);
  });

  it('applies EXPIRE options NX, XX, GT and LT', async () => {
    await redis.set(key('options'), 'v');
    expect(await redis.expire(key('options'), 100, 'XX')).toBe(0);
    expect(await redis.expire(key('options'), 100, 'GT')).toBe(0);
    expect(await redis.expire(key('options'), 100, 'NX')).toBe(1);
    expect(await redis.expire(key('options'), 200, 'NX')).toBe(0);
    expect(await redis.expire(key('options'), 50, 'GT')).toBe(0);
    expect(await redis.expire(key('options'), 50, 'LT')).toBe(1);
    expect(await redis.ttl(key('options'))).toBe(50);
    // A key without an expiry lives forever as far as GT and LT are concerned.
    await redis.set(key('options-persistent'), 'v');
    expect(await redis.expire(key('options-persistent'), 30, 'LT')).toBe(1);
    expect(await redis.expire(key('options-persistent'), 40, 'LT')).toBe(0);
    await expect(redis.exec(['EXPIRE', key('options'), '10', 'NX', 'XX'])).rejects.toThrow('ERR NX and XX, GT or LT options at the same time are not compatible');
  });

  it('runs a pipeline in order, with each error in its own place', async () => {
    const results = await redis.pipeline().set(key('pipe'), '1').incr(key('pipe')).get(key('pipe')).incr(key('pipe-text')).exec({ keepErrors: true });
    expect(results.slice(0, 3)).toEqual([{ result: 'OK', error: undefined }, { result: 2, error: undefined }, { result: 2, error: undefined }]);
    await redis.set(key('pipe-text'), 'text');
    await expect(redis.pipeline().get(key('pipe')).incr(key('pipe-text')).exec()).rejects.toThrow(/Command 2 \[ incr \] failed: ERR value is not an integer/);
  });

  it('counts a velocity window atomically: MULTI INCRBY + PEXPIRE NX, reset after the window', async () => {
    const windowMs = 300;
    const spend = (amountMinor: number) => redis.multi().incrby(key('velocity'), amountMinor).pexpire(key('velocity'), windowMs, 'NX').pttl(key('velocity')).exec<[number, number, number]>();
    const [firstTotal, firstDeadlineSet, firstRemainingMs] = await spend(15_000);
    expect([firstTotal, firstDeadlineSet]).toEqual([15_000, 1]);
    expect(firstRemainingMs).toBeGreaterThan(0);
    expect(firstRemainingMs).toBeLessThanOrEqual(windowMs);
    const [secondTotal, secondDeadlineSet, secondRemainingMs] = await spend(5_000);
    expect([secondTotal, secondDeadlineSet]).toEqual([20_000, 0]);
    expect(secondRemainingMs).toBeLessThanOrEqual(firstRemainingMs);
    await sleep(windowMs + 200);
    const [nextWindowTotal, nextDeadlineSet] = await spend(7);
    expect([nextWindowTotal, nextDeadlineSet]).toEqual([7, 1]);
  });

  it('never interleaves two transactions', async () => {
    const transactionCount = 40;
    const transactions = Array.from({ length: transactionCount }, () => redis.multi().incr(key('pair-a')).incr(key('pair-b')).exec<[number, number]>());
    const results = await Promise.all(transactions);
    for (const [a, b] of results) expect(a).toBe(b);
    expect(new Set(results.map(([a]) => a)).size).toBe(transactionCount);
  });

  it('commits the rest of a transaction around a runtime error', async () => {
    const results = await redis.multi().set(key('tx-a'), 'x').incr(key('tx-a')).set(key('tx-b'), 'y').exec({ keepErrors: true });
    expect(results[1]?.error).toMatch(/ERR value is not an integer/);
    expect(await redis.get(key('tx-b'))).toBe('y');
  });

  it('discards a whole transaction when a command is rejected while queueing', async () => {
    await expect(redis.multi().incr(key('tx-discarded')).exists().exec()).rejects.toThrow(/EXECABORT .*ERR wrong number of arguments for 'exists' command/);
    const unknown = await post('/multi-exec', JSON.stringify([['INCR', key('tx-discarded')], ['MERIDIANNOPE', 'x']]));
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({ error: expect.stringMatching(/^EXECABORT .*ERR unknown command 'MERIDIANNOPE'/) });
    expect(await redis.exists(key('tx-discarded'))).toBe(0);
  });

  it('answers an unknown command with a Redis error and keeps serving', async () => {
    await expect(redis.exec(['MERIDIANNOPE', 'a'])).rejects.toThrow("ERR unknown command 'MERIDIANNOPE', with args beginning with: 'a'");
    await expect(redis.exec(['MULTI'])).rejects.toThrow(/ERR/);
    // A refused MULTI must not have left the connection queueing: this SET applies at once.
    await redis.set(key('after-unknown'), 'served');
    expect(await redis.get(key('after-unknown'))).toBe('served');
  });

  it.runIf(backendName === 'embedded')('refuses EVAL: there is no Lua in the embedded store', async () => {
    await expect(redis.eval('return 1', [], [])).rejects.toThrow("ERR unknown command 'eval'");
  });

  it('rejects a wrong or missing token with 401 and Upstash’s error body', async () => {
    const intruder = new Redis({ url: bridge.url, token: 'not-the-token', enableTelemetry: false });
    await expect(intruder.get(key('plain'))).rejects.toThrow('Unauthorized');
    const anonymous = await fetch(`${bridge.url}/`, { method: 'POST', body: JSON.stringify(['PING']) });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ error: 'Unauthorized' });
  });

  it('answers malformed bodies with 400 and the Upstash error shape', async () => {
    for (const [path, body] of [['/', '{not json'], ['/', '{"command":"GET"}'], ['/', '[]'], ['/', '[["nested"]]'], ['/pipeline', '["GET","k"]'], ['/multi-exec', '[]']] as const) {
      const response = await post(path, body);
      expect(response.status, `${path} ${body}`).toBe(400);
      expect(await response.json()).toEqual({ error: expect.stringMatching(/^ERR failed to parse command: /) });
    }
  });
});

describe('redis bridge process', () => {
  it('prints its address, answers /healthz and exits cleanly on SIGTERM', async () => {
    const node = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
    const entry = fileURLToPath(new URL('../../cli/dev/redis-bridge.ts', import.meta.url));
    const { REDIS_URL: _ignored, ...env } = process.env;
    const child = spawn(node, [entry], { env: { ...env, PORT: '0', UPSTASH_TOKEN: token }, stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout });
    const [firstLine] = (await once(lines, 'line')) as [string];
    const match = /^redis-bridge: listening on (http:\/\/127\.0\.0\.1:\d+) \(backend: embedded\)$/.exec(firstLine);
    expect(match, firstLine).not.toBeNull();
    const health = await fetch(`${match![1]}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok', backend: 'embedded' });
    const viaClient = new Redis({ url: match![1]!, token, enableTelemetry: false });
    expect(await viaClient.incr('process-counter')).toBe(1);
    child.kill('SIGTERM');
    const [exitCode] = (await once(child, 'exit')) as [number | null];
    expect(exitCode).toBe(0);
  });

  it('fails to start with a readable error when Redis cannot be reached', async () => {
    const attempt = startRedisBridge({ port: 0, token, redisUrl: 'redis://127.0.0.1:1', redisConnectTimeoutMs: 300, log: () => {} });
    await expect(attempt).rejects.toThrow('redis backend unavailable: no connection to redis://127.0.0.1:1 within 300 ms');
  });
});

describe('embedded store', () => {
  it('sweeps expired keys nobody reads again', async () => {
    let nowMs = 1_700_000_000_000;
    const store = new EmbeddedBackend({ now: () => nowMs });
    await store.execute(['SET', 'velocity:bank-eu-1', '15000', 'PX', '100']);
    await store.execute(['SET', 'config:persistent', 'v']);
    nowMs += 200;
    expect(store.keyspace.sweep(100)).toBe(1);
    expect(store.keyspace.keyCount).toBe(1);
    await store.close();
  });

  it('refuses writes that would grow it past its key limit, as Redis does at maxmemory', async () => {
    const store = new EmbeddedBackend({ keysMax: 1 });
    expect(await store.execute(['SET', 'a', '1'])).toMatchObject({ kind: 'string' });
    expect(await store.execute(['SET', 'b', '1'])).toEqual({ kind: 'error', message: "OOM command not allowed when used memory > 'maxmemory'." });
    expect(await store.execute(['SET', 'a', '2'])).toMatchObject({ kind: 'string' });
    await store.close();
  });
});

describe.runIf(process.env.REDIS_URL)('embedded store against real Redis, reply for reply', () => {
  it('gives the same replies and error texts to the same command script', async () => {
    const prefix = `meridian-test:redis-bridge-diff:${randomUUID()}:`;
    const k = (name: string) => prefix + name;
    const script: string[][] = [
      ['SET', k('a'), '5'], ['INCR', k('a')], ['INCRBY', k('a'), '-10'], ['DECRBY', k('a'), '3'], ['DECR', k('a')], ['GET', k('a')],
      ['INCRBY', k('a'), '05'], ['INCRBY', k('a'), '+5'], ['INCRBY', k('a'), '1.5'], ['DECRBY', k('a'), '-9223372036854775808'],
      ['SET', k('max'), '9223372036854775807'], ['INCRBY', k('max'), '1'], ['SET', k('txt'), ' 5'], ['INCR', k('txt')],
      ['SET', k('b'), 'v', 'EX', '0'], ['SET', k('b'), 'v', 'EX', 'abc'], ['SET', k('b'), 'v', 'EX', '1', 'PX', '5'], ['SET', k('b'), 'v', 'NX', 'XX'],
      ['SET', k('b'), 'v', 'KEEPTTL', 'EX', '5'], ['SET', k('b'), 'v', 'BOGUS'], ['SET', k('b'), 'v', 'EX'], ['SET', k('b'), 'v', 'EX', '9223372036854775807'],
      ['SET', k('b'), 'v1', 'EX', '100', 'GET'], ['SET', k('b'), 'v2', 'NX', 'GET'], ['SET', k('b'), 'v3', 'KEEPTTL', 'XX', 'GET'], ['TTL', k('b')],
      ['EXPIRE', k('b'), '10', 'NX', 'XX'], ['EXPIRE', k('b'), '10', 'GT', 'LT'], ['EXPIRE', k('b'), '10', 'FOO'], ['EXPIRE', k('b'), 'abc'],
      ['EXPIRE', k('b'), '9223372036854775'], ['PEXPIRE', k('b'), '9223372036854775807'], ['EXPIRE', k('b'), '200', 'gt'], ['TTL', k('b')],
      ['SET', k('c'), 'v'], ['EXPIRE', k('c'), '100', 'GT'], ['EXPIRE', k('c'), '100', 'xx'], ['EXPIRE', k('c'), '100', 'LT'], ['EXPIRE', k('c'), '50', 'NX'], ['TTL', k('c')],
      ['EXPIRE', k('b'), '0'], ['EXISTS', k('b'), k('a'), k('a'), k('none')], ['DEL', k('a'), k('a'), k('none')], ['MGET', k('max'), k('none')],
      ['PING'], ['PING', 'hello'], ['PING', 'a', 'b'], ['GET'], ['GET', k('a'), 'extra'], ['EXISTS'], ['MGET'], ['TTL', k('none')], ['PTTL', k('none')],
      ['MERIDIANNOPE'], ['MERIDIANNOPE', 'x'.repeat(200), 'y'],
    ];
    const embedded = new EmbeddedBackend();
    const real = await connectRedisBackend({ redisUrl: process.env.REDIS_URL!, log: () => {} });
    try {
      const embeddedReplies = (await embedded.executePipeline(script)).map(comparable);
      const realReplies = (await real.executePipeline(script)).map(comparable);
      expect(embeddedReplies).toEqual(realReplies);
    } finally {
      await real.execute(['DEL', ...new Set(script.flatMap((command) => command.filter((word) => word.startsWith(prefix))))]);
      await real.close();
      await embedded.close();
    }
  });
});

/** A reply in a form both backends can be compared by: bytes as text, integers as decimal strings. */
function comparable(reply: RedisReply): unknown {
  switch (reply.kind) {
    case 'string':
      return { string: Buffer.from(reply.bytes).toString('utf8') };
    case 'integer':
      return { integer: reply.value.toString() };
    case 'nil':
      return null;
    case 'array':
      return reply.items.map(comparable);
    case 'error':
      return { error: reply.message };
  }
}
