/**
 * The one interface the HTTP layer talks to. Two implementations: the embedded in-process store
 * on ioredis-mock (`embedded/embedded-backend.ts`, the default) and real Redis through node-redis
 * (`redis-backend.ts`, when REDIS_URL is set). Both return Redis replies, Redis errors included,
 * as values; only an operating failure of the backend itself (Redis unreachable, no reply before
 * the deadline) is thrown, as a `BackendUnavailableError`.
 */
import { errorReply, redisErrors, type RedisReply } from './reply.ts';

/** A command as it goes to Redis: the name first, every argument already a string. */
export type RedisCommand = readonly string[];

export type BackendKind = 'embedded' | 'redis';

export type TransactionOutcome =
  /** EXEC ran: one reply per command, runtime errors (e.g. INCR on a non-integer) among them. */
  | { kind: 'committed'; replies: RedisReply[] }
  /** Nothing ran: a command was rejected while queueing (unknown command, wrong arity). */
  | { kind: 'aborted'; message: string };

export type BackendHealth = { kind: 'healthy' } | { kind: 'unhealthy'; reason: string };

export interface RedisBackend {
  readonly kind: BackendKind;
  execute(command: RedisCommand): Promise<RedisReply>;
  /** Runs the commands in order, not atomically; each gets its own reply. */
  executePipeline(commands: readonly RedisCommand[]): Promise<RedisReply[]>;
  /** Runs the commands as one MULTI/EXEC transaction. */
  executeTransaction(commands: readonly RedisCommand[]): Promise<TransactionOutcome>;
  health(): Promise<BackendHealth>;
  close(): Promise<void>;
}

export class BackendUnavailableError extends Error {
  readonly kind = 'backend-unavailable';
  readonly backend: BackendKind;

  constructor(backend: BackendKind, detail: string, options?: { cause?: unknown }) {
    super(`${backend} backend unavailable: ${detail}`, options);
    this.backend = backend;
  }
}

/** The Redis-side wording of a transaction aborted at queue time, with the first rejected command named. */
export function transactionAbortMessage(commandIndex: number, command: RedisCommand, error: string): string {
  return `${redisErrors.execAbort} Command ${commandIndex + 1} [${command[0] ?? ''}]: ${error}`;
}

/**
 * Commands that would change or block the connection every request shares (a dangling MULTI,
 * SELECT, SUBSCRIBE, a blocking pop…), or, in the embedded store, the mock client itself (QUIT).
 * Upstash's REST API has no such state either.
 */
const connectionStateCommands: ReadonlySet<string> = new Set([
  'multi', 'exec', 'discard', 'watch', 'unwatch', 'select', 'swapdb', 'auth', 'hello', 'reset', 'quit', 'client', 'monitor',
  'subscribe', 'unsubscribe', 'psubscribe', 'punsubscribe', 'ssubscribe', 'sunsubscribe', 'publish', 'spublish',
  'blpop', 'brpop', 'brpoplpush', 'blmove', 'blmpop', 'bzpopmin', 'bzpopmax', 'bzmpop', 'xread', 'xreadgroup', 'wait', 'waitaof',
]);

/** The error reply for a connection-state command, or undefined when the command may run. */
export function refuseConnectionStateCommand(command: RedisCommand): RedisReply | undefined {
  const name = (command[0] ?? '').toLowerCase();
  if (!connectionStateCommands.has(name)) return undefined;
  const hint = name === 'multi' || name === 'exec' ? ' (send the transaction to /multi-exec)' : '';
  return errorReply(`ERR '${name}' would change or block the bridge's shared connection and is not supported over REST${hint}`);
}
