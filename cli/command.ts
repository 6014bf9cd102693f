/**
 * The `meridian` command tree: groups (`partner`, `ops`, …) of commands, where a command is a name,
 * a one-line summary, its positionals, its options and `run(parsed, context) → exit code`. Every
 * command's flags go through node:util parseArgs in strict mode, and its `--help` is rendered from
 * the same option table that is parsed, so the help cannot list a flag the parser refuses.
 *
 * Exit codes, for every command: 0 done; 1 failed (a check did not verify, the gateway refused,
 * something was unreachable); 2 bad usage (unknown command or flag, missing argument), with the
 * problem and a pointer at `--help` on stderr.
 *
 * Output: results on stdout, progress and errors on stderr. With `--json` (commands that print
 * results) stdout carries exactly one JSON document, so a script can pipe it to `jq`.
 *
 * Command modules keep their top level light (heavy modules are imported inside `run`), because
 * `meridian --help` loads every definition.
 */
import { parseArgs, type ParseArgsOptionDescriptor } from 'node:util';
import { closestWord } from './did-you-mean.ts';

export const exitOk = 0;
export const exitFailed = 1;
export const exitUsage = 2;

export interface CommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export const processIo: CommandIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  env: process.env,
};

export interface OptionSpec extends ParseArgsOptionDescriptor {
  /** One line for `--help`. */
  description: string;
  /** The placeholder in `--help` for a string option: `--out <file>`. */
  valueName?: string;
  /** Refused as bad usage when absent (and shown in the usage line). */
  required?: boolean;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** The --json flag of every command that prints results. */
export const jsonOption = { json: { type: 'boolean', description: 'print the result as one JSON document on stdout' } } as const satisfies OptionSpecs;

type Parsed<O extends OptionSpecs> = ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>;

export interface CommandContext {
  /** `meridian partner pay`: the prefix of every message this command prints. */
  readonly path: string;
  readonly io: CommandIo;
  /** Prints `<path>: <message>` and where the help is; returns exit code 2. */
  usageError(message: string): number;
  /** Prints `<path>: <message>`; returns exit code 1. */
  failure(message: string): number;
  /** Writes `value` as the command's one JSON document. */
  printJson(value: unknown): void;
}

export interface Command {
  kind: 'command';
  name: string;
  summary: string;
  /** `<partner_id>`, `[creditor_country]`, `<backend url>…` (repeatable, last only). */
  positionals: readonly string[];
  options: OptionSpecs;
  /** Paragraphs after the usage line; a function for text that needs a module loaded. */
  details?: string | (() => Promise<string>);
  /** Raw commands get argv untouched (they parse it themselves): only `--help` is taken here. */
  raw: boolean;
  run(parsed: { values: Record<string, unknown>; positionals: string[] }, context: CommandContext): Promise<number>;
}

export interface CommandGroup {
  kind: 'group';
  name: string;
  summary: string;
  details?: string | (() => Promise<string>);
  children: ReadonlyArray<Command | CommandGroup>;
  /** Old names still accepted (by the caller) → what to suggest instead, for "did you mean". */
  renamed?: Readonly<Record<string, string>>;
}

export interface CommandSpec<O extends OptionSpecs> {
  name: string;
  summary: string;
  positionals?: readonly string[];
  options: O;
  details?: string | (() => Promise<string>);
  run(parsed: Parsed<O>, context: CommandContext): Promise<number>;
}

export function defineCommand<const O extends OptionSpecs>(spec: CommandSpec<O>): Command {
  return { kind: 'command', positionals: [], ...spec, raw: false, run: (parsed, context) => spec.run(parsed as Parsed<O>, context) };
}

/** A command whose own module parses its argv (e.g. cli/evidence/): it still answers `--help` here. */
export function defineRawCommand(spec: Omit<CommandSpec<OptionSpecs>, 'run' | 'options'> & { run(args: string[], context: CommandContext): Promise<number> }): Command {
  return { kind: 'command', positionals: [], options: {}, ...spec, raw: true, run: (parsed, context) => spec.run(parsed.positionals, context) };
}

export function defineGroup(group: Omit<CommandGroup, 'kind'>): CommandGroup {
  return { kind: 'group', ...group };
}

const helpOption = { help: { type: 'boolean', short: 'h', description: 'print this help' } } as const satisfies OptionSpecs;

export function commandContext(path: string, io: CommandIo): CommandContext {
  return {
    path,
    io,
    usageError: (message) => {
      io.stderr(`${path}: ${message}\nsee \`${path} --help\`\n`);
      return exitUsage;
    },
    failure: (message) => {
      io.stderr(`${path}: ${message}\n`);
      return exitFailed;
    },
    printJson: (value) => io.stdout(`${JSON.stringify(value, null, 2)}\n`),
  };
}

/**
 * Walks `argv` down from `group` to a command and runs it. `path` is the words that led to
 * `group` (`['meridian']` at the root). A group without a command prints its help: on stdout with
 * exit 0 at the root (plain `meridian` is asking what there is), on stderr with exit 2 below it.
 */
export async function runGroup(group: CommandGroup, path: readonly string[], argv: readonly string[], io: CommandIo): Promise<number> {
  let node: Command | CommandGroup = group;
  const words = [...path];
  let rest = [...argv];
  while (node.kind === 'group') {
    const [word, ...after]: string[] = rest;
    if (word === undefined) {
      if (words.length === 1) io.stdout(await groupHelp(node, words));
      else io.stderr(await groupHelp(node, words));
      return words.length === 1 ? exitOk : exitUsage;
    }
    if (word === '--help' || word === '-h') {
      io.stdout(await groupHelp(node, words));
      return exitOk;
    }
    if (word === 'help') {
      rest = [...after, '--help']; // `meridian help partner pay` is `meridian partner pay --help`
      continue;
    }
    const context = commandContext(words.join(' '), io);
    if (word.startsWith('-')) return context.usageError(`unknown option ${word.slice(0, 40)}: options go after the command`);
    const child: Command | CommandGroup | undefined = node.children.find((candidate) => candidate.name === word);
    if (child === undefined) return unknownCommand(node, words, word, io);
    node = child;
    words.push(word);
    rest = after;
  }
  return runCommand(node, words.join(' '), rest, io);
}

function unknownCommand(group: CommandGroup, words: readonly string[], word: string, io: CommandIo): number {
  const names = group.children.map((child) => child.name);
  const renamed = group.renamed ?? {};
  const closest = closestWord(word, [...names, ...Object.keys(renamed)]);
  const near = closest === undefined ? undefined : (renamed[closest] ?? closest);
  const within = words.length === 1 ? '' : `${words.slice(1).join(' ')} `;
  const path = words.join(' ');
  io.stderr(`${path}: unknown ${within}command ${JSON.stringify(word.slice(0, 40))}${near === undefined ? '' : `; did you mean "${near}"?`}\ncommands: ${names.join(', ')} (see \`${path} --help\`)\n`);
  return exitUsage;
}

/** Parses `args` strictly against the command's options and positionals, then runs it. */
export async function runCommand(command: Command, path: string, args: readonly string[], io: CommandIo): Promise<number> {
  const context = commandContext(path, io);
  const beforeDashes = args.includes('--') ? args.slice(0, args.indexOf('--')) : args;
  if (beforeDashes.includes('--help') || beforeDashes.includes('-h')) {
    io.stdout(await commandHelp(command, path));
    return exitOk;
  }
  if (command.raw) return command.run({ values: {}, positionals: [...args] }, context);
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...args], options: parserOptions(command.options), strict: true, allowPositionals: true });
  } catch (error) {
    const problem = parseProblem(error, command.options);
    if (problem === undefined) throw error;
    return context.usageError(problem);
  }
  const missingOption = Object.entries(command.options).find(([name, option]) => option.required === true && parsed.values[name] === undefined);
  if (missingOption !== undefined) return context.usageError(`--${missingOption[0]} is required (${missingOption[1].description})`);
  const required = command.positionals.filter((name) => name.startsWith('<'));
  const repeatable = command.positionals.at(-1)?.endsWith('…') === true;
  if (parsed.positionals.length < required.length) return context.usageError(`missing ${required.slice(parsed.positionals.length).join(' ')}`);
  if (!repeatable && parsed.positionals.length > command.positionals.length) return context.usageError(`unexpected argument ${JSON.stringify(parsed.positionals[command.positionals.length]!.slice(0, 60))}`);
  return command.run(parsed, context);
}

/** parseArgs refuses keys it does not know of in some versions: pass it only its own. */
function parserOptions(options: OptionSpecs): Record<string, ParseArgsOptionDescriptor> {
  const parser: Record<string, ParseArgsOptionDescriptor> = {};
  for (const [name, { type, short, multiple, default: fallback }] of Object.entries(options)) {
    parser[name] = { type, ...(short === undefined ? {} : { short }), ...(multiple === undefined ? {} : { multiple }), ...(fallback === undefined ? {} : { default: fallback }) } as ParseArgsOptionDescriptor;
  }
  return parser;
}

/** A parseArgs error as one line naming the flag; undefined for anything that is not one. */
function parseProblem(error: unknown, options: OptionSpecs): string | undefined {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS')) return undefined;
  const message = (error as Error).message;
  const quoted = /'([^']+)'/.exec(message)?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = quoted.split('=')[0]!.slice(0, 40);
    const near = flag.startsWith('--') ? closestWord(flag, Object.keys(options).map((name) => `--${name}`)) : undefined;
    if (/^-[0-9.]/.test(flag)) return `unknown option ${flag} (an argument that starts with "-" goes after --)`;
    return `unknown option ${flag}${near === undefined ? '' : `; did you mean ${near}?`}`;
  }
  const flag = /--[A-Za-z0-9-]+/.exec(quoted)?.[0];
  if (flag !== undefined && message.endsWith('argument missing')) return `${flag} needs a value`;
  if (flag !== undefined && message.includes('does not take an argument')) return `${flag} takes no value`;
  return message;
}

async function detailsText(details: string | (() => Promise<string>) | undefined): Promise<string> {
  if (details === undefined) return '';
  return `\n${typeof details === 'string' ? details : await details()}\n`;
}

function optionSynopsis(name: string, option: OptionSpec): string {
  return `--${name}${option.type === 'string' ? ` <${option.valueName ?? 'value'}>` : ''}`;
}

export async function commandHelp(command: Command, path: string): Promise<string> {
  // A raw command's module owns its flags: its own synopsis is the truth.
  if (command.raw) return `${command.summary}\n\nusage:\n${typeof command.details === 'function' ? await command.details() : (command.details ?? path)}\n`;
  const required = Object.entries(command.options).filter(([, option]) => option.required === true).map(([name, option]) => optionSynopsis(name, option));
  const usage = [path, ...required, ...command.positionals, '[options]'].join(' ');
  const options: OptionSpecs = { ...command.options, ...helpOption };
  const lines = Object.entries(options).map(([name, option]) => {
    const flag = `${option.short === undefined ? '    ' : `-${option.short}, `}${optionSynopsis(name, option)}${option.multiple === true ? ' (repeatable)' : ''}`;
    return `  ${flag.padEnd(30)} ${option.description}`;
  });
  return `usage: ${usage}\n\n${command.summary}\n${await detailsText(command.details)}\noptions:\n${lines.join('\n')}\n`;
}

/** Each child with its summary; a group's own children indented under it (the tree is ours, two levels deep). */
function listing(group: CommandGroup, indent: string): string[] {
  return group.children.flatMap((child) => {
    const line = `${indent}${(child.kind === 'group' ? `${child.name} …` : child.name).padEnd(26 - indent.length)} ${child.summary}`;
    return child.kind === 'group' ? [line, ...listing(child, `${indent}  `)] : [line];
  });
}

export async function groupHelp(group: CommandGroup, words: readonly string[]): Promise<string> {
  const path = words.join(' ');
  return `usage: ${path} <command> [options]\n\n${group.summary}\n\ncommands:\n${listing(group, '  ').join('\n')}\n${await detailsText(group.details)}\n\`${path} <command> --help\` prints a command's arguments and options.\n`;
}
