/**
 * The commands the embedded store implements: exactly what the edge Worker's velocity limits and
 * the bridge's own tests use. Anything else, EVAL and EVALSHA included (there is no Lua here),
 * is answered with Redis' own "unknown command" error, never a crash.
 *
 * `arity` follows Redis' command table: positive means exactly that many words (the name
 * included), negative means at least that many.
 */
import { errorReply, redisErrors, unknownCommandError, type RedisReply } from '../reply.ts';
import type { RedisCommand } from '../backend.ts';
import { expire, pexpire, pttl, ttl } from './expiry-commands.ts';
import type { Keyspace } from './keyspace.ts';
import { decr, decrby, del, exists, get, incr, incrby, mget, ping, set } from './string-commands.ts';

interface EmbeddedCommand {
  arity: number;
  run(keyspace: Keyspace, args: readonly string[]): RedisReply;
}

const embeddedCommands: ReadonlyMap<string, EmbeddedCommand> = new Map<string, EmbeddedCommand>([
  ['get', { arity: 2, run: get }],
  ['set', { arity: -3, run: set }],
  ['del', { arity: -2, run: del }],
  ['exists', { arity: -2, run: exists }],
  ['mget', { arity: -2, run: mget }],
  ['incr', { arity: 2, run: incr }],
  ['decr', { arity: 2, run: decr }],
  ['incrby', { arity: 3, run: incrby }],
  ['decrby', { arity: 3, run: decrby }],
  ['expire', { arity: -3, run: expire }],
  ['pexpire', { arity: -3, run: pexpire }],
  ['ttl', { arity: 2, run: ttl }],
  ['pttl', { arity: 2, run: pttl }],
  ['ping', { arity: -1, run: ping }],
]);

/** PING takes at most one argument; Redis enforces that inside the command, so do we. */
const argumentsMaxByCommand: ReadonlyMap<string, number> = new Map([['ping', 1]]);

export type ResolvedCommand = { kind: 'runnable'; command: EmbeddedCommand; args: readonly string[] } | { kind: 'rejected'; message: string };

/** What Redis checks while queueing a command (inside MULTI too): that it exists and its arity. */
export function resolveCommand(words: RedisCommand): ResolvedCommand {
  const name = (words[0] ?? '').toLowerCase();
  const command = embeddedCommands.get(name);
  if (command === undefined) return { kind: 'rejected', message: unknownCommandError(words) };
  const arityFits = command.arity >= 0 ? words.length === command.arity : words.length >= -command.arity;
  const args = words.slice(1);
  if (!arityFits || args.length > (argumentsMaxByCommand.get(name) ?? Infinity)) {
    return { kind: 'rejected', message: redisErrors.wrongArity(name) };
  }
  return { kind: 'runnable', command, args };
}

export function runCommand(keyspace: Keyspace, words: RedisCommand): RedisReply {
  const resolved = resolveCommand(words);
  return resolved.kind === 'rejected' ? errorReply(resolved.message) : resolved.command.run(keyspace, resolved.args);
}
