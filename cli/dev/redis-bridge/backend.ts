/**
 * The one interface the HTTP layer talks to. Two implementations: the embedded in-process store
 * (`embedded/embedded-backend.ts`, the default) and real Redis through node-redis
 * (`redis-backend.ts`, when REDIS_URL is set). Both return Redis replies, Redis errors included,
 * as values; only an operating failure of the backend itself (Redis unreachable, no reply before
 * the deadline) is thrown, as a `BackendUnavailableError`.
 */
import { redisErrors, type RedisReply } from './reply.ts';

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
