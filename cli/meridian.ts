/**
 * The `meridian` command.
 *
 *   meridian start                         run the whole system locally (npm start)
 *   meridian demo                          submit demo payments to a running system and verify them (npm run demo)
 *   meridian audit <backend url>…         verify backends' transparency logs like an auditor (cli/audit.ts)
 *   meridian pay <partner> <amount> <CCY> <target CCY> <creditor BIC> [creditor country]
 *                                          sign and submit one payment as a dev partner
 *   meridian status <partner> <uetr>       a payment's status, as its owner sees it
 *   meridian keygen | session | discover   partner key generation and PQ sessions (cli/partner-commands.ts)
 *   meridian keys rotate --region <r>      rotate a regional backend's local signer key (cli/keys-commands.ts)
 *   meridian ops token | audit verify      dev Access tokens and the ops audit chain check (cli/ops-commands.ts)
 *   meridian evidence export | verify | sbom | sbom-diff | lock-check   evidence bundles and supply chain (cli/evidence/)
 */
import { loadDevPartners } from '../dev/fixtures.ts';
import { main as auditMain } from './audit.ts';
import { runDemo } from './demo.ts';
import { evidenceUsage, runEvidenceCommand } from './evidence/evidence-commands.ts';
import { gatewayUrl, startMeridian } from './dev/launcher.ts';
import { keysCommandsUsage, runKeysCommand } from './keys-commands.ts';
import { buildInstruction } from './sdk/instruction-builder.ts';
import { opsCommandsUsage, runOpsCommand } from './ops-commands.ts';
import { nodePartnerClient, partnerCommandsUsage, runPartnerCommand } from './partner-commands.ts';

const usage = `usage:
  meridian start
  meridian demo
  meridian audit [--since <file>] [--save <file>] <backend url>…   verify transparency logs offline
  meridian pay <partner_id> <amount> <currency> <target_currency> <creditor_bic> [creditor_country]
  meridian status <partner_id> <uetr>
${partnerCommandsUsage}
${keysCommandsUsage}
${opsCommandsUsage}
${evidenceUsage}
dev partners: ${loadDevPartners().map((partner) => partner.partner_id).join(', ')}
gateway: ${process.env.MERIDIAN_GATEWAY ?? gatewayUrl} (set MERIDIAN_GATEWAY to change)`;

function devPartner(partnerId: string | undefined) {
  const partner = loadDevPartners().find((candidate) => candidate.partner_id === partnerId);
  if (partner === undefined) throw new UsageError(`unknown dev partner ${String(partnerId)}`);
  return partner;
}

class UsageError extends Error {}

async function main(args: string[]): Promise<number> {
  const gateway = process.env.MERIDIAN_GATEWAY ?? gatewayUrl;
  switch (args[0]) {
    case 'start':
      await startMeridian();
      return new Promise(() => {}); // runs until Ctrl-C
    case 'demo':
      return runDemo();
    case 'audit':
      return auditMain(args.slice(1));
    case 'keys':
      return runKeysCommand(args.slice(1));
    case 'ops':
      return runOpsCommand(args.slice(1), gateway);
    case 'evidence':
      return runEvidenceCommand(args.slice(1));
    case 'pay': {
      const [, partnerId, amount, currency, target, creditorBic, creditorCountry] = args;
      if (amount === undefined || currency === undefined || target === undefined || creditorBic === undefined) throw new UsageError('pay needs <partner_id> <amount> <currency> <target_currency> <creditor_bic>');
      const partner = devPartner(partnerId);
      const instruction = buildInstruction({ debtorBic: partner.bic, debtorCountry: partner.bic.slice(4, 6), creditorBic, creditorCountry: creditorCountry ?? creditorBic.slice(4, 6), amount, currency, targetCurrency: target });
      const answer = await nodePartnerClient(partner, gateway).submitPayment(instruction);
      console.log(JSON.stringify(answer.body, null, 2));
      return answer.status === 202 ? 0 : 1;
    }
    case 'status': {
      const [, partnerId, uetr] = args;
      if (uetr === undefined) throw new UsageError('status needs <partner_id> <uetr>');
      const answer = await nodePartnerClient(devPartner(partnerId), gateway).paymentStatus(uetr);
      console.log(JSON.stringify(answer.body, null, 2));
      return answer.status === 200 ? 0 : 1;
    }
    default: {
      const handled = await runPartnerCommand(args, gateway);
      if (handled !== undefined) return handled;
      console.log(usage);
      return args[0] === undefined || args[0] === 'help' || args[0] === '--help' ? 0 : 2;
    }
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (cause) {
  if (cause instanceof UsageError) {
    console.error(`meridian: ${cause.message}\n${usage}`);
    process.exitCode = 2;
  } else if (cause instanceof TypeError && /fetch failed/.test(cause.message)) {
    console.error(`meridian: cannot reach the gateway (${(cause.cause as Error | undefined)?.message ?? cause.message}); is \`npm start\` running?`);
    process.exitCode = 1;
  } else {
    throw cause;
  }
}
