/**
 * `meridian partner …`: what a partner bank's engineer does against the gateway, here as one of
 * the dev partners (dev/partners/): sign and submit a payment, ask its status, generate keys, open
 * a PQ session, read the discovery document. The signing, sealing, retrying, session and receipt
 * work is the partner SDK's (@meridian/partner-sdk, packages/partner-sdk), imported by its package
 * name as a partner would, so every run exercises it; this file parses, validates and prints.
 *
 * Payment fields are checked here with the gateway's own rules (core/money.ts, core/bic.ts, …),
 * so a typo is named by its field before anything is signed; the gateway checks them again.
 */
import { existsSync, writeFileSync } from 'node:fs';
import type { GatewayAnswer, MeridianClient, PartnerCredentials } from '@meridian/partner-sdk';
import { isBic } from '../core/bic.ts';
import { isCountryCode } from '../core/iso3166.ts';
import { currencyExponent } from '../core/iso4217.ts';
import { parseAmount } from '../core/money.ts';
import { loadDevPartners, type DevPartner } from '../dev/fixtures.ts';
import { defineCommand, defineGroup, exitFailed, exitOk, jsonOption, type CommandContext } from './command.ts';
import { gatewayRequestTimeoutMs, resolveGateway, unreachableMessage, type Gateway } from './gateway-reach.ts';

const partnerIdPattern = /^[a-z0-9][a-z0-9-]{1,62}$/;
/** Longer string fields are cut in human output (receipts are JWSs of a kilobyte or more). */
const fieldCharsShownMax = 72;

/**
 * A person at a terminal waits for a few resends, not for the SDK's full budget: a gateway that is
 * not there is reported within about a second.
 */
const cliAttemptsMax = 3;

/** A MeridianClient for Node: reports the TLS version Node negotiates with the gateway. */
export async function nodeMeridianClient(credentials: PartnerCredentials, gateway: string): Promise<MeridianClient> {
  // Loaded when a command talks to the gateway: `--help` and usage errors stay fast.
  const [{ MeridianClient }, { negotiatedTlsVersion }] = await Promise.all([import('@meridian/partner-sdk'), import('@meridian/partner-sdk/node')]);
  return new MeridianClient({ gateway, credentials, attemptsMax: cliAttemptsMax, reportedTls: () => negotiatedTlsVersion(gateway) });
}

/** `key: value` lines of a JSON object, long strings cut, for people; scripts use --json. */
export function fieldLines(record: Record<string, unknown>): string {
  return Object.entries(record)
    .map(([key, value]) => {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      return `  ${key}: ${text.length > fieldCharsShownMax ? `${text.slice(0, fieldCharsShownMax)}… (${text.length} chars)` : text}`;
    })
    .join('\n');
}

function devPartner(partnerId: string, context: CommandContext): DevPartner | number {
  const partners = loadDevPartners();
  const partner = partners.find((candidate) => candidate.partner_id === partnerId);
  if (partner !== undefined) return partner;
  return context.usageError(`unknown dev partner ${JSON.stringify(partnerId.slice(0, 64))}; dev partners: ${partners.map((candidate) => candidate.partner_id).join(', ')}`);
}

/**
 * Runs `work` against the gateway; a network failure becomes the "is npm start running?" line, an
 * answer that does not verify a one-line failure. Anything else is a bug and propagates to meridian.ts.
 */
async function againstGateway(context: CommandContext, work: (gateway: Gateway) => Promise<number>): Promise<number> {
  const gateway = await resolveGateway(context.io);
  if (gateway === undefined) return context.usageError(`MERIDIAN_GATEWAY=${String(context.io.env.MERIDIAN_GATEWAY).slice(0, 80)} is not an http(s) URL`);
  try {
    return await work(gateway);
  } catch (error) {
    // After its resends the SDK reports `unreachable` with the last network failure as the cause.
    const kind = (error as { kind?: unknown }).kind;
    const unreachable = unreachableMessage(kind === 'unreachable' ? (error as Error).cause : error, gateway);
    if (unreachable !== undefined) return context.failure(unreachable);
    // A receipt that does not verify, or a session whose key confirmation fails, is the gateway's
    // fault, not a bug here: say so and exit 1.
    if (kind === 'verification-failed' || kind === 'session-handshake') return context.failure((error as Error).message);
    throw error;
  }
}

/** Prints a gateway answer: the body as JSON with --json, else fields or the problem in one line. */
function printAnswer(answer: GatewayAnswer<Record<string, unknown>>, json: boolean | undefined, context: CommandContext, heading: string): number {
  const accepted = answer.status >= 200 && answer.status < 300;
  if (json === true) {
    context.printJson(answer.body);
    return accepted ? exitOk : exitFailed;
  }
  if (!accepted) return context.failure(`the gateway answered HTTP ${answer.status} ${String(answer.body.type ?? '')}: ${String(answer.body.detail ?? JSON.stringify(answer.body)).slice(0, 300)}`);
  context.io.stdout(`${heading}\n${fieldLines(answer.body)}\n`);
  return exitOk;
}

interface PaymentInput {
  amount: string;
  currency: string;
  targetCurrency: string;
  creditorBic: string;
  creditorCountry: string;
}

/** The first field that the gateway would refuse, named as the usage line names it. */
export function paymentInputProblem(input: PaymentInput): string | undefined {
  const shown = (text: string) => JSON.stringify(text.slice(0, 40));
  if (currencyExponent(input.currency) === undefined) return `<currency> ${shown(input.currency)} is not a payable ISO 4217 currency code (uppercase, e.g. EUR)`;
  const amount = parseAmount(input.amount, input.currency);
  if (!amount.ok) return `<amount> ${shown(input.amount)}: ${amount.reason.detail}`;
  if (currencyExponent(input.targetCurrency) === undefined) return `<target_currency> ${shown(input.targetCurrency)} is not a payable ISO 4217 currency code (uppercase, e.g. USD)`;
  if (!isBic(input.creditorBic)) return `<creditor_bic> ${shown(input.creditorBic)} is not a BIC (ISO 9362, uppercase, 8 or 11 characters, e.g. BRAVFRPPXXX)`;
  if (!isCountryCode(input.creditorCountry)) return `[creditor_country] ${shown(input.creditorCountry)} is not an ISO 3166-1 alpha-2 country code (uppercase, e.g. FR)`;
  return undefined;
}

const pay = defineCommand({
  name: 'pay',
  summary: 'sign and submit one payment as a dev partner; prints its uetr, status, window and acceptance receipt',
  positionals: ['<partner_id>', '<amount>', '<currency>', '<target_currency>', '<creditor_bic>', '[creditor_country]'],
  options: { ...jsonOption, seal: { type: 'boolean', description: 'seal the instruction in a PQ session (always done for a pq: required partner)' } },
  details: `e.g. meridian partner pay alpha-bank 125.40 EUR EUR BRAVFRPPXXX
<amount> is a plain decimal with at most the currency's minor digits (125.40 EUR, 5000 JPY);
[creditor_country] defaults to the country in the creditor BIC. Exit 1 when the gateway refuses.`,
  async run({ values, positionals }, context) {
    const [partnerId, amount, currency, targetCurrency, creditorBic, country] = positionals as [string, string, string, string, string, string | undefined];
    const partner = devPartner(partnerId, context);
    if (typeof partner === 'number') return partner;
    const input = { amount, currency, targetCurrency, creditorBic, creditorCountry: country ?? creditorBic.slice(4, 6) };
    const problem = paymentInputProblem(input);
    if (problem !== undefined) return context.usageError(problem);
    const { buildInstruction } = await import('@meridian/partner-sdk');
    const instruction = buildInstruction({ ...input, debtorBic: partner.bic, debtorCountry: partner.bic.slice(4, 6) });
    return againstGateway(context, async (gateway) => {
      const meridian = await nodeMeridianClient(partner, gateway.url);
      const signed = await meridian.signInstruction(instruction);
      const answer = await meridian.submit(signed, values.seal === true ? { seal: true } : {});
      if (answer.status === 202) await meridian.verifyAcceptance(String(answer.body.receipt), signed);
      const accepted = printAnswer(answer, values.json, context, `accepted by ${gateway.url} (receipt verified against the gateway JWKS):`);
      if (accepted === exitOk && values.json !== true) context.io.stdout(`follow it: meridian partner status ${partner.partner_id} ${String(answer.body.uetr)}\n`);
      return accepted;
    });
  },
});

const status = defineCommand({
  name: 'status',
  summary: "a payment's status (accepted, settled, …) as its owner sees it",
  positionals: ['<partner_id>', '<uetr>'],
  options: { ...jsonOption },
  async run({ values, positionals }, context) {
    const [partnerId, uetr] = positionals as [string, string];
    const partner = devPartner(partnerId, context);
    if (typeof partner === 'number') return partner;
    return againstGateway(context, async (gateway) => printAnswer(await (await nodeMeridianClient(partner, gateway.url)).status(uetr), values.json, context, `payment ${uetr}:`));
  },
});

const keygen = defineCommand({
  name: 'keygen',
  summary: 'generate partner signing keys: writes the private credentials file, prints the public registry entry',
  positionals: ['<partner_id>'],
  options: {
    ...jsonOption,
    hybrid: { type: 'boolean', description: 'also an ML-DSA-65 key (hybrid post-quantum signatures)' },
    out: { type: 'string', valueName: 'file', description: 'the private credentials file (default <partner_id>.credentials.json; never overwritten, mode 0600)' },
  },
  details: 'Send Meridian the printed public entry; keep the credentials file secret.',
  async run({ values, positionals }, context) {
    const partnerId = positionals[0]!;
    if (!partnerIdPattern.test(partnerId)) return context.usageError(`<partner_id> ${JSON.stringify(partnerId.slice(0, 64))} is not a partner id ([a-z0-9-], 2–63 characters, starting with a letter or digit)`);
    const out = values.out ?? `${partnerId}.credentials.json`;
    if (existsSync(out)) return context.failure(`${out} exists; refusing to overwrite private keys (choose another --out)`);
    const { generatePartnerKeys } = await import('@meridian/partner-sdk');
    const generated = await generatePartnerKeys(partnerId, { hybrid: values.hybrid === true });
    writeFileSync(out, JSON.stringify(generated.credentials, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    const registryEntry = { partner_id: partnerId, keys: generated.registryKeys };
    if (values.json === true) context.printJson({ ...registryEntry, credentials_file: out });
    else {
      context.io.stderr(`${context.path}: private credentials written to ${out} (keep it secret); send Meridian the public keys below\n`);
      context.io.stdout(`${JSON.stringify(registryEntry, null, 2)}\n`);
    }
    return exitOk;
  },
});

const session = defineCommand({
  name: 'session',
  summary: "open a PQ session as a dev partner and check the gateway's key confirmation",
  positionals: ['<partner_id>'],
  options: { ...jsonOption },
  async run({ values, positionals }, context) {
    const partner = devPartner(positionals[0]!, context);
    if (typeof partner === 'number') return partner;
    const { SessionHandshakeError } = await import('@meridian/partner-sdk');
    return againstGateway(context, async (gateway) => {
      try {
        const opened = await (await nodeMeridianClient(partner, gateway.url)).openSession();
        const result = { session_id: opened.sessionId, expires_at: new Date(opened.expiresAtMs).toISOString(), confirm: 'verified' };
        if (values.json === true) context.printJson(result);
        else context.io.stdout(`session open:\n${fieldLines(result)}\n`);
        return exitOk;
      } catch (cause) {
        if (!(cause instanceof SessionHandshakeError)) throw cause;
        if (values.json === true) context.printJson(cause.answer);
        return context.failure(cause.message);
      }
    });
  },
});

const discover = defineCommand({
  name: 'discover',
  summary: "the gateway's discovery document (/.well-known/meridian): its keys, algorithms and limits",
  options: { ...jsonOption },
  async run({ values }, context) {
    return againstGateway(context, async (gateway) => {
      const response = await fetch(new URL('/.well-known/meridian', gateway.url), { signal: AbortSignal.timeout(gatewayRequestTimeoutMs) });
      const text = await response.text();
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return context.failure(`${gateway.url}/.well-known/meridian answered HTTP ${response.status} with a body that is not JSON: is MERIDIAN_GATEWAY a Meridian gateway?`);
      }
      return printAnswer({ status: response.status, body }, values.json, context, `discovery document of ${gateway.url}:`);
    });
  },
});

export const partnerGroup = defineGroup({
  name: 'partner',
  summary: 'partner-side tools, as one of the dev partners: payments, status, keys, PQ sessions, discovery',
  children: [pay, status, keygen, session, discover],
  details: async () => `dev partners (dev/partners/): ${loadDevPartners().map((partner) => partner.partner_id).join(', ')}\ngateway: MERIDIAN_GATEWAY, else npm start's`,
});
