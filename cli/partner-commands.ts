/**
 * Partner-side `meridian` subcommands (issue 3 item 5): key generation and PQ sessions, plus a
 * Node-ready PartnerClient factory for the existing `pay`/`status` commands.
 *
 *   meridian keygen <partner_id> [--hybrid] [--out <file>]
 *       new Ed25519 key (and ML-DSA-65 key with --hybrid); writes the private credentials file
 *       (mode 0600, never overwritten) and prints the public registry entry to send to Meridian
 *   meridian session <partner_id>
 *       opens a PQ session as a dev partner and prints its id, expiry and the confirmation result
 *   meridian discover
 *       prints the gateway's discovery document
 *
 * Wiring (cli/meridian.ts): before the `default:` case, `const handled = await runPartnerCommand(args, gateway);
 * if (handled !== undefined) return handled;` and append `partnerCommandsUsage` to the usage text.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { base64urlEncode } from '../core/digest.ts';
import { mlDsa65KeyPairFromSeed, mlDsa65SeedBytes } from '../core/ml-dsa.ts';
import { loadDevPartners, type DevPartner } from '../dev/fixtures.ts';
import { PartnerClient, SessionHandshakeError, type PartnerCredentials } from './sdk/partner-client.ts';
import { negotiatedTlsVersion } from './sdk/tls-probe.ts';

export const partnerCommandsUsage = `  meridian keygen <partner_id> [--hybrid] [--out <file>]
  meridian session <partner_id>
  meridian discover`;

const keyValidityMs = 365 * 24 * 60 * 60 * 1000;

/** A PartnerClient for Node: reports the TLS version Node negotiates with the gateway. */
export function nodePartnerClient(credentials: PartnerCredentials, gateway: string): PartnerClient {
  return new PartnerClient(credentials, gateway, (request) => fetch(request), { reportedTls: () => negotiatedTlsVersion(gateway) });
}

/** Runs a partner command; `undefined` when `args[0]` is not one of them. */
export async function runPartnerCommand(args: string[], gateway: string): Promise<number | undefined> {
  switch (args[0]) {
    case 'keygen':
      return keygen(args.slice(1));
    case 'session':
      return openSession(args[1], gateway);
    case 'discover': {
      const response = await fetch(new URL('/.well-known/meridian', gateway));
      console.log(JSON.stringify(await response.json(), null, 2));
      return response.ok ? 0 : 1;
    }
    default:
      return undefined;
  }
}

async function keygen(args: string[]): Promise<number> {
  const partnerId = args.find((arg) => !arg.startsWith('--') && args[args.indexOf(arg) - 1] !== '--out');
  if (partnerId === undefined || !/^[a-z0-9][a-z0-9-]{1,62}$/.test(partnerId)) {
    console.error('meridian keygen: give a partner id ([a-z0-9-], 2–63 characters)');
    return 2;
  }
  const outIndex = args.indexOf('--out');
  const out = outIndex === -1 ? `${partnerId}.credentials.json` : args[outIndex + 1];
  if (out === undefined) {
    console.error('meridian keygen: --out needs a file name');
    return 2;
  }
  if (existsSync(out)) {
    console.error(`meridian keygen: ${out} exists; refusing to overwrite private keys`);
    return 1;
  }
  const now = new Date();
  const keyid = `${partnerId}-${now.toISOString().slice(0, 7)}`;
  const validity = { not_before: now.toISOString(), not_after: new Date(now.getTime() + keyValidityMs).toISOString() };
  const ed25519 = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const { kty, crv, d, x } = await crypto.subtle.exportKey('jwk', ed25519.privateKey);
  const credentials: Record<string, unknown> = { partner_id: partnerId, keyid, private_jwk: { kty, crv, d, x, kid: keyid, alg: 'EdDSA', use: 'sig' } };
  const registryKeys: Array<Record<string, unknown>> = [{ keyid, alg: 'ed25519', public_jwk: { kty, crv, x }, ...validity }];
  if (args.includes('--hybrid')) {
    const seed = crypto.getRandomValues(new Uint8Array(mlDsa65SeedBytes));
    const publicKey = base64urlEncode(mlDsa65KeyPairFromSeed(seed).publicKey);
    credentials.ml_dsa_65 = { keyid: `${keyid}-mldsa`, seed: base64urlEncode(seed), public_key: publicKey };
    registryKeys.push({ keyid: `${keyid}-mldsa`, alg: 'ml-dsa-65', public_key: publicKey, ...validity });
  }
  writeFileSync(out, JSON.stringify(credentials, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  console.error(`meridian keygen: private credentials written to ${out} (keep it secret); send Meridian the public keys below`);
  console.log(JSON.stringify({ partner_id: partnerId, keys: registryKeys }, null, 2));
  return 0;
}

async function openSession(partnerId: string | undefined, gateway: string): Promise<number> {
  const partner: DevPartner | undefined = loadDevPartners().find((candidate) => candidate.partner_id === partnerId);
  if (partner === undefined) {
    console.error(`meridian session: unknown dev partner ${String(partnerId)}`);
    return 2;
  }
  try {
    const session = await nodePartnerClient(partner, gateway).openSession();
    console.log(JSON.stringify({ session_id: session.sessionId, expires_at: new Date(session.expiresAtMs).toISOString(), confirm: 'verified' }, null, 2));
    return 0;
  } catch (cause) {
    if (!(cause instanceof SessionHandshakeError)) throw cause;
    console.error(`meridian session: ${cause.message}`);
    console.log(JSON.stringify(cause.answer, null, 2));
    return 1;
  }
}
