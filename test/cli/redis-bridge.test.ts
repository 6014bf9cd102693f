/**
 * The Upstash-compatible Redis bridge, driven through the real @upstash/redis and
 * @upstash/ratelimit clients, the way the edge Worker uses them. Every case runs against the
 * embedded store (ioredis-mock); with REDIS_URL set, the same cases also run against real Redis
 * (keys under a unique prefix, deleted afterwards), so the two cannot drift apart unnoticed where
 * Meridian depends on them. Where ioredis-mock knowingly differs from Redis (64-bit integers,
 * INCR overflow, some error texts), the case runs against real Redis only and says so.
 */
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Ratelimit } from '@upstash/ratelimit';
import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisBridge, type RedisBridge } from '../../cli/dev/redis-bridge.ts';
import { EmbeddedBackend } from '../../cli/dev/redis-bridge/embedded/embedded-backend.ts';

const token = 'redis-bridge-test-token';
const backends = [
  { backendName: 'embedded' as const, redisUrl: undefined },
  ...(process.env.REDIS_URL ? [{ backendName: 'redis' as const, redisUrl: process.env.REDIS_URL }] : []),
];

describe.each(backends)('redis bridge, $backendName backend, through @upstash/redis', ({ backendName, redisUrl }) => {
  let bridge: RedisBridge;
  let redis: Redis;
  const keyPrefix = `meridian-test:redis-bridge:${randomUUID()}:`;
  const key = (name: string) => keyPrefix + name;
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${bridge.url}${path}`, { method: 'POST', body, headers: { authorization: `Bearer ${token}`, ...headers } });

  beforeAll(async () => {
    bridge = await startRedisBridge({ port: 0, token, ...(redisUrl === undefined ? {} : { redisUrl }) });
    // Defaults on purpose: auto-pipelining and base64 responses, as the Worker's client runs.
    redis = new Redis({ url: bridge.url, token, enableTelemetry: false });
  });

  afterAll(async () => {
    const leftovers = await redis.keys(`${keyPrefix}*`);
    if (leftovers.length > 0) await redis.del(...leftovers);
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

  it('encodes results as Upstash does: base64 strings when asked, "OK" as is, integers as numbers', async () => {
    await redis.set(key('raw'), 'héllo');
    const base64 = await post('/', JSON.stringify(['GET', key('raw')]), { 'upstash-encoding': 'base64' });
    expect(await base64.json()).toEqual({ result: Buffer.from('héllo').toString('base64') });
    const ok = await post('/', JSON.stringify(['SET', key('raw'), 'x']), { 'upstash-encoding': 'base64' });
    expect(await ok.json()).toEqual({ result: 'OK' });
    const largestExactDouble = await post('/', JSON.stringify(['INCRBY', key('raw-counter'), '9007199254740991']));
    expect(await largestExactDouble.text()).toBe('{"result":9007199254740991}');
  });

  // ioredis-mock keeps integers as doubles: beyond 2^53 only real Redis is exact.
  it.runIf(backendName === 'redis')('passes a 64-bit counter through digit for digit', async () => {
    const beyondDouble = await post('/', JSON.stringify(['INCRBY', key('raw-counter-64'), '9007199254740993']));
    expect(await beyondDouble.text()).toBe('{"result":9007199254740993}');
  });

  it('counts with INCR, INCRBY and DECRBY, and refuses to count text', async () => {
    expect(await redis.incr(key('counter'))).toBe(1);
    expect(await redis.incrby(key('counter'), 41)).toBe(42);
    expect(await redis.decrby(key('counter'), 2)).toBe(40);
    expect(await redis.get(key('counter'))).toBe(40);
    await redis.set(key('not-a-number'), 'ten');
    await expect(redis.incr(key('not-a-number'))).rejects.toThrow('ERR value is not an integer or out of range');
  });

  it.runIf(backendName === 'redis')('refuses to overflow a 64-bit counter', async () => {
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

  it.runIf(backendName === 'embedded')('refuses what ioredis-mock would answer wrongly: EXPIRE options and SET KEEPTTL', async () => {
    await redis.set(key('options'), 'v');
    await expect(redis.expire(key('options'), 100, 'NX')).rejects.toThrow("ERR EXPIRE with NX | XX | GT | LT is not supported by the bridge's embedded store (ioredis-mock); start the bridge with REDIS_URL for it");
    await expect(redis.set(key('options'), 'w', { keepTtl: true })).rejects.toThrow('ERR SET KEEPTTL is not supported');
    expect(await redis.ttl(key('options'))).toBe(-1);
  });

  it.runIf(backendName === 'redis')('applies EXPIRE options NX, XX, GT and LT', async () => {
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

  it.runIf(backendName === 'redis')('counts a velocity window atomically: MULTI INCRBY + PEXPIRE NX, reset after the window', async () => {
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

  it('runs EVAL, SCRIPT LOAD, SCRIPT EXISTS and EVALSHA through @upstash/redis, with Redis’ Lua reply conversions', async () => {
    const script = 'redis.call("SET", KEYS[1], ARGV[1]); return {redis.call("INCRBY", KEYS[2], ARGV[2]), redis.call("GET", KEYS[1]), false, 3.7}';
    expect(await redis.eval(script, [key('lua-text'), key('lua-counter')], ['Zürich', '5'])).toEqual([5, 'Zürich', null, 3]);
    const sha = await redis.scriptLoad(script);
    expect(sha).toBe(createHash('sha1').update(script).digest('hex'));
    expect(await redis.scriptExists(sha, 'f'.repeat(40))).toEqual([1, 0]);
    expect(await redis.evalsha(sha, [key('lua-text'), key('lua-counter')], ['Genève', '2'])).toEqual([7, 'Genève', null, 3]);
    await expect(redis.evalsha('f'.repeat(40), [], [])).rejects.toThrow('NOSCRIPT');
    expect(await redis.scriptFlush()).toBe('OK');
    expect(await redis.scriptExists(sha)).toEqual([0]);
  });

  it('reads a Redis 7 shebang line and refuses a bad script or key count with an error', async () => {
    expect(await redis.eval('#!lua flags=no-writes\nreturn tonumber(ARGV[1]) * 2', [], ['21'])).toBe(42);
    await expect(redis.eval('return redis.call("MERIDIANNOPE")', [], [])).rejects.toThrow(/ERR/);
    await expect(redis.eval('return {err = "velocity store refused"}', [], [])).rejects.toThrow('velocity store refused');
    expect(await redis.eval('local counts = {} for i = 1, 3 do counts[i] = i * 10 end return counts', [], [])).toEqual([10, 20, 30]);
    await expect(redis.eval('this is not lua', [], [])).rejects.toThrow(/ERR/);
    const tooManyKeys = await post('/', JSON.stringify(['EVAL', 'return 1', '3', key('only-one')]));
    expect(await tooManyKeys.json()).toEqual({ error: "ERR Number of keys can't be greater than number of args" });
  });

  it('runs a script atomically: concurrent scripts never interleave', async () => {
    const pairScript = 'local a = redis.call("INCR", KEYS[1]); local b = redis.call("INCR", KEYS[2]); return {a, b}';
    const results = await Promise.all(Array.from({ length: 30 }, () => redis.eval<[], [number, number]>(pairScript, [key('lua-a'), key('lua-b')], [])));
    for (const [a, b] of results) expect(a).toBe(b);
  });

  it('serves @upstash/ratelimit: fixedWindow, slidingWindow and tokenBucket refuse past their limit', async () => {
    const limiters = {
      fixed: Ratelimit.fixedWindow(3, '30 s'),
      sliding: Ratelimit.slidingWindow(3, '30 s'),
      bucket: Ratelimit.tokenBucket(1, '30 s', 3),
    };
    for (const [name, algorithm] of Object.entries(limiters)) {
      const ratelimit = new Ratelimit({ redis, limiter: algorithm, prefix: key(`ratelimit-${name}`), analytics: false, ephemeralCache: false });
      const answers = [];
      for (let attempt = 0; attempt < 4; attempt += 1) answers.push(await ratelimit.limit('golf-limited'));
      expect(answers.map((answer) => answer.success), name).toEqual([true, true, true, false]);
      expect(answers[3]!.remaining, name).toBe(0);
      expect(answers[3]!.reset, name).toBeGreaterThan(Date.now());
      expect((await ratelimit.limit('another-partner')).success, name).toBe(true);
    }
  });

  // Why workers/velocity counts amounts with its own script: fixedWindow adds a refused rate too.
  it('serves @upstash/ratelimit weighted by rate, and its fixedWindow counts a refused rate', async () => {
    const ratelimit = new Ratelimit({ redis, limiter: Ratelimit.fixedWindow(100_000, '1 d'), prefix: key('ratelimit-amount'), analytics: false, ephemeralCache: false });
    expect((await ratelimit.limit('EUR', { rate: 60_000 })).success).toBe(true);
    expect((await ratelimit.limit('EUR', { rate: 50_000 })).success).toBe(false);
    expect((await ratelimit.limit('EUR', { rate: 30_000 })).success).toBe(false);
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
  it('keeps every backend its own keyspace', async () => {
    const first = new EmbeddedBackend();
    const second = new EmbeddedBackend();
    await first.execute(['SET', 'velocity:golf-limited', '1']);
    expect(await second.execute(['GET', 'velocity:golf-limited'])).toEqual({ kind: 'nil' });
    await Promise.all([first.close(), second.close()]);
  });

  it('sweeps expired keys nobody reads again', async () => {
    const store = new EmbeddedBackend();
    await store.execute(['SET', 'velocity:bank-eu-1', '15000', 'PX', '50']);
    await store.execute(['SET', 'config:persistent', 'v']);
    expect(store.rememberedKeyCount).toBe(2);
    await sleep(100);
    expect(await store.sweep(100)).toBe(1);
    expect(store.rememberedKeyCount).toBe(1);
    await store.close();
  });

  it('refuses commands that may grow it past its key limit, as Redis does at maxmemory', async () => {
    const store = new EmbeddedBackend({ keysMax: 1 });
    expect(await store.execute(['SET', 'a', '1'])).toMatchObject({ kind: 'string' });
    const outOfMemory = { kind: 'error', message: "OOM command not allowed when used memory > 'maxmemory'." };
    expect(await store.execute(['SET', 'b', '1'])).toEqual(outOfMemory);
    expect(await store.execute(['EVAL', 'return 1', '0'])).toEqual(outOfMemory);
    expect(await store.execute(['GET', 'a'])).toMatchObject({ kind: 'string' });
    expect(await store.execute(['DEL', 'a'])).toEqual({ kind: 'integer', value: 1n });
    expect(await store.sweep(10)).toBe(1);
    expect(await store.execute(['SET', 'b', '1'])).toMatchObject({ kind: 'string' });
    await store.close();
  });
});
