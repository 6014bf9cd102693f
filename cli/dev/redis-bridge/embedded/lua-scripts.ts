/**
 * EVAL, EVALSHA and SCRIPT LOAD | EXISTS | FLUSH for the embedded store. ioredis-mock runs Lua 5.3
 * through fengari but knows neither SCRIPT nor Redis 7's shebang line (`#!lua flags=…`, which every
 * @upstash/ratelimit script starts with, and which plain Lua reads as a syntax error), so the
 * bridge keeps the script cache itself, keyed by the SHA-1 of the script exactly as sent (the hash
 * clients compute), and hands the mock the body with the shebang blanked out (line numbers in
 * error messages stay right).
 *
 * Two fengari/ioredis-mock gaps are closed by Lua wrapped around the body (`luaPrelude`, all on
 * the script's first line so error line numbers stay right): a reply of redis.call() is a JS
 * proxy whose missing elements read as JS null rather than Lua false (so @upstash/ratelimit's
 * tokenBucket, which tests `bucket[1] == false`, would crash); and the mock returns only tables
 * whose keys Lua enumerates in one particular order, so a table built in a loop came back empty.
 * The prelude turns every redis.call() reply into a Lua table with false for nil (Redis' own
 * conversion), and the script's result is rebuilt the same way, with `{err=…}` and `{ok=…}`
 * becoming an error and a status as in Redis.
 *
 * The cache is bounded like Redis 7.4's: beyond `luaScriptsMax` scripts the oldest is forgotten,
 * and a client that still holds its hash gets NOSCRIPT and falls back to EVAL, as ratelimit does.
 */
import { createHash } from 'node:crypto';
import { arrayReply, errorReply, integerReply, okReply, redisErrors, stringReply, type RedisReply } from '../reply.ts';

export const luaScriptsMax = 500;

const luaPrelude = [
  'local redisCall, redisPcall = redis.call, redis.pcall;',
  'local function luaValue(v, first) if type(v) ~= "userdata" then return v end',
  '  local isArray, length = pcall(function() return #v end) if not isArray then return false end',
  '  local t = {} for i = length, 1, -1 do t[i] = luaValue(v[i - 1 + first], 0) end return t end;',
  'redis.call = function(...) return luaValue(redisCall(...), 1) end;',
  'redis.pcall = function(...) return luaValue(redisPcall(...), 1) end;',
  'local function luaReply(v) if type(v) ~= "table" then return v end',
  '  if v.err ~= nil then error(v.err, 0) end if v.ok ~= nil then return v.ok end',
  '  local n = 0 while v[n + 1] ~= nil do n = n + 1 end',
  '  local t = {} for i = n, 1, -1 do t[i] = luaReply(v[i]) end return t end;',
  'return luaReply((function() ',
].join(' ');
const luaEpilogue = '\nend)())';

const noScriptError = 'NOSCRIPT No matching script. Please use EVAL.';

/** Runs a script body on the mock; the mock executes it synchronously before the promise is returned. */
export type RunLua = (body: string, keyCount: number, keysAndArgs: readonly string[]) => Promise<RedisReply>;

export class LuaScripts {
  readonly #scripts = new Map<string, string>();
  readonly #runLua: RunLua;

  constructor(runLua: RunLua) {
    this.#runLua = runLua;
  }

  /** EVAL script numkeys key… arg… */
  eval([script, ...rest]: readonly string[]): Promise<RedisReply> {
    this.#remember(script!);
    return this.#run(script!, rest);
  }

  /** EVALSHA sha1 numkeys key… arg… */
  evalsha([sha, ...rest]: readonly string[]): Promise<RedisReply> {
    const script = this.#scripts.get(sha!.toLowerCase());
    return script === undefined ? Promise.resolve(errorReply(noScriptError)) : this.#run(script, rest);
  }

  /** SCRIPT LOAD script | EXISTS sha1… | FLUSH [ASYNC|SYNC] */
  script([subcommand, ...rest]: readonly string[]): RedisReply {
    switch (subcommand!.toLowerCase()) {
      case 'load':
        return rest.length === 1 ? stringReply(this.#remember(rest[0]!)) : errorReply(subcommandArityError('load'));
      case 'exists':
        return rest.length >= 1 ? arrayReply(rest.map((sha) => integerReply(this.#scripts.has(sha.toLowerCase()) ? 1 : 0))) : errorReply(subcommandArityError('exists'));
      case 'flush':
        this.#scripts.clear();
        return okReply;
      default:
        return errorReply(`ERR unknown subcommand '${subcommand!.slice(0, 128)}'. Try SCRIPT HELP.`);
    }
  }

  #remember(script: string): string {
    const sha = createHash('sha1').update(script).digest('hex');
    this.#scripts.delete(sha);
    this.#scripts.set(sha, script);
    if (this.#scripts.size > luaScriptsMax) this.#scripts.delete(this.#scripts.keys().next().value!);
    return sha;
  }

  #run(script: string, [keyCountText, ...keysAndArgs]: readonly string[]): Promise<RedisReply> {
    const keyCount = /^-?[0-9]{1,10}$/.test(keyCountText!) ? Number(keyCountText) : Number.NaN;
    if (!Number.isInteger(keyCount)) return Promise.resolve(errorReply(redisErrors.notInteger));
    if (keyCount < 0) return Promise.resolve(errorReply("ERR Number of keys can't be negative"));
    if (keyCount > keysAndArgs.length) return Promise.resolve(errorReply("ERR Number of keys can't be greater than number of args"));
    const body = withoutShebang(script);
    if (body === undefined) return Promise.resolve(errorReply('ERR Unexpected engine in script shebang'));
    return this.#runLua(luaPrelude + body + luaEpilogue, keyCount, keysAndArgs);
  }
}

/** Redis 7 reads a first line `#!<engine> [flags=…]`; only the Lua engine exists. */
function withoutShebang(script: string): string | undefined {
  if (!script.startsWith('#!')) return script;
  const lineEnd = script.indexOf('\n');
  const shebang = lineEnd === -1 ? script : script.slice(0, lineEnd);
  if (!/^#!lua(\s|$)/.test(shebang)) return undefined;
  return lineEnd === -1 ? '' : script.slice(lineEnd);
}

function subcommandArityError(subcommand: string): string {
  return `ERR unknown subcommand or wrong number of arguments for '${subcommand}'. Try SCRIPT HELP.`;
}
