/**
 * Upstash accepts a Lua shebang flag that open-source Redis 7 refuses ("ERR Unexpected flag in
 * script shebang: allow-key-locking"), and @upstash/ratelimit 2.x puts it on every script. A
 * stand-in for Upstash must accept it, so before a script reaches real Redis the bridge drops
 * that flag. The script's SHA-1 changes with it: the library's EVALSHA then gets NOSCRIPT and
 * falls back to EVAL, as it is written to, so local runs pay one extra round trip per call.
 */
import type { RedisCommand } from './backend.ts';

const upstashOnlyFlags: ReadonlySet<string> = new Set(['allow-key-locking']);

export function withoutUpstashOnlyFlags(command: RedisCommand): RedisCommand {
  const name = (command[0] ?? '').toLowerCase();
  const scriptIndex = name === 'eval' ? 1 : name === 'script' && command[1]?.toLowerCase() === 'load' ? 2 : undefined;
  const script = scriptIndex === undefined ? undefined : command[scriptIndex];
  if (script === undefined || !script.startsWith('#!lua')) return command;
  const lineEnd = script.indexOf('\n');
  const shebang = lineEnd === -1 ? script : script.slice(0, lineEnd);
  const flagsMatch = /^#!lua\s+flags=(\S*)\s*$/.exec(shebang);
  if (flagsMatch === null) return command;
  const flags = flagsMatch[1]!.split(',').filter((flag) => flag !== '' && !upstashOnlyFlags.has(flag));
  const rewritten = `#!lua${flags.length === 0 ? '' : ` flags=${flags.join(',')}`}${lineEnd === -1 ? '' : script.slice(lineEnd)}`;
  return command.map((word, index) => (index === scriptIndex ? rewritten : word));
}
