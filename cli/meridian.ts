/**
 * The `meridian` command (DESIGN.md "Developer surfaces"): one tree of command groups, each
 * command parsed by cli/command.ts and answering `--help`.
 *
 *   start | demo                       the local system, and payments through it
 *   partner pay|status|keygen|session|discover   as a dev partner (cli/partner-commands.ts)
 *   ops token|audit verify|changes     as an operator (cli/ops-commands.ts)
 *   audit <backend url>…               the offline transparency-log auditor (cli/audit.ts)
 *   keys rotate                        regional signer keys (cli/keys-commands.ts)
 *   evidence export|verify|sbom|sbom-diff|lock-check   evidence bundles (cli/evidence/, own parsing)
 *   bench | chaos                      the npm scripts of those names (cli/script-commands.ts)
 *
 * The old top-level `pay`, `status`, `keygen`, `session` and `discover` still work, with a
 * one-line hint on stderr; they keep printing JSON as they did (as `--json` does now).
 */
import { auditCommand } from './audit.ts';
import { defineCommand, defineGroup, defineRawCommand, exitFailed, processIo, runGroup, type CommandIo } from './command.ts';
import { connectionFailure } from './gateway-reach.ts';
import { keysGroup } from './keys-commands.ts';
import { opsGroup } from './ops-commands.ts';
import { partnerGroup } from './partner-commands.ts';
import { benchCommand, chaosCommand } from './script-commands.ts';

/** The demo's size is an input: bounded, so a typo cannot ask for millions of payments. */
export const demoPaymentsPerFlowMax = 10_000;

const start = defineCommand({
  name: 'start',
  summary: 'run the whole system on this machine (npm start): gateway, regional backends, bridge, databases',
  options: {},
  details: `Prints \`meridian: ready\` when every part answers /healthz; Ctrl-C stops everything.
Data (Durable Objects, databases, signer keys) stays in MERIDIAN_DATA_DIR or .data/.`,
  async run() {
    const { startMeridian } = await import('./dev/launcher.ts');
    await startMeridian();
    return new Promise<number>(() => {}); // the launcher runs until Ctrl-C and exits itself
  },
});

const demo = defineCommand({
  name: 'demo',
  summary: 'submit payments from the dev partners across 5 corridors to `npm start`, wait for settlement, verify the evidence',
  options: {
    'payments-per-flow': { type: 'string', valueName: 'n', description: `payments in each of the 5 flows, 1…${demoPaymentsPerFlowMax} (default MERIDIAN_DEMO_PAYMENTS_PER_FLOW, else 60)` },
  },
  details: 'Prints progress, then settled payments per corridor, net positions and verified receipts; exit 1 if any payment did not settle or verify.',
  async run({ values }, context) {
    const perFlow = values['payments-per-flow'];
    if (perFlow !== undefined) {
      if (!/^[1-9][0-9]{0,5}$/.test(perFlow) || Number(perFlow) > demoPaymentsPerFlowMax) return context.usageError(`--payments-per-flow must be a whole number 1…${demoPaymentsPerFlowMax}, not ${JSON.stringify(perFlow.slice(0, 20))}`);
      // cli/demo.ts reads its size from the environment when it loads: set it before the import.
      process.env.MERIDIAN_DEMO_PAYMENTS_PER_FLOW = perFlow;
    }
    const { runDemo } = await import('./demo.ts');
    return runDemo();
  },
});

/** D's synopsis line of one evidence command, from the usage text its module keeps (one source). */
async function evidenceSynopsis(name: string): Promise<string> {
  const { evidenceUsage } = await import('./evidence/evidence-commands.ts');
  const lines = evidenceUsage.split('\n').filter((line) => line.trim() === `meridian evidence ${name}` || line.trim().startsWith(`meridian evidence ${name} `));
  return lines.length === 0 ? evidenceUsage : lines.join('\n');
}

function evidenceCommand(name: string, summary: string) {
  return defineRawCommand({
    name,
    summary,
    details: () => evidenceSynopsis(name),
    async run(args, context) {
      const { runEvidenceCommand } = await import('./evidence/evidence-commands.ts');
      return runEvidenceCommand([name, ...args], { stdout: context.io.stdout, stderr: context.io.stderr });
    },
  });
}

const evidence = defineGroup({
  name: 'evidence',
  summary: 'evidence bundles for auditors and the supply chain (cli/evidence/)',
  children: [
    evidenceCommand('export', 'a signed evidence bundle of a period: logs, receipts, instructions, ops audit, SBOMs'),
    evidenceCommand('verify', 'verify a bundle offline; exit 1 naming each failed item'),
    evidenceCommand('sbom', 'CycloneDX SBOMs of the gateway and regional builds (build/sbom)'),
    evidenceCommand('sbom-diff', 'packages new, removed and changed between two SBOMs, with licences'),
    evidenceCommand('lock-check', "installed packages match package-lock.json's integrity hashes"),
  ],
});

interface Alias {
  name: string;
  target: readonly string[];
  /** Flags that keep the old output: the old commands printed the gateway's JSON. */
  implied: readonly string[];
}

const aliases: readonly Alias[] = [
  { name: 'pay', target: ['partner', 'pay'], implied: ['--json'] },
  { name: 'status', target: ['partner', 'status'], implied: ['--json'] },
  { name: 'keygen', target: ['partner', 'keygen'], implied: [] },
  { name: 'session', target: ['partner', 'session'], implied: ['--json'] },
  { name: 'discover', target: ['partner', 'discover'], implied: ['--json'] },
];

export const meridianCommands = defineGroup({
  name: 'meridian',
  summary: 'Meridian, a zero-trust gateway for cross-border payments: the local system and its tools',
  children: [start, demo, partnerGroup, opsGroup, auditCommand, keysGroup, evidence, benchCommand, chaosCommand],
  details: `environment:
  MERIDIAN_GATEWAY   the gateway partner and ops commands talk to (default: npm start's)
exit codes: 0 done, 1 failed (refused, unverified, unreachable), 2 bad usage
deprecated: pay, status, keygen, session, discover (now meridian partner …)`,
  renamed: Object.fromEntries(aliases.map((alias) => [alias.name, alias.target.join(' ')])),
});



export async function runMeridian(argv: readonly string[], io: CommandIo = processIo): Promise<number> {
  const alias = aliases.find((candidate) => candidate.name === argv[0]);
  if (alias === undefined) return runGroup(meridianCommands, ['meridian'], argv, io);
  const replacement = [...alias.target, ...alias.implied];
  io.stderr(`meridian: \`meridian ${alias.name}\` is deprecated; use \`meridian ${replacement.join(' ')}\` (same output)\n`);
  return runGroup(meridianCommands, ['meridian'], [...replacement, ...argv.slice(1)], io);
}

if (import.meta.main) {
  try {
    process.exitCode = await runMeridian(process.argv.slice(2));
  } catch (cause) {
    // Commands handle their operating errors; a connection dropped deep inside a long run (the demo,
    // an export) is one too. Anything else arriving here is a bug.
    const connection = connectionFailure(cause);
    if (connection !== undefined) process.stderr.write(`meridian: a connection failed (${connection}); is \`npm start\` running and healthy? (its logs: .data/logs/)\n`);
    else process.stderr.write(`meridian: unexpected error (a bug: please report it with this trace)\n${(cause as Error).stack ?? String(cause)}\n`);
    process.exitCode = exitFailed;
  }
}
