/**
 * A small Meridian to export evidence from: three real regional backends on PGlite (eu-1 and eu-2
 * sharing the eu log, us-1), each witnessing the other jurisdiction's log; batches committed
 * through the real commit path; and, for the edge side, the artifacts the edge really produces —
 * partner instruction JWSs signed with the dev partners' keys, acceptance receipts signed with
 * the dev gateway key (core/acceptance-receipt.ts), an ops audit chain hashed as
 * core/ops-changes.ts does — served in the ops API's shapes by `gatewayApp`. The edge itself runs
 * only in workerd; its instructions view is workers/ops/views/instructions-view.ts.
 * Feature detection: this gateway serves no /ops/api/policy-decisions or /ops/api/screening-results.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { CompactSign, importJWK } from 'jose';
import { signAcceptanceReceipt } from '../../core/acceptance-receipt.ts';
import { sha256Hex, utf8 } from '../../core/digest.ts';
import { gatewayKey } from '../../core/gateway-key.ts';
import { auditEntryHash, auditGenesisHash, type AuditEntry } from '../../core/ops-changes.ts';
import { loadDevGateway, loadDevPartners, publicPartnerProfile } from '../../dev/fixtures.ts';
import type { InstructionItem } from '../../cli/evidence/bundle-format.ts';
import { buildInstruction } from '../../packages/partner-sdk/src/instruction-builder.ts';
import { logOrigin } from '../../regional/log/checkpoint.ts';
import { loadOrCreateLocalSigner } from '../../regional/signer/local-signer.ts';
import type { Cosigning } from '../../regional/witness/cosigning.ts';
import { freshJurisdiction, sampleBatch } from '../regional/support/batches.ts';
import { openTestDatabase, type TestDatabase, type TestDatabaseKind } from '../regional/support/databases.ts';
import { createTestEdge } from '../regional/support/edge.ts';
import { startTestbed, type Testbed } from '../regional/support/testbed.ts';

export interface EvidenceWorld {
  backends: Array<{ host: string; testbed: Testbed }>;
  fetch: typeof fetch;
  cosignings: Cosigning[];
  gatewayUrl: string;
  jurisdictions: { eu: string; us: string };
  /** Commits `payments` partner-signed payments in one batch through `backend`. */
  settle(host: string, payments: number): Promise<void>;
  close(): Promise<void>;
}

type RecordedInstruction = InstructionItem;

const firstWindowStartMs = Date.UTC(2026, 0, 1);
/** At least batches.ts's window duration, so consecutive windows never overlap. */
const worldWindowMs = 60_000;

export interface EvidenceWorldOptions {
  /** Rows per page of the stand-in instructions view: 3 exercises paging in the tests; the edge's view pages by 200. */
  instructionsPageRows?: number;
  /** PGlite by default; 'postgresql' needs DATABASE_URL (a database of its own is created and dropped). */
  database?: TestDatabaseKind;
}

export async function startEvidenceWorld(options: EvidenceWorldOptions = {}): Promise<EvidenceWorld> {
  const pageRows = options.instructionsPageRows ?? 3;
  const database: TestDatabase = await openTestDatabase(options.database ?? 'pglite', 'evidence');
  const edge = await createTestEdge();
  const scratch = await mkdtemp(join(tmpdir(), 'meridian-evidence-'));
  const jurisdictions = { eu: freshJurisdiction(), us: `us${freshJurisdiction().slice(2)}` };
  const apps = new Map<string, Hono | Testbed['app']>();
  const route: typeof fetch = async (input, init) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input.toString() : input.url);
    const target = apps.get(url.host);
    if (target === undefined) throw new TypeError(`fetch failed: no host ${url.host}`);
    return target.request(`${url.pathname}${url.search}`, init);
  };
  const layout = [
    { host: 'eu-1.test', region: 'eu-1', jurisdiction: jurisdictions.eu, witnesses: ['http://us-1.test'], watches: { origin: logOrigin(jurisdictions.us), keysUrls: ['http://us-1.test/v1/keys'] } },
    { host: 'eu-2.test', region: 'eu-2', jurisdiction: jurisdictions.eu, witnesses: ['http://us-1.test'], watches: { origin: logOrigin(jurisdictions.us), keysUrls: ['http://us-1.test/v1/keys'] } },
    { host: 'us-1.test', region: 'us-1', jurisdiction: jurisdictions.us, witnesses: ['http://eu-1.test', 'http://eu-2.test'], watches: { origin: logOrigin(jurisdictions.eu), keysUrls: ['http://eu-1.test/v1/keys', 'http://eu-2.test/v1/keys'] } },
  ];
  const cosignings: Cosigning[] = [];
  const backends: EvidenceWorld['backends'] = [];
  for (const entry of layout) {
    const testbed = await startTestbed(database, {
      edge,
      region: entry.region,
      jurisdiction: entry.jurisdiction,
      witnessing: { witnessUrls: entry.witnesses, fetch: route, onCosigning: (cosigning) => cosignings.push(cosigning) },
      witness: { signer: await loadOrCreateLocalSigner({ keyFile: join(scratch, `${entry.region}.witness.json`) }), logs: [entry.watches], fetch: route },
    });
    apps.set(entry.host, testbed.app);
    backends.push({ host: entry.host, testbed });
  }

  const partners = loadDevPartners().filter((partner) => partner.ml_dsa_65 === undefined).slice(0, 2);
  const gateway = loadDevGateway();
  const receiptKey = await gatewayKey(JSON.stringify(gateway.signing_jwk));
  const instructions: RecordedInstruction[] = [];
  const audit = await auditChain(['ana@meridian.example', 'ben@meridian.example']);

  // Imported once per partner: the bench signs 180,000 instructions with two keys.
  const partnerSigningKeys = await Promise.all(partners.map((partner) => importJWK(partner.private_jwk, 'EdDSA')));

  /** The partner-side artifacts of one payment of a batch: its signed instruction and the gateway's receipt. */
  async function signedInstruction(index: number, uetr: string): Promise<RecordedInstruction> {
    const partner = partners[index % partners.length]!;
    const instruction = buildInstruction({ debtorBic: partner.bic, debtorCountry: partner.bic.slice(4, 6), creditorBic: 'CHASUS33XXX', creditorCountry: 'US', amount: `${100 + index}.25`, currency: 'EUR', targetCurrency: 'USD', uetr });
    const jws = await new CompactSign(utf8(JSON.stringify(instruction))).setProtectedHeader({ alg: 'EdDSA', kid: partner.keyid }).sign(partnerSigningKeys[index % partners.length]!);
    const instructionSha256 = sha256Hex(utf8(jws));
    const receipt = await signAcceptanceReceipt(receiptKey, { gateway: gateway.gateway_id, partner_id: partner.partner_id, uetr, instruction_sha256: instructionSha256, status: 'accepted', window: 'EUR-USD', accepted_at: new Date().toISOString() });
    return { partner_id: partner.partner_id, uetr, jws, instruction_sha256: instructionSha256, status: 'accepted', batch_id: null, receipt };
  }

  // Consecutive windows: sampleBatch's random slice can repeat a batch id among thousands of batches.
  let windowIndex = 0;
  async function settle(host: string, payments: number): Promise<void> {
    const backend = backends.find((candidate) => candidate.host === host)!;
    // Sealed as the regional suites seal batches (test/regional/support/batches.ts); each UETR gets its instruction.
    const sealed = sampleBatch({ jurisdiction: backend.testbed.jurisdiction, payments, startsAtMs: firstWindowStartMs + windowIndex++ * worldWindowMs });
    const uetrs = [...new Set(sealed.batch.legs.map((leg) => leg.uetr))];
    // The partners' side is signed while the backend commits (both are this process's work); the
    // instructions are recorded only once the batch is committed.
    const [signed, response] = await Promise.all([Promise.all(uetrs.map((uetr, index) => signedInstruction(instructions.length + index, uetr))), backend.testbed.deliver(sealed)]);
    if (response.status !== 201) throw new Error(`settle: HTTP ${response.status} ${await response.text()}`);
    for (const record of signed) instructions.push({ ...record, status: 'settled', batch_id: sealed.batch.batch_id });
  }

  const gatewayRoutes = new Hono();
  gatewayRoutes.get('/.well-known/jwks.json', (c) => c.json({ keys: [receiptKey.publicJwk] }));
  gatewayRoutes.use('/ops/*', async (c, next) => (c.req.header('cf-access-jwt-assertion') === 'operator-token' ? next() : c.json({ type: 'urn:meridian:problem:unauthenticated' }, 401)));
  gatewayRoutes.get('/ops/api/instructions', (c) => {
    const offset = Number(c.req.query('cursor') ?? '0');
    const page = instructions.slice(offset, offset + pageRows);
    return c.json({ instructions: page, partner_keys: partners.map((partner) => publicPartnerProfile(partner)), next_cursor: offset + pageRows < instructions.length ? String(offset + pageRows) : null });
  });
  gatewayRoutes.get('/ops/api/security-events', (c) => c.json({ events: [{ partner_id: partners[0]!.partner_id, id: 1, at: new Date().toISOString(), kind: 'tls-downgrade', slug: 'downgrade-detected', detail: 'TLS 1.2 below the partner minimum 1.3', context: {} }], partners: [] }));
  gatewayRoutes.get('/ops/api/audit', (c) => c.json({ entries: audit }));
  apps.set('gateway.test', gatewayRoutes);

  return {
    backends,
    fetch: route,
    cosignings,
    gatewayUrl: 'http://gateway.test',
    jurisdictions,
    settle,
    async close() {
      for (const backend of backends) await backend.testbed.close();
      await database.drop();
      await rm(scratch, { recursive: true, force: true });
    },
  };
}

/** A proposal and its approval by a second operator, chained as Control chains them. */
async function auditChain(operators: readonly string[]): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  let previous = auditGenesisHash;
  const changeId = randomUUID();
  for (const [index, action] of (['proposed', 'approved', 'applied'] as const).entries()) {
    const unhashed = { seq: index + 1, at: new Date().toISOString(), actor: operators[index === 0 ? 0 : 1]!, action, change_id: changeId, kind: 'corridor-state' as const, detail: { corridor: 'EUR-USD', state: 'paused', reason: 'drill' }, prev_hash: previous };
    const hash = auditEntryHash(unhashed);
    entries.push({ ...unhashed, hash });
    previous = hash;
  }
  return entries;
}
