/**
 * What Redis checks while queueing a command (inside MULTI too), before anything runs: that the
 * command exists, that the embedded store can run it, and its arity. The table is Redis' own
 * command table as shipped in @ioredis/commands (the one ioredis-mock is built from); `arity`
 * positive means exactly that many words (the name included), negative means at least that many.
 */
import { createRequire } from 'node:module';
import { refuseConnectionStateCommand, type RedisCommand } from '../backend.ts';
import { redisErrors, unknownCommandError } from '../reply.ts';

interface CommandSpec {
  arity: number;
  flags: string[];
}

const redisCommandTable = createRequire(import.meta.url)('@ioredis/commands/built/commands.json') as Record<string, CommandSpec>;

/** Scripting the bridge answers itself (embedded/lua-scripts.ts) rather than passing to the mock. */
export const scriptCommands: ReadonlySet<string> = new Set(['eval', 'evalsha', 'script']);

export type ResolvedCommand =
  | { kind: 'runnable'; name: string; args: readonly string[]; mayGrow: boolean }
  | { kind: 'rejected'; message: string };

/** `implemented`: whether the mock has the command (ioredis-mock covers about two thirds of Redis). */
export function resolveCommand(words: RedisCommand, implemented: (name: string) => boolean): ResolvedCommand {
  const name = (words[0] ?? '').toLowerCase();
  const spec = Object.hasOwn(redisCommandTable, name) ? redisCommandTable[name] : undefined;
  if (spec === undefined || !(scriptCommands.has(name) || implemented(name))) return { kind: 'rejected', message: unknownCommandError(words) };
  const refusal = refuseConnectionStateCommand(words);
  if (refusal?.kind === 'error') return { kind: 'rejected', message: refusal.message };
  const arityFits = spec.arity >= 0 ? words.length === spec.arity : words.length >= -spec.arity;
  if (!arityFits) return { kind: 'rejected', message: redisErrors.wrongArity(name) };
  const args = mockArguments(name, words.slice(1));
  if (typeof args === 'string') return { kind: 'rejected', message: args };
  // Redis refuses `denyoom` commands at maxmemory; a script may write, so it counts as one too.
  const mayGrow = spec.flags.includes('denyoom') || name === 'eval' || name === 'evalsha';
  return { kind: 'runnable', name, args, mayGrow };
}

const setOptionWords: ReadonlySet<string> = new Set(['NX', 'XX', 'GET', 'EX', 'PX', 'EXAT', 'PXAT']);
const expireCommands: ReadonlySet<string> = new Set(['expire', 'pexpire', 'expireat', 'pexpireat']);

/**
 * Where ioredis-mock reads arguments differently from Redis: it matches SET's options in upper
 * case only (@upstash/redis sends them in lower case), and it ignores SET KEEPTTL and EXPIRE's
 * NX | XX | GT | LT, which would silently answer as if the condition held. Those are refused with
 * a message naming the way out, rather than answered wrongly.
 */
function mockArguments(name: string, args: readonly string[]): readonly string[] | string {
  if (name === 'set') {
    const [key, value, ...options] = args;
    const upperOptions = options.map((option) => (setOptionWords.has(option.toUpperCase()) ? option.toUpperCase() : option));
    if (upperOptions.some((option) => option.toUpperCase() === 'KEEPTTL')) return unsupportedByMock('SET KEEPTTL');
    return [key!, value!, ...upperOptions];
  }
  if (expireCommands.has(name) && args.length > 2) return unsupportedByMock(`${name.toUpperCase()} with NX | XX | GT | LT`);
  return args;
}

function unsupportedByMock(what: string): string {
  return `ERR ${what} is not supported by the bridge's embedded store (ioredis-mock); start the bridge with REDIS_URL for it`;
}
