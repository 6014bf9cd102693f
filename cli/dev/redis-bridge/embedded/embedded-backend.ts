/**
 * Why an embedded store exists at all: `npm start` and `npm test` must work on a fresh machine
 * with no services installed, and no Redis server can be installed from npm without downloading
 * a native binary at install time. So by default the bridge answers from this in-process store,
 * which implements only the commands Meridian uses (see `command-table.ts`) with Redis 7
 * semantics. The trade-off is drift from real Redis; test/cli/redis-bridge.test.ts runs the same
 * cases, through the real @upstash/redis client, against this store and (with REDIS_URL set)
 * against real Redis, and compares the two reply for reply (error texts included) on a script of
 * edge cases, so they cannot silently disagree.
 *
 * Node runs one request handler at a time, and every command here is synchronous, so a pipeline
 * or a MULTI/EXEC runs without any other request interleaving: transactions are atomic.
 */
import { type BackendHealth, type RedisBackend, type RedisCommand, type TransactionOutcome, transactionAbortMessage } from '../backend.ts';
import type { RedisReply } from '../reply.ts';
import { type ResolvedCommand, resolveCommand, runCommand } from './command-table.ts';
import { Keyspace } from './keyspace.ts';

/** How often the sweep reclaims expired keys that nobody reads again. */
const expirySweepIntervalMs = 1_000;
/** Volatile keys examined per sweep tick, so one tick stays short however large the store. */
const expirySweepKeysPerTickMax = 10_000;
/** Keys the store holds before refusing writes that would add one (Redis' OOM error). */
const embeddedKeysMax = 1_000_000;

export interface EmbeddedBackendOptions {
  now?: () => number;
  keysMax?: number;
}

export class EmbeddedBackend implements RedisBackend {
  readonly kind = 'embedded';
  readonly keyspace: Keyspace;
  readonly #sweepTimer: NodeJS.Timeout;

  constructor(options: EmbeddedBackendOptions = {}) {
    this.keyspace = new Keyspace({ now: options.now ?? Date.now, keysMax: options.keysMax ?? embeddedKeysMax });
    this.#sweepTimer = setInterval(() => this.keyspace.sweep(expirySweepKeysPerTickMax), expirySweepIntervalMs);
    this.#sweepTimer.unref();
  }

  async execute(command: RedisCommand): Promise<RedisReply> {
    return runCommand(this.keyspace, command);
  }

  async executePipeline(commands: readonly RedisCommand[]): Promise<RedisReply[]> {
    return commands.map((command) => runCommand(this.keyspace, command));
  }

  async executeTransaction(commands: readonly RedisCommand[]): Promise<TransactionOutcome> {
    const queued: Array<Extract<ResolvedCommand, { kind: 'runnable' }>> = [];
    for (const [index, command] of commands.entries()) {
      const resolved = resolveCommand(command);
      if (resolved.kind === 'rejected') {
        return { kind: 'aborted', message: transactionAbortMessage(index, command, resolved.message) };
      }
      queued.push(resolved);
    }
    return { kind: 'committed', replies: queued.map(({ command, args }) => command.run(this.keyspace, args)) };
  }

  async health(): Promise<BackendHealth> {
    return { kind: 'healthy' };
  }

  async close(): Promise<void> {
    clearInterval(this.#sweepTimer);
  }
}
