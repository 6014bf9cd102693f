/**
 * `meridian bench` and `meridian chaos`: the project's npm scripts of those names (package.json in
 * the working directory), so the CLI never keeps a second list of benchmarks or drills. A script's
 * output goes straight to this terminal (stdio inherited): benchmarks and drills print their own
 * progress and figures.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineCommand, exitFailed, exitOk, jsonOption, type CommandContext } from './command.ts';
import { closestWord } from './did-you-mean.ts';

const benchScriptPrefix = 'bench:';
const chaosScript = 'chaos';

/** package.json's scripts, or the exit code after saying why there are none to read. */
async function npmScripts(context: CommandContext): Promise<Record<string, string> | number> {
  const file = join(process.cwd(), 'package.json');
  let manifest: { scripts?: unknown };
  try {
    manifest = JSON.parse(await readFile(file, 'utf8')) as { scripts?: unknown };
  } catch (error) {
    return context.failure(`cannot read ${file} (${(error as Error).message}): run meridian from the project directory`);
  }
  const scripts = manifest.scripts;
  if (typeof scripts !== 'object' || scripts === null) return {};
  return Object.fromEntries(Object.entries(scripts).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

/** `npm run <script> -- <args>` with this terminal; resolves to its exit code. */
function runNpmScript(script: string, args: readonly string[], context: CommandContext): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', script, ...(args.length === 0 ? [] : ['--', ...args])], { stdio: 'inherit' });
    child.once('error', (error) => resolve(context.failure(`cannot run npm (${error.message}): is npm on the PATH?`)));
    child.once('exit', (code) => resolve(code ?? exitFailed)); // null: killed by a signal
  });
}

export const benchCommand = defineCommand({
  name: 'bench',
  summary: "list the benchmarks (package.json's bench:* scripts), run one by name, or all with --all",
  positionals: ['[name]', '[script args]…'],
  options: { ...jsonOption, all: { type: 'boolean', description: 'run every benchmark, one after another' } },
  details: `Benchmarks print their figures and append them to bench/results/*.jsonl.
Arguments after -- go to the script: meridian bench <name> -- <args>. --json lists, it does not run.`,
  async run({ values, positionals }, context) {
    const scripts = await npmScripts(context);
    if (typeof scripts === 'number') return scripts;
    const benches = Object.entries(scripts)
      .filter(([script]) => script.startsWith(benchScriptPrefix))
      .map(([script, command]) => ({ name: script.slice(benchScriptPrefix.length), script, command }));
    const [name, ...scriptArgs] = positionals;
    if (values.all === true && name !== undefined) return context.usageError('give a benchmark name or --all, not both');
    if (name === undefined && values.all !== true) {
      if (values.json === true) context.printJson({ benches });
      else if (benches.length === 0) context.io.stdout(`no ${benchScriptPrefix}* scripts in package.json yet; the benchmarks in bench/ run directly (README, "Benchmarks")\n`);
      else context.io.stdout(`${benches.map((bench) => `  ${bench.name.padEnd(24)} ${bench.command}`).join('\n')}\nrun one: meridian bench <name>; all: meridian bench --all\n`);
      return exitOk;
    }
    if (values.json === true) return context.usageError('--json lists the benchmarks; drop it to run them');
    const chosen = name === undefined ? benches : benches.filter((bench) => bench.name === name);
    if (name !== undefined && chosen.length === 0) {
      const near = closestWord(name, benches.map((bench) => bench.name));
      return context.usageError(`no benchmark ${JSON.stringify(name.slice(0, 40))}${near === undefined ? '' : `; did you mean "${near}"?`} (benchmarks: ${benches.map((bench) => bench.name).join(', ') || 'none yet'})`);
    }
    const failed: string[] = [];
    for (const [index, bench] of chosen.entries()) {
      context.io.stderr(`${context.path}: [${index + 1}/${chosen.length}] npm run ${bench.script}\n`);
      if ((await runNpmScript(bench.script, scriptArgs, context)) !== exitOk) failed.push(bench.name);
    }
    if (failed.length > 0) return context.failure(`${failed.length} of ${chosen.length} benchmarks failed: ${failed.join(', ')}`);
    context.io.stderr(`${context.path}: ${chosen.length} benchmark${chosen.length === 1 ? '' : 's'} done\n`);
    return exitOk;
  },
});

export const chaosCommand = defineCommand({
  name: 'chaos',
  summary: 'run the chaos drills (npm run chaos) against the local system',
  positionals: ['[drill args]…'],
  options: {},
  details: 'Arguments after -- go to the drills: meridian chaos -- <args>.',
  async run({ positionals }, context) {
    const scripts = await npmScripts(context);
    if (typeof scripts === 'number') return scripts;
    if (scripts[chaosScript] === undefined) return context.failure(`chaos drills are not available yet: package.json has no "${chaosScript}" script`);
    return runNpmScript(chaosScript, positionals, context);
  },
});
