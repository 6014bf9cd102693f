/**
 * The `meridian` command as a user runs it (`node cli/meridian.ts …` as a real process): every
 * group and command answers --help, unknown commands and flags are exit 2 with a suggestion and a
 * pointer at --help, --json prints one parseable document, the old top-level names still work with
 * a hint, partner keygen makes keys that sign, and a gateway that is not there is reported as
 * "is npm start running?". No gateway runs here: those commands meet a port nobody listens on.
 * Every leaf's --help is also checked in-process against the tree itself, so a new command is
 * covered without editing this file.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base64urlDecode } from '../../core/digest.ts';
import { mlDsa65KeyPairFromSeed } from '../../core/ml-dsa.ts';
import { loadDevPartners } from '../../dev/fixtures.ts';
import type { Command, CommandGroup, CommandIo } from '../../cli/command.ts';
import { meridianCommands, runMeridian } from '../../cli/meridian.ts';

const meridianEntry = resolve('cli/meridian.ts');
let scratch: string;
let deadGateway: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function meridian(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [meridianEntry, ...args], { cwd: options.cwd ?? process.cwd(), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MERIDIAN_GATEWAY: deadGateway, ...options.env } });
    const run = { stdout: '', stderr: '' };
    child.stdout.on('data', (chunk: Buffer) => (run.stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (run.stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolvePromise({ code, ...run }));
  });
}

/** runMeridian in this process, output captured. */
async function meridianInProcess(args: string[]): Promise<Run> {
  const run = { stdout: '', stderr: '' };
  const io: CommandIo = { stdout: (text) => void (run.stdout += text), stderr: (text) => void (run.stderr += text), env: { MERIDIAN_GATEWAY: deadGateway } };
  return { code: await runMeridian(args, io), ...run };
}

function leaves(group: CommandGroup, path: string[] = []): Array<{ path: string[]; command: Command }> {
  return group.children.flatMap((child) => (child.kind === 'group' ? leaves(child, [...path, child.name]) : [{ path: [...path, child.name], command: child }]));
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'meridian-cli-'));
  // A port that was free a moment ago: connecting to it is refused, like a gateway that is not running.
  const probe = createServer();
  await new Promise<void>((listening) => probe.listen(0, '127.0.0.1', listening));
  deadGateway = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise<void>((closed) => probe.close(() => closed()));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('--help', () => {
  it('meridian --help lists every group of the design with its summary, and every command under it', async () => {
    const help = await meridian(['--help']);
    expect(help.code).toBe(0);
    expect(help.stderr).toBe('');
    for (const group of ['start', 'demo', 'partner …', 'ops …', 'audit', 'keys …', 'evidence …', 'bench', 'chaos']) expect(help.stdout).toMatch(new RegExp(`^ {2}${group} +\\S`, 'm'));
    for (const { path } of leaves(meridianCommands)) expect(help.stdout).toMatch(new RegExp(`^ {${2 * path.length}}${path.at(-1)} +\\S`, 'm'));
    const bare = await meridian([]);
    expect(bare).toEqual({ code: 0, stdout: help.stdout, stderr: '' });
  });

  it('every group answers --help (exit 0); a group without a command prints it on stderr, exit 2', async () => {
    const groups = [['partner'], ['ops'], ['ops', 'audit'], ['keys'], ['evidence']];
    const runs = await Promise.all(groups.map((group) => meridian([...group, '--help'])));
    for (const [index, run] of runs.entries()) {
      expect(run.code, groups[index]!.join(' ')).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^usage: meridian ${groups[index]!.join(' ')} <command> \\[options\\]$`, 'm'));
    }
    expect(runs[0]!.stdout).toContain(`dev partners (dev/partners/): ${loadDevPartners().map((partner) => partner.partner_id).join(', ')}`);
    const bare = await meridian(['partner']);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe('');
    expect(bare.stderr).toMatch(/^ {2}pay +sign and submit one payment/m);
  });

  it('commands answer --help as a process: a usage line, their options, exit 0', async () => {
    const commands = [['start'], ['demo'], ['audit'], ['bench'], ['chaos'], ['partner', 'pay'], ['evidence', 'export']];
    const runs = await Promise.all(commands.map((command) => meridian([...command, '--help'])));
    for (const [index, run] of runs.entries()) expect(run.code, commands[index]!.join(' ')).toBe(0);
    expect(runs[1]!.stdout).toContain('--payments-per-flow <n>');
    expect(runs[2]!.stdout).toMatch(/^usage: meridian audit <backend url>… \[options\]$/m);
    expect(runs[5]!.stdout).toMatch(/^usage: meridian partner pay <partner_id> <amount> <currency> <target_currency> <creditor_bic> \[creditor_country\] \[options\]$/m);
    expect(runs[6]!.stdout).toMatch(/^ {2}meridian evidence export --from <RFC 3339> --to <RFC 3339> --out <file>/m);
    expect((await meridian(['help', 'partner', 'pay'])).stdout).toBe(runs[5]!.stdout);
  });

  it('every command in the tree prints a usage line naming each of its options, and refuses an unknown flag', async () => {
    const all = leaves(meridianCommands);
    expect(all.length).toBeGreaterThanOrEqual(19);
    for (const { path, command } of all) {
      const help = await meridianInProcess([...path, '--help']);
      expect(help.code, path.join(' ')).toBe(0);
      expect(help.stdout, path.join(' ')).toMatch(new RegExp(`^(usage: )? *meridian ${path.join(' ')}( |$)`, 'm'));
      for (const option of Object.keys(command.options)) expect(help.stdout, `${path.join(' ')} --${option}`).toContain(`--${option}`);
      if (command.raw) continue; // cli/evidence/ parses its own flags (checked below)
      const refused = await meridianInProcess([...path, '--no-such-flag']);
      expect(refused.code, path.join(' ')).toBe(2);
      expect(refused.stderr).toBe(`meridian ${path.join(' ')}: unknown option --no-such-flag\nsee \`meridian ${path.join(' ')} --help\`\n`);
      expect(refused.stdout).toBe('');
    }
  });
});

describe('mistakes are exit 2, say what is wrong and where the help is', () => {
  it('an unknown command gets the closest command and the list', async () => {
    const [root, nested, evidence, nothingClose] = await Promise.all([meridian(['evidnce']), meridian(['partner', 'stauts']), meridian(['evidence', 'frobnicate']), meridian(['xyzzy-plugh'])]);
    expect(root.code).toBe(2);
    expect(root.stderr).toBe('meridian: unknown command "evidnce"; did you mean "evidence"?\ncommands: start, demo, partner, ops, audit, keys, evidence, bench, chaos (see `meridian --help`)\n');
    expect(nested.code).toBe(2);
    expect(nested.stderr).toContain('meridian partner: unknown partner command "stauts"; did you mean "status"?');
    expect(nested.stderr).toContain('commands: pay, status, keygen, session, discover');
    expect(evidence.code).toBe(2);
    expect(evidence.stderr).toContain('unknown evidence command "frobnicate"');
    expect(nothingClose.code).toBe(2);
    expect(nothingClose.stderr).toMatch(/^meridian: unknown command "xyzzy-plugh"\ncommands: /);
    expect((await meridianInProcess(['pya'])).stderr).toContain('did you mean "partner pay"?');
  });

  it('an unknown or misspelt flag is named, with the command help to read', async () => {
    const [misspelt, missingValue, beforeCommand, evidenceFlag] = await Promise.all([
      meridian(['partner', 'discover', '--jsno']),
      meridian(['partner', 'keygen', 'zulu-bank', '--out']),
      meridian(['--verbose', 'partner']),
      meridian(['evidence', 'verify', 'bundle.json', '--bogus']),
    ]);
    expect(misspelt).toMatchObject({ code: 2, stdout: '' });
    expect(misspelt.stderr).toBe('meridian partner discover: unknown option --jsno; did you mean --json?\nsee `meridian partner discover --help`\n');
    expect(missingValue.code).toBe(2);
    expect(missingValue.stderr).toContain('meridian partner keygen: --out needs a value');
    expect(beforeCommand.code).toBe(2);
    expect(beforeCommand.stderr).toContain('meridian: unknown option --verbose: options go after the command');
    expect(evidenceFlag.code).toBe(2);
    expect(evidenceFlag.stderr).toContain("'--bogus'");
  });

  it('missing and extra arguments, an unknown dev partner, and each bad payment field by name (in-process: the same tree)', async () => {
    const partners = loadDevPartners().map((partner) => partner.partner_id).join(', ');
    const cases: Array<[string[], string]> = [
      [['partner', 'pay', 'alpha-bank', '1.00'], 'missing <currency> <target_currency> <creditor_bic>'],
      [['partner', 'status', 'alpha-bank', 'a', 'b'], 'unexpected argument "b"'],
      [['partner', 'pay', 'zulu-bank', '1.00', 'EUR', 'EUR', 'BRAVFRPPXXX'], `unknown dev partner "zulu-bank"; dev partners: ${partners}`],
      [['partner', 'pay', 'alpha-bank', '12.345', 'EUR', 'EUR', 'BRAVFRPPXXX'], '<amount> "12.345": more decimals than EUR allows (2)'],
      [['partner', 'pay', 'alpha-bank', '-5', 'EUR', 'EUR', 'BRAVFRPPXXX'], 'unknown option -5 (an argument that starts with "-" goes after --)'],
      [['partner', 'pay', 'alpha-bank', '--', '-5', 'EUR', 'EUR', 'BRAVFRPPXXX'], '<amount> "-5": not a plain decimal number'],
      [['partner', 'pay', 'alpha-bank', '10', 'eur', 'EUR', 'BRAVFRPPXXX'], '<currency> "eur" is not a payable ISO 4217 currency code'],
      [['partner', 'pay', 'alpha-bank', '10', 'EUR', 'XAU', 'BRAVFRPPXXX'], '<target_currency> "XAU" is not a payable ISO 4217 currency code'],
      [['partner', 'pay', 'alpha-bank', '10', 'EUR', 'EUR', 'bravfrppxxx'], '<creditor_bic> "bravfrppxxx" is not a BIC'],
      [['partner', 'pay', 'alpha-bank', '10', 'EUR', 'EUR', 'BRAVFRPPXXX', 'ZZ'], '[creditor_country] "ZZ" is not an ISO 3166-1 alpha-2 country code'],
      [['demo', '--payments-per-flow', '0'], '--payments-per-flow must be a whole number 1…10000, not "0"'],
      [['keys', 'rotate'], '--region is required (the backend whose key rotates, e.g. eu-1)'],
    ];
    for (const [args, message] of cases) {
      const run = await meridianInProcess(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toContain(message);
      expect(run.stderr, args.join(' ')).toContain('--help`');
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe('partner keygen', () => {
  it('--json prints the registry entry and the file name; the private key in the file signs what the public key verifies', async () => {
    const out = join(scratch, 'zulu.credentials.json');
    const run = await meridian(['partner', 'keygen', 'zulu-bank', '--hybrid', '--out', out, '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const printed = JSON.parse(run.stdout) as { partner_id: string; credentials_file: string; keys: Array<{ keyid: string; alg: string; public_jwk?: JsonWebKey; public_key?: string; not_before: string; not_after: string }> };
    expect(printed).toMatchObject({ partner_id: 'zulu-bank', credentials_file: out });
    expect(printed.keys.map((key) => key.alg)).toEqual(['ed25519', 'ml-dsa-65']);
    expect(((await stat(out)).mode & 0o777).toString(8)).toBe('600');
    const credentials = JSON.parse(await readFile(out, 'utf8')) as { keyid: string; private_jwk: JsonWebKey; ml_dsa_65: { seed: string; public_key: string } };
    expect(credentials.keyid).toBe(printed.keys[0]!.keyid);
    expect(JSON.stringify(printed)).not.toContain(credentials.private_jwk.d!);

    const message = new TextEncoder().encode('pacs.008 for zulu-bank');
    const privateKey = await crypto.subtle.importKey('jwk', credentials.private_jwk, { name: 'Ed25519' }, false, ['sign']);
    const publicKey = await crypto.subtle.importKey('jwk', printed.keys[0]!.public_jwk!, { name: 'Ed25519' }, false, ['verify']);
    expect(await crypto.subtle.verify({ name: 'Ed25519' }, publicKey, await crypto.subtle.sign({ name: 'Ed25519' }, privateKey, message), message)).toBe(true);
    const mlDsa = mlDsa65KeyPairFromSeed(base64urlDecode(credentials.ml_dsa_65.seed));
    expect(printed.keys[1]!.public_key).toBe(credentials.ml_dsa_65.public_key);
    expect(Buffer.from(mlDsa.publicKey).toString('base64url')).toBe(printed.keys[1]!.public_key);
  });

  it('never overwrites a credentials file (exit 1, file unchanged), and refuses a bad partner id (exit 2)', async () => {
    const out = join(scratch, 'existing.credentials.json');
    await writeFile(out, 'keep me');
    const again = await meridian(['partner', 'keygen', 'yankee-bank', '--out', out]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`${out} exists; refusing to overwrite private keys`);
    expect(await readFile(out, 'utf8')).toBe('keep me');
    const badId = await meridian(['partner', 'keygen', 'Yankee_Bank', '--out', join(scratch, 'never.json')]);
    expect(badId.code).toBe(2);
    expect(badId.stderr).toContain('<partner_id> "Yankee_Bank" is not a partner id');
  });
});

describe('the old top-level commands', () => {
  it('keygen still works as before, with a one-line deprecation hint on stderr', async () => {
    const out = join(scratch, 'xray.credentials.json');
    const run = await meridian(['keygen', 'xray-bank', '--out', out]);
    expect(run.code).toBe(0);
    expect(run.stderr.split('\n')[0]).toBe('meridian: `meridian keygen` is deprecated; use `meridian partner keygen` (same output)');
    expect((JSON.parse(run.stdout) as { partner_id: string; keys: unknown[] }).keys).toHaveLength(1);
  });

  it('pay keeps its JSON output: the alias implies --json, so a refusal is the problem document', async () => {
    const run = await meridian(['pay', 'alpha-bank', '125.40', 'EUR', 'EUR', 'BRAVFRPPXXX']);
    expect(run.code).toBe(1);
    expect(run.stderr.split('\n')[0]).toBe('meridian: `meridian pay` is deprecated; use `meridian partner pay --json` (same output)');
    expect(run.stderr).toContain('is `npm start` running?');
  });
});

describe('a gateway that is not running', () => {
  it('each gateway command says so, names MERIDIAN_GATEWAY, exit 1, nothing on stdout', async () => {
    const commands = [
      ['partner', 'pay', 'alpha-bank', '125.40', 'EUR', 'EUR', 'BRAVFRPPXXX'],
      ['partner', 'status', 'alpha-bank', '8c3f8a0e-0b5e-4d6c-9d7e-2f4a6b8c0d1e', '--json'],
      ['partner', 'session', 'banque-bravo'],
      ['partner', 'discover', '--json'],
    ];
    const runs = await Promise.all(commands.map((command) => meridian(command)));
    for (const [index, run] of runs.entries()) {
      const command = commands[index]!;
      const path = command.slice(0, 2).join(' ');
      expect(run.stderr, path).toBe(`meridian ${path}: cannot reach the gateway at ${deadGateway} (ECONNREFUSED); is \`npm start\` running? (MERIDIAN_GATEWAY=${deadGateway})\n`);
      expect(run.code, path).toBe(1);
      expect(run.stdout, path).toBe('');
    }
  });

  it('a MERIDIAN_GATEWAY that is not a URL is bad usage', async () => {
    const run = await meridian(['partner', 'discover'], { env: { MERIDIAN_GATEWAY: 'localhost:8787' } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('MERIDIAN_GATEWAY=localhost:8787 is not an http(s) URL');
  });
});

describe('--json on results', () => {
  it('audit --json: one JSON report, the unreachable backend as a failed check, exit 1', async () => {
    const run = await meridian(['audit', '--json', deadGateway]);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as { ok: boolean; backends: Array<{ url: string; ok: boolean; checkpoint: unknown; checks: Array<{ ok: boolean; summary: string }> }>; saved: unknown };
    expect(report).toMatchObject({ ok: false, saved: null, backends: [{ url: deadGateway, ok: false, checkpoint: null }] });
    expect(report.backends[0]!.checks[0]!.summary).toMatch(new RegExp(`^GET ${deadGateway}/v1/keys: fetch failed`));
    const notUrl = await meridian(['audit', '127.0.0.1:8701']);
    expect(notUrl.code).toBe(2);
    expect(notUrl.stderr).toContain('not a backend URL: "127.0.0.1:8701" (e.g. http://127.0.0.1:8701)');
  });

  it('keys rotate --json prints nothing on stdout when it fails: the reason is on stderr, exit 1', async () => {
    const run = await meridian(['keys', 'rotate', '--json', '--region', 'eu-1', '--key-file', join(scratch, 'nowhere', 'eu-1.json'), '--database-url', `postgres://postgres@${new URL(deadGateway).host}/none`]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^meridian keys rotate: /);
  });
});

describe('bench and chaos run the npm scripts of the project they are run in', () => {
  let project: string;

  beforeAll(async () => {
    project = await mkdtemp(join(scratch, 'project-'));
    await writeFile(join(project, 'report.js'), "console.log(`${process.argv[2]} ran with [${process.argv.slice(3).join(' ')}]`); process.exit(process.argv[2] === 'beta' ? 3 : 0);\n");
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'bench-fixture', private: true, scripts: { 'bench:alpha': 'node report.js alpha', 'bench:beta': 'node report.js beta', test: 'node report.js test' } }));
  });

  it('bench lists the bench:* scripts (human and --json)', async () => {
    const [listed, human] = await Promise.all([meridian(['bench', '--json'], { cwd: project }), meridian(['bench'], { cwd: project })]);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual({ benches: [{ name: 'alpha', script: 'bench:alpha', command: 'node report.js alpha' }, { name: 'beta', script: 'bench:beta', command: 'node report.js beta' }] });
    expect(human.stdout).toMatch(/^ {2}alpha +node report\.js alpha$/m);
    expect(human.stdout).not.toContain('test');
  });

  it('bench <name> runs that script with the arguments after --; a misspelt name gets a suggestion', async () => {
    const ran = await meridian(['bench', 'alpha', '--', '--legs', '1000'], { cwd: project });
    expect(ran.code).toBe(0);
    expect(ran.stdout).toContain('alpha ran with [--legs 1000]');
    expect(ran.stderr).toContain('meridian bench: [1/1] npm run bench:alpha');
    const misspelt = await meridian(['bench', 'alhpa'], { cwd: project });
    expect(misspelt.code).toBe(2);
    expect(misspelt.stderr).toContain('no benchmark "alhpa"; did you mean "alpha"? (benchmarks: alpha, beta)');
  });

  it('bench --all runs every one and exits 1 naming the ones that failed', async () => {
    const run = await meridian(['bench', '--all'], { cwd: project });
    expect(run.stdout).toContain('alpha ran with []');
    expect(run.stdout).toContain('beta ran with []');
    expect(run.stderr).toContain('meridian bench: 1 of 2 benchmarks failed: beta');
    expect(run.code).toBe(1);
  });

  it('chaos says it is not available without a chaos script, and runs it once there is one', async () => {
    const missing = await meridian(['chaos'], { cwd: project });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('meridian chaos: chaos drills are not available yet: package.json has no "chaos" script\n');
    const withChaos = await mkdtemp(join(scratch, 'chaos-'));
    await writeFile(join(withChaos, 'report.js'), await readFile(join(project, 'report.js'), 'utf8'));
    await writeFile(join(withChaos, 'package.json'), JSON.stringify({ name: 'chaos-fixture', private: true, scripts: { chaos: 'node report.js chaos' } }));
    const drilled = await meridian(['chaos', '--', '--drill', 'kill-eu-1'], { cwd: withChaos });
    expect(drilled.code).toBe(0);
    expect(drilled.stdout).toContain('chaos ran with [--drill kill-eu-1]');
  });
});
