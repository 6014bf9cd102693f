/**
 * Writes the dev-only fixtures of DESIGN.md ("Local topology"): partner keys, the gateway's keys,
 * the dev Access issuer. Run once; the output is committed so every clone shares the same dev
 * identities. Never use these keys outside a developer machine.
 *
 *   node cli/dev/generate-fixtures.ts [--force]
 *   node cli/dev/generate-fixtures.ts --only <partner_id>   one partner's file, fresh key; nothing else changes
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { ml_kem768_x25519 as XWing } from '@noble/post-quantum/hybrid.js';
import { base64url } from 'jose';

interface PartnerSeed {
  partner_id: string;
  name: string;
  bic: string;
  jurisdiction: 'eu' | 'us' | 'ap';
  pq: 'required' | 'optional';
  hybrid: boolean;
  tls_min: '1.2' | '1.3';
  /** Written into the file; without it the partner gets dev/fixtures.ts's `devVelocityDefault`. */
  velocity?: { payments_per_minute: number; payments_per_day: number; amount_per_day?: Record<string, string> };
}

const partners: PartnerSeed[] = [
  { partner_id: 'alpha-bank', name: 'Alpha Bank AG', bic: 'ALPHDEFFXXX', jurisdiction: 'eu', pq: 'optional', hybrid: false, tls_min: '1.3' },
  { partner_id: 'banque-bravo', name: 'Banque Bravo SA', bic: 'BRAVFRPPXXX', jurisdiction: 'eu', pq: 'required', hybrid: false, tls_min: '1.3' },
  { partner_id: 'charlie-trust', name: 'Charlie Trust Co', bic: 'CHARUS33XXX', jurisdiction: 'us', pq: 'optional', hybrid: false, tls_min: '1.3' },
  { partner_id: 'delta-sg', name: 'Delta Bank Singapore', bic: 'DELTSGSGXXX', jurisdiction: 'ap', pq: 'optional', hybrid: true, tls_min: '1.3' },
  { partner_id: 'echo-jp', name: 'Echo Shinkin Bank', bic: 'ECHOJPJTXXX', jurisdiction: 'ap', pq: 'optional', hybrid: false, tls_min: '1.3' },
  // Low limits on purpose, so drills and tests can hit `velocity-exceeded` (DESIGN.md).
  {
    partner_id: 'golf-limited', name: 'Golf Limited Savings Bank', bic: 'GOLFUS33XXX', jurisdiction: 'us', pq: 'optional', hybrid: false, tls_min: '1.3',
    velocity: { payments_per_minute: 20, payments_per_day: 1_000, amount_per_day: { USD: '250000.00' } },
  },
];

async function ed25519Jwk(kid: string) {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid, alg: 'EdDSA', use: 'sig' };
}

const createdAt = '2026-11-22T00:00:00Z';

async function writePartner(partner: PartnerSeed): Promise<void> {
  const keyid = `${partner.partner_id}-2026-11`;
  const profile: Record<string, unknown> = {
    partner_id: partner.partner_id,
    name: partner.name,
    bic: partner.bic,
    jurisdiction: partner.jurisdiction,
    keyid,
    private_jwk: await ed25519Jwk(keyid),
    pq: partner.pq,
    tls_min: partner.tls_min,
    key_not_before: createdAt,
    key_not_after: '2027-11-22T00:00:00Z',
  };
  if (partner.hybrid) {
    const seed = randomBytes(32);
    const keys = ml_dsa65.keygen(seed);
    profile.ml_dsa_65 = { keyid: `${keyid}-mldsa`, seed: base64url.encode(seed), public_key: base64url.encode(keys.publicKey) };
  }
  if (partner.velocity !== undefined) profile.velocity = partner.velocity;
  mkdirSync('dev/partners', { recursive: true });
  writeFileSync(`dev/partners/${partner.partner_id}.json`, JSON.stringify(profile, null, 2) + '\n');
}

/** `--only <id>`: adds one partner (a fresh key) and leaves every other dev identity as it is. */
async function writeOnePartner(partnerId: string): Promise<void> {
  const partner = partners.find((seed) => seed.partner_id === partnerId);
  if (partner === undefined) {
    console.error(`no partner ${JSON.stringify(partnerId)} in cli/dev/generate-fixtures.ts; known: ${partners.map((seed) => seed.partner_id).join(', ')}`);
    process.exit(1);
  }
  await writePartner(partner);
  console.log(`wrote dev/partners/${partnerId}.json`);
  console.log('now add its Ed25519 thumbprint to devEd25519Thumbprints in core/gateway-key.ts: the dev keys are refused outside local-dev by that list');
}

async function main(): Promise<void> {
  const onlyIndex = process.argv.indexOf('--only');
  if (onlyIndex !== -1) return writeOnePartner(process.argv[onlyIndex + 1] ?? '');
  const force = process.argv.includes('--force');
  if (existsSync('dev/gateway.json') && !force) {
    console.error('dev fixtures exist; pass --force to replace them (every clone then gets new dev identities)');
    process.exit(1);
  }
  for (const partner of partners) await writePartner(partner);
  const xwingSeed = randomBytes(32);
  const xwingKeys = XWing.keygen(xwingSeed);
  const gateway = {
    gateway_id: 'meridian-local',
    signing_jwk: await ed25519Jwk('gateway-2026-11'),
    // A different key for the per-call settlement tokens: a receipt key must never authorize a commit.
    settlement_token_jwk: await ed25519Jwk('dev-settlement-token-2026-11'),
    xwing: { kid: 'xwing-2026-11', seed: base64url.encode(xwingSeed), public_key: base64url.encode(xwingKeys.publicKey) },
    ticket_key: base64url.encode(randomBytes(32)),
  };
  writeFileSync('dev/gateway.json', JSON.stringify(gateway, null, 2) + '\n');
  const access = {
    issuer: 'https://meridian-dev.cloudflareaccess.com',
    aud: 'meridian-ops-dev',
    private_jwk: await ed25519Jwk('access-dev-2026-11'),
    operators: ['ana@meridian.example', 'ben@meridian.example', 'chidi@meridian.example'],
  };
  writeFileSync('dev/access.json', JSON.stringify(access, null, 2) + '\n');
  console.log(`wrote ${partners.length} partners, dev/gateway.json, dev/access.json`);
  console.log('now update devEd25519Thumbprints and devKeyMaterialSha256 in core/gateway-key.ts: the dev keys are refused outside local-dev by those lists');
}

await main();
