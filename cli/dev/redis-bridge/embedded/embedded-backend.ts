/**
 * Why an embedded store exists at all: `npm start` and `npm test` must work on a fresh machine
 * with no services installed, and no Redis server can be installed from npm without downloading a
 * native binary. So by default the bridge answers from ioredis-mock, a maintained in-process
 * Redis (about two thirds of the command set, Lua through fengari), and this file is only the
 * adapter: queue-time checks (command-table.ts), the script cache (lua-scripts.ts), reply shapes
 * (mock-reply.ts) and two limits the mock does not have. test/cli/redis-bridge.test.ts runs every
 * case, @upstash/ratelimit's scripts included, against this store and, with REDIS_URL, real Redis.
 *
 * Atomicity: ioredis-mock runs a command's emulator synchronously inside the promise it returns
 * (and a script's redis.call()s synchronously inside that), so the adapter starts every command of
 * a pipeline or MULTI/EXEC in one synchronous loop and only then awaits: no other request can
 * interleave, and a transaction or script is atomic as in Redis. Nothing may `await` in that loop.
 *
 * Limits: the mock never forgets an expired key that nobody touches again, and has no maxmemory.
 * The adapter remembers the keys that writes and scripts named, sweeps a bounded number of them
 * per tick (EXISTS drops an expired key, as Redis' lazy expiry does), and past `embeddedKeysMax`
 * remembered keys refuses commands that may grow the store with Redis' own OOM error.
 */
import { randomUUID } from 'node:crypto';
import { getKeyIndexes } from '@ioredis/commands';
import type { Redis } from 'ioredis';
import RedisMock from 'ioredis-mock';
import { type BackendHealth, type RedisBackend, type RedisCommand, type TransactionOutcome, transactionAbortMessage } from '../backend.ts';
import { errorReply, redisErrors, type RedisReply } from '../reply.ts';
import { resolveCommand, type ResolvedCommand } from './command-table.ts';
import { LuaScripts } from './lua-scripts.ts';
import { mockErrorReply, mockValueReply } from './mock-reply.ts';

/** How often the sweep looks for expired keys nobody reads again. */
const expirySweepIntervalMs = 1_000;
/** Remembered keys examined per sweep tick, so one tick stays short however large the store. */
const expirySweepKeysPerTickMax = 10_000;
/** Keys the store holds before refusing commands that may add one (Redis' `noeviction` at maxmemory). */
const embeddedKeysMax = 1_000_000;

type MockCommand = (...args: readonly (string | number)[]) => Promise<unknown>;
type RunnableCommand = Extract<ResolvedCommand, { kind: 'runnable' }>;

export interface EmbeddedBackendOptions {
  keysMax?: number;
}

export class EmbeddedBackend implements RedisBackend {
  readonly kind = 'embedded';
  readonly #mock: Redis;
  readonly #scripts: LuaScripts;
  readonly #keysMax: number;
  /** Keys named by writes and scripts since they were last found gone: what the sweep walks. */
  readonly #rememberedKeys = new Set<string>();
  #sweepCursor: Iterator<string> | undefined;
  readonly #sweepTimer: NodeJS.Timeout;

  constructor(options: EmbeddedBackendOptions = {}) {
    // ioredis-mock shares one keyspace among instances with the same host:port; a unique host
    // gives every backend (and every test) its own.
    this.#mock = new RedisMock({ host: `embedded-${randomUUID()}`, port: 6379 });
    this.#keysMax = options.keysMax ?? embeddedKeysMax;
    this.#scripts = new LuaScripts((body, keyCount, keysAndArgs) => this.#settle(this.#mockCommand('eval')(body, keyCount, ...keysAndArgs)));
    this.#sweepTimer = setInterval(() => void this.sweep(expirySweepKeysPerTickMax), expirySweepIntervalMs);
    this.#sweepTimer.unref();
  }

  async execute(command: RedisCommand): Promise<RedisReply> {
    const [reply] = await this.executePipeline([command]);
    return reply!;
  }

  async executePipeline(commands: readonly RedisCommand[]): Promise<RedisReply[]> {
    const started = commands.map((command) => {
      const resolved = resolveCommand(command, (name) => typeof this.#mockCommand(name) === 'function');
      return resolved.kind === 'rejected' ? Promise.resolve(errorReply(resolved.message)) : this.#start(resolved);
    });
    return Promise.all(started);
  }

  async executeTransaction(commands: readonly RedisCommand[]): Promise<TransactionOutcome> {
    const queued: RunnableCommand[] = [];
    for (const [index, command] of commands.entries()) {
      const resolved = resolveCommand(command, (name) => typeof this.#mockCommand(name) === 'function');
      if (resolved.kind === 'rejected') return { kind: 'aborted', message: transactionAbortMessage(index, command, resolved.message) };
      queued.push(resolved);
    }
    return { kind: 'committed', replies: await Promise.all(queued.map((command) => this.#start(command))) };
  }

  async health(): Promise<BackendHealth> {
    return { kind: 'healthy' };
  }

  async close(): Promise<void> {
    clearInterval(this.#sweepTimer);
    await this.#mock.flushall();
    this.#mock.disconnect();
  }

  /** Forgets remembered keys that are gone (expired or deleted) among at most `keysBudget`; resolves to how many. */
  async sweep(keysBudget: number): Promise<number> {
    const visited: Array<Promise<boolean>> = [];
    while (visited.length < keysBudget) {
      this.#sweepCursor ??= this.#rememberedKeys.values();
      const next = this.#sweepCursor.next();
      if (next.done === true) {
        this.#sweepCursor = undefined;
        break;
      }
      const key = next.value;
      // EXISTS deletes a key whose deadline has passed, synchronously, before its promise settles.
      visited.push(this.#mock.exists(key).then((count: number) => count === 0 && this.#rememberedKeys.delete(key)));
    }
    return (await Promise.all(visited)).filter(Boolean).length;
  }

  get rememberedKeyCount(): number {
    return this.#rememberedKeys.size;
  }

  /** Starts the command on the mock now (synchronously) and returns its reply. */
  #start(command: RunnableCommand): Promise<RedisReply> {
    if (command.mayGrow && this.#rememberedKeys.size >= this.#keysMax) return Promise.resolve(errorReply(redisErrors.outOfMemory));
    if (command.mayGrow) this.#remember(command);
    switch (command.name) {
      case 'eval':
        return this.#scripts.eval(command.args);
      case 'evalsha':
        return this.#scripts.evalsha(command.args);
      case 'script':
        return Promise.resolve(this.#scripts.script(command.args));
      default:
        return this.#settle(this.#mockCommand(command.name)(...command.args));
    }
  }

  #remember(command: RunnableCommand): void {
    let keyIndexes: number[];
    try {
      keyIndexes = getKeyIndexes(command.name, [...command.args]);
    } catch {
      return; // a malformed EVAL key count: the command itself answers the error
    }
    for (const index of keyIndexes) {
      const key = command.args[index];
      if (key !== undefined) this.#rememberedKeys.add(key);
    }
  }

  #mockCommand(name: string): MockCommand {
    return (this.#mock as unknown as Record<string, MockCommand>)[name]!;
  }

  async #settle(reply: Promise<unknown>): Promise<RedisReply> {
    try {
      return mockValueReply(await reply);
    } catch (error) {
      return mockErrorReply(error);
    }
  }
}
