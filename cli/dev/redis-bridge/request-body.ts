/**
 * Reading Upstash REST request bodies. `POST /` carries one command as a JSON array
 * (`["SET", "k", "v", "EX", 60]`); `/pipeline` and `/multi-exec` carry an array of those.
 * @upstash/redis serializes objects to JSON strings itself, so a command's elements are strings,
 * numbers or booleans; each becomes the string Redis receives.
 */
import type { RedisCommand } from './backend.ts';

export type ParsedBody<T> = { kind: 'parsed'; value: T } | { kind: 'malformed'; message: string };

export function parseCommandBody(bodyText: string): ParsedBody<RedisCommand> {
  const json = parseJson(bodyText);
  return json.kind === 'malformed' ? json : toCommand(json.value, 'the body');
}

export function parseCommandListBody(bodyText: string, commandsMax: number): ParsedBody<RedisCommand[]> {
  const json = parseJson(bodyText);
  if (json.kind === 'malformed') return json;
  if (!Array.isArray(json.value)) return malformed('the body must be a JSON array of commands, each a JSON array');
  if (json.value.length === 0) return malformed('the body holds no commands');
  if (json.value.length > commandsMax) return malformed(`the body holds ${json.value.length} commands; at most ${commandsMax} are accepted`);
  const commands: RedisCommand[] = [];
  for (const [index, element] of json.value.entries()) {
    const command = toCommand(element, `command ${index + 1}`);
    if (command.kind === 'malformed') return command;
    commands.push(command.value);
  }
  return { kind: 'parsed', value: commands };
}

function parseJson(bodyText: string): ParsedBody<unknown> {
  try {
    return { kind: 'parsed', value: JSON.parse(bodyText) as unknown };
  } catch (error) {
    return malformed(`the body is not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
}

function toCommand(value: unknown, where: string): ParsedBody<RedisCommand> {
  if (!Array.isArray(value)) return malformed(`${where} must be a JSON array such as ["GET","key"]`);
  if (value.length === 0) return malformed(`${where} is an empty array; a command needs at least its name`);
  const words: string[] = [];
  for (const [index, element] of value.entries()) {
    if (typeof element === 'string') words.push(element);
    else if ((typeof element === 'number' && Number.isFinite(element)) || typeof element === 'boolean') words.push(String(element));
    else return malformed(`element ${index + 1} of ${where} is ${element === null ? 'null' : typeof element}; only strings, numbers and booleans are accepted`);
  }
  return { kind: 'parsed', value: words };
}

function malformed(message: string): ParsedBody<never> {
  return { kind: 'malformed', message: `ERR failed to parse command: ${message}` };
}
