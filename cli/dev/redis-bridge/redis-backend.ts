/**
 * The real-Redis backend (REDIS_URL set): every Upstash command is forwarded verbatim with
 * node-redis' `sendCommand`, over one connection. A /multi-exec request becomes a real
 * MULTI … EXEC on that connection.
 *
 * Driver options are explicit: RESP2 (the reply shapes the Upstash REST API mirrors), strings as
 * Buffers and integers as decimal strings (so bytes and 64-bit counters pass through unchanged),
 * a connect timeout, a bounded reconnect back-off, and no offline queue: while Redis is away
 * a request fails at once with 503 instead of piling up. node-redis' own per-command `timeout`
 * only bounds the wait *before* a command is written (and could drop one command out of the
 * middle of a MULTI chain), so the reply deadline is enforced here with `withDeadline`.
 */
import { createClient, ErrorReply, RESP_TYPES } from 'redis';
import { type BackendHealth, BackendUnavailableError, type RedisBackend, type RedisCommand, refuseConnectionStateCommand, type TransactionOutcome, transactionAbortMessage } from './backend.ts';
import { withDeadline } from './deadline.ts';
import { withoutUpstashOnlyFlags } from './upstash-script-flags.ts';
import { arrayReply, errorReply, integerReply, nilReply, redisErrors, type RedisReply } from './reply.ts';

export const redisConnectTimeoutMsDefault = 5_000;
/** Deadline for one reply (or a whole pipeline / transaction) from Redis. */
const redisCommandTimeoutMs = 5_000;
const redisReconnectDelayStepMs = 100;
const redisReconnectDelayMsMax = 2_000;
const redisCloseTimeoutMs = 2_000;

const typeMapping = {
  [RESP_TYPES.BLOB_STRING]: Buffer,
  [RESP_TYPES.SIMPLE_STRING]: Buffer,
  [RESP_TYPES.NUMBER]: String,
} as const;

export interface RedisBackendOptions {
  redisUrl: string;
  connectTimeoutMs?: number;
  log: (line: string) => void;
}

export async function connectRedisBackend(options: RedisBackendOptions): Promise<RedisBackend> {
  const connectTimeoutMs = options.connectTimeoutMs ?? redisConnectTimeoutMsDefault;
  const target = redactedRedisUrl(options.redisUrl);
  const client = createClient({
    url: options.redisUrl,
    RESP: 2,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: connectTimeoutMs,
      reconnectStrategy: (retries) => Math.min((retries + 1) * redisReconnectDelayStepMs, redisReconnectDelayMsMax),
    },
    commandOptions: { typeMapping },
  });
  client.on('error', (error: Error) => options.log(`redis-bridge: redis at ${target}: ${error.message}`));
  try {
    await withDeadline(client.connect(), connectTimeoutMs, () => new BackendUnavailableError('redis', `no connection to ${target} within ${connectTimeoutMs} ms`));
  } catch (error) {
    client.destroy();
    throw error;
  }
  return new NodeRedisBackend((command, chainId) => client.sendCommand<unknown>(command, chainId === undefined ? {} : { chainId }), {
    close: async () => {
      await withDeadline(client.close(), redisCloseTimeoutMs, () => new Error('close timed out')).catch(() => client.destroy());
    },
    target,
  });
}

type SendCommand = (command: RedisCommand, chainId?: symbol) => Promise<unknown>;

class NodeRedisBackend implements RedisBackend {
  readonly kind = 'redis';
  readonly #send: SendCommand;
  readonly #close: () => Promise<void>;
  readonly #target: string;

  constructor(send: SendCommand, connection: { close: () => Promise<void>; target: string }) {
    this.#send = send;
    this.#close = connection.close;
    this.#target = connection.target;
  }

  async execute(command: RedisCommand): Promise<RedisReply> {
    const [reply] = await this.executePipeline([command]);
    return reply!;
  }

  async executePipeline(commands: readonly RedisCommand[]): Promise<RedisReply[]> {
    const replies = commands.map(async (command) => {
      const refusal = refuseConnectionStateCommand(command);
      if (refusal !== undefined) return refusal;
      try {
        return toRedisReply(await this.#send(withoutUpstashOnlyFlags(command)));
      } catch (error) {
        if (error instanceof ErrorReply) return errorReply(error.message);
        throw this.#unavailable(command, error);
      }
    });
    return this.#withinDeadline(Promise.all(replies), commands);
  }

  async executeTransaction(commands: readonly RedisCommand[]): Promise<TransactionOutcome> {
    for (const [index, command] of commands.entries()) {
      const refusal = refuseConnectionStateCommand(command);
      if (refusal?.kind === 'error') return { kind: 'aborted', message: transactionAbortMessage(index, command, refusal.message) };
    }
    // One chain id keeps MULTI, the commands and EXEC together on the connection.
    const chainId = Symbol('upstash multi-exec');
    const chain = [['MULTI'], ...commands.map(withoutUpstashOnlyFlags), ['EXEC']].map((command) => this.#send(command, chainId));
    const settled = await this.#withinDeadline(Promise.allSettled(chain), commands);
    for (const [index, outcome] of settled.entries()) {
      if (outcome.status === 'fulfilled') continue;
      if (!(outcome.reason instanceof ErrorReply)) throw this.#unavailable(['MULTI'], outcome.reason);
      if (index === 0 || index > commands.length) return { kind: 'aborted', message: outcome.reason.message };
      return { kind: 'aborted', message: transactionAbortMessage(index - 1, commands[index - 1]!, outcome.reason.message) };
    }
    const execReply = settled.at(-1);
    if (execReply?.status !== 'fulfilled' || !Array.isArray(execReply.value)) return { kind: 'aborted', message: redisErrors.execAbort };
    return { kind: 'committed', replies: execReply.value.map(toRedisReply) };
  }

  async health(): Promise<BackendHealth> {
    try {
      await this.execute(['PING']);
      return { kind: 'healthy' };
    } catch (error) {
      return { kind: 'unhealthy', reason: error instanceof Error ? error.message : String(error) };
    }
  }

  async close(): Promise<void> {
    await this.#close();
  }

  #withinDeadline<T>(work: Promise<T>, commands: readonly RedisCommand[]): Promise<T> {
    const names = commands.map((command) => command[0]).join(', ');
    return withDeadline(work, redisCommandTimeoutMs, () => new BackendUnavailableError('redis', `no reply from ${this.#target} within ${redisCommandTimeoutMs} ms to [${names}]`));
  }

  #unavailable(command: RedisCommand, cause: unknown): BackendUnavailableError {
    const detail = cause instanceof Error ? cause.message : String(cause);
    return new BackendUnavailableError('redis', `${command[0]} to ${this.#target} failed: ${detail}`, { cause });
  }
}

/** node-redis' reply (under the type mapping above) as a bridge reply. */
function toRedisReply(raw: unknown): RedisReply {
  if (raw === null || raw === undefined) return nilReply;
  if (raw instanceof ErrorReply) return errorReply(raw.message);
  if (raw instanceof Uint8Array) return { kind: 'string', bytes: raw };
  if (typeof raw === 'string') return integerReply(BigInt(raw));
  if (Array.isArray(raw)) return arrayReply(raw.map(toRedisReply));
  throw new TypeError(`redis-bridge: unexpected reply type from node-redis: ${Object.prototype.toString.call(raw)}`);
}

/** The URL for logs and errors, without its password. */
function redactedRedisUrl(redisUrl: string): string {
  try {
    const url = new URL(redisUrl);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return '<unparseable REDIS_URL>';
  }
}
