/**
 * The checks of each item kind, offline, with only public keys (the bundle's backend-keys,
 * gateway-keys and partner-keys items, or an auditor's pinned keys instead):
 *   checkpoint    the log's note signature (cli/audit.ts openCheckpoint) and a quorum of witness
 *                 cosignatures by the other jurisdictions' backends' witness keys
 *   consistency   RFC 6962 consistency between the jurisdiction's checkpoints; every checkpoint
 *                 of a jurisdiction is consistent with its largest one
 *   batch         DSSE leaf signature and in-toto statement, inclusion in a bundled checkpoint,
 *                 settlement receipt JWS and its claims, netting recomputed (core/netting.ts) and
 *                 every currency's positions summing to zero, no batch twice
 *   instruction   the partner's JWS under its registered key (both signatures of a hybrid one), its SHA-256, the acceptance receipt
 *                 under the gateway's JWKS, and its leg; every leg of a batch to an instruction
 *   ops-audit     the hash chain (core/ops-changes.ts)
 * Each failure is recorded against the id of the item it concerns.
 */
import type { KeyObject } from 'node:crypto';
import { canonicalJson } from '../../core/canonical-json.ts';
import { base64Decode, base64urlDecode, utf8 } from '../../core/digest.ts';
import { dsseVerifierForKey, parseEnvelope, verifyEnvelope, type DsseVerifier } from '../../core/dsse.ts';
import { inTotoPayloadType, parseSettlementBatchStatement } from '../../core/in-toto.ts';
import { merkleLeafHash, verifyConsistency, verifyInclusion } from '../../core/merkle.ts';
import { netPositions, positionSums } from '../../core/netting.ts';
import { verifyAuditChain, type AuditEntry } from '../../core/ops-changes.ts';
import { parseNoteVerifier, type NoteVerifierKey } from '../../core/signed-note.ts';
import type { SignerAlgorithm } from '../../regional/signer/signer.ts';
import { verifySignerSignature } from '../../regional/signer/verify-signature.ts';
import { parseCosignerVerifier, verifyWitnessQuorum, type CosignerKey } from '../../regional/witness/cosignature.ts';
import { openCheckpoint, type AuditedCheckpoint } from '../audit.ts';
import { checkInstructions, type InstructionKeys, type InstructionVerdict } from './check-instructions.ts';
import { ed25519KeyObject, nativeEd25519DsseVerifier, verifyEd25519Native } from './native-ed25519.ts';
import type { BatchItem, BundleItem, CheckpointItem, ConsistencyItem, InstructionItem, PartnerKeysItem } from './bundle-format.ts';

export interface PinnedKeys {
  evidence_keys?: Array<{ kid: string; alg: string; public_key: string }>;
  note_verifiers?: string[];
  witness_verifiers?: string[];
  witness_quorum?: number;
}

export type Failures = Map<string, string[]>;

function fail(failures: Failures, id: string, detail: string): void {
  failures.set(id, [...(failures.get(id) ?? []), detail]);
}

interface ReceiptKey {
  kid: string;
  alg: SignerAlgorithm;
  publicKey: Uint8Array;
  /** EdDSA keys, for node:crypto (./native-ed25519.ts); undefined for other algorithms or a malformed key. */
  ed25519?: KeyObject;
}

function receiptKey(kid: string, alg: string, publicKey: Uint8Array): ReceiptKey {
  const key: ReceiptKey = { kid, alg: alg as SignerAlgorithm, publicKey };
  if (alg === 'EdDSA') {
    try {
      key.ed25519 = ed25519KeyObject(publicKey);
    } catch {
      // Not a valid Ed25519 key: nothing verifies under it (verifySignerSignature says false too).
    }
  }
  return key;
}

interface JurisdictionKeys {
  receiptKeys: ReceiptKey[];
  noteVerifiers: NoteVerifierKey[];
  /** Witness keys of the backends of this jurisdiction (they cosign the others' logs). */
  witnessKeys: CosignerKey[];
}

function keysByJurisdiction(items: readonly BundleItem[], pinned: PinnedKeys, failures: Failures): Map<string, JurisdictionKeys> {
  const byJurisdiction = new Map<string, JurisdictionKeys>();
  for (const item of items.filter((candidate) => candidate.kind === 'backend-keys')) {
    const body = item.body as { jurisdiction?: string; keys?: { keys?: Array<{ kid: string; alg: string; public_key: string }>; note_verifiers?: string[]; witness_verifiers?: string[] } };
    if (typeof body.jurisdiction !== 'string' || !Array.isArray(body.keys?.keys)) {
      fail(failures, item.id, 'not a GET /v1/keys body with its jurisdiction');
      continue;
    }
    const entry = byJurisdiction.get(body.jurisdiction) ?? { receiptKeys: [], noteVerifiers: [], witnessKeys: [] };
    for (const key of body.keys.keys) {
      try {
        if (!entry.receiptKeys.some((known) => known.kid === key.kid)) entry.receiptKeys.push(receiptKey(key.kid, key.alg, base64Decode(key.public_key)));
      } catch {
        fail(failures, item.id, `key ${key.kid}: public_key is not base64`);
      }
    }
    for (const text of pinned.note_verifiers ?? body.keys.note_verifiers ?? []) {
      const parsed = parseNoteVerifier(text);
      if (!parsed.ok) fail(failures, item.id, parsed.reason.detail);
      else if (!entry.noteVerifiers.some((known) => known.name === parsed.value.name && known.keyIdHex === parsed.value.keyIdHex)) entry.noteVerifiers.push(parsed.value);
    }
    for (const text of pinned.witness_verifiers === undefined ? (body.keys.witness_verifiers ?? []) : []) {
      const parsed = parseCosignerVerifier(text);
      if (!parsed.ok) fail(failures, item.id, parsed.reason.detail);
      else if (!entry.witnessKeys.some((known) => known.name === parsed.value.name)) entry.witnessKeys.push(parsed.value);
    }
    byJurisdiction.set(body.jurisdiction, entry);
  }
  return byJurisdiction;
}

function witnessesFor(jurisdiction: string, keys: Map<string, JurisdictionKeys>, pinned: PinnedKeys): CosignerKey[] {
  if (pinned.witness_verifiers !== undefined) {
    return pinned.witness_verifiers.flatMap((text) => {
      const parsed = parseCosignerVerifier(text);
      return parsed.ok ? [parsed.value] : [];
    });
  }
  return [...keys].filter(([other]) => other !== jurisdiction).flatMap(([, entry]) => entry.witnessKeys);
}

/** Opened checkpoints by jurisdiction and tree size. */
type OpenedCheckpoints = Map<string, Map<number, { id: string; checkpoint: AuditedCheckpoint }>>;

function verifyCheckpoints(items: readonly BundleItem[], keys: Map<string, JurisdictionKeys>, pinned: PinnedKeys, failures: Failures): OpenedCheckpoints {
  const opened: OpenedCheckpoints = new Map();
  for (const item of items.filter((candidate) => candidate.kind === 'checkpoint')) {
    const body = item.body as CheckpointItem;
    const jurisdictionKeys = keys.get(body.jurisdiction);
    if (jurisdictionKeys === undefined) {
      fail(failures, item.id, `no keys of jurisdiction ${body.jurisdiction} in the bundle`);
      continue;
    }
    let checkpoint: AuditedCheckpoint;
    try {
      checkpoint = openCheckpoint(body.note, jurisdictionKeys.noteVerifiers);
    } catch (error) {
      fail(failures, item.id, (error as Error).message);
      continue;
    }
    const witnesses = witnessesFor(body.jurisdiction, keys, pinned);
    const quorum = pinned.witness_quorum ?? Math.floor(witnesses.length / 2) + 1;
    if (witnesses.length === 0) fail(failures, item.id, 'no witness keys for this log: its checkpoints cannot be shown to be witnessed');
    else {
      const cosigned = verifyWitnessQuorum(body.note, witnesses, quorum);
      if (!cosigned.ok) fail(failures, item.id, `witness cosignatures: ${cosigned.reason.detail}`);
    }
    const sizes = opened.get(body.jurisdiction) ?? new Map();
    const same = sizes.get(checkpoint.treeSize);
    if (same !== undefined && canonicalJson([...same.checkpoint.rootHash]) !== canonicalJson([...checkpoint.rootHash])) fail(failures, item.id, `FORK: same size ${checkpoint.treeSize} as ${same.id} with another root`);
    sizes.set(checkpoint.treeSize, { id: item.id, checkpoint });
    opened.set(body.jurisdiction, sizes);
  }
  return opened;
}

function verifyConsistencies(items: readonly BundleItem[], opened: OpenedCheckpoints, failures: Failures): void {
  const proven = new Set<string>();
  for (const item of items.filter((candidate) => candidate.kind === 'consistency')) {
    const body = item.body as ConsistencyItem;
    const from = opened.get(body.jurisdiction)?.get(body.from);
    const to = opened.get(body.jurisdiction)?.get(body.to);
    if (from === undefined || to === undefined) {
      fail(failures, item.id, `no verified checkpoint of ${body.jurisdiction} at ${from === undefined ? body.from : body.to} leaves`);
      continue;
    }
    let proof: Uint8Array[];
    try {
      proof = body.proof.map(base64Decode);
    } catch {
      fail(failures, item.id, 'proof is not base64');
      continue;
    }
    const verdict = verifyConsistency(body.from, body.to, proof, from.checkpoint.rootHash, to.checkpoint.rootHash);
    if (!verdict.ok) fail(failures, item.id, `checkpoints ${from.id} → ${to.id} are not consistent: ${verdict.reason.detail}`);
    else proven.add(`${body.jurisdiction}:${body.from}:${body.to}`);
  }
  for (const [jurisdiction, sizes] of opened) {
    const largest = Math.max(...sizes.keys());
    for (const [size, { id }] of sizes) {
      if (size !== largest && !proven.has(`${jurisdiction}:${size}:${largest}`)) fail(failures, id, `no verified consistency proof from ${size} to the largest checkpoint (${largest} leaves)`);
    }
  }
}

function verifyReceiptJws(receipt: string, receiptKeys: readonly ReceiptKey[]): { claims?: Record<string, unknown>; failure?: string } {
  const parts = receipt.split('.');
  if (parts.length !== 3) return { failure: 'receipt is not a compact JWS' };
  try {
    const header = JSON.parse(new TextDecoder().decode(base64urlDecode(parts[0]!))) as { alg?: string; kid?: string };
    const key = receiptKeys.find((candidate) => candidate.kid === header.kid);
    if (key === undefined || key.alg !== header.alg) return { failure: `receipt kid ${String(header.kid)} (${String(header.alg)}) is not a published key` };
    const signingInput = utf8(`${parts[0]}.${parts[1]}`);
    const signature = base64urlDecode(parts[2]!);
    const verified = key.alg === 'EdDSA' ? key.ed25519 !== undefined && verifyEd25519Native(key.ed25519, signingInput, signature) : verifySignerSignature(key.alg, key.publicKey, signingInput, signature);
    if (!verified) return { failure: 'settlement receipt signature does not verify' };
    return { claims: JSON.parse(new TextDecoder().decode(base64urlDecode(parts[1]!))) as Record<string, unknown> };
  } catch (error) {
    return { failure: `receipt: ${(error as Error).message}` };
  }
}

function checkNetting(item: BundleItem, body: BatchItem, failures: Failures): void {
  // The auditor API's legs name payer and payee only; netting reads nothing else (instructing_agent orders ties).
  const legs = body.settlement.legs.map((leg) => ({ ...leg, instructing_agent: '' })) as unknown as Parameters<typeof netPositions>[0];
  try {
    const recomputed = netPositions(legs);
    if (canonicalJson(recomputed) !== canonicalJson(body.settlement.positions)) fail(failures, item.id, 'net positions differ from those recomputed from the legs');
    for (const [currency, sum] of positionSums(body.settlement.positions)) if (sum !== 0n) fail(failures, item.id, `${currency} positions sum to ${sum}, not 0`);
  } catch (error) {
    fail(failures, item.id, `netting: ${(error as Error).message}`);
  }
}

async function verifyBatches(items: readonly BundleItem[], keys: Map<string, JurisdictionKeys>, opened: OpenedCheckpoints, failures: Failures): Promise<void> {
  const verifiers = new Map<string, DsseVerifier[]>();
  for (const [jurisdiction, entry] of keys) {
    const list: DsseVerifier[] = [];
    for (const key of entry.receiptKeys) {
      const verifier = key.alg === 'EdDSA' ? (key.ed25519 === undefined ? undefined : nativeEd25519DsseVerifier(key.kid, key.publicKey)) : await dsseVerifierForKey(key);
      if (verifier !== undefined) list.push(verifier);
    }
    verifiers.set(jurisdiction, list);
  }
  const seenDigests = new Map<string, string>();
  for (const item of items.filter((candidate) => candidate.kind === 'batch')) {
    const body = item.body as BatchItem;
    const jurisdictionKeys = keys.get(body.jurisdiction);
    let leafBytes: Uint8Array;
    try {
      leafBytes = base64Decode(body.leaf);
    } catch {
      fail(failures, item.id, 'leaf is not base64');
      continue;
    }
    const envelope = parseEnvelope(new TextDecoder().decode(leafBytes));
    if (!envelope.ok || envelope.value.payloadType !== inTotoPayloadType) fail(failures, item.id, 'leaf is not a DSSE envelope of an in-toto statement');
    else {
      const verified = await verifyEnvelope(envelope.value, verifiers.get(body.jurisdiction) ?? []);
      if (!verified.ok) fail(failures, item.id, `leaf signature: ${verified.reason.detail}`);
      else {
        const statement = parseSettlementBatchStatement(verified.value.payload);
        if (!statement.ok) fail(failures, item.id, statement.reason.detail);
        else {
          const subject = statement.value.subject[0];
          if (subject.name !== body.settlement.batch_id || subject.digest.sha256 !== body.settlement.digest) fail(failures, item.id, 'the signed statement names another batch or digest than the settlement');
          if (statement.value.predicate.jurisdiction !== body.jurisdiction) fail(failures, item.id, `statement of jurisdiction ${statement.value.predicate.jurisdiction} in the log of ${body.jurisdiction}`);
          if (statement.value.predicate.leg_count !== body.settlement.legs.length) fail(failures, item.id, `statement says ${statement.value.predicate.leg_count} legs, the settlement has ${body.settlement.legs.length}`);
        }
      }
    }
    const anchor = opened.get(body.jurisdiction)?.get(body.inclusion.tree_size);
    if (anchor === undefined) fail(failures, item.id, `no verified checkpoint of ${body.inclusion.tree_size} leaves to prove inclusion in`);
    else {
      try {
        const verdict = verifyInclusion(merkleLeafHash(leafBytes), body.log_index, body.inclusion.tree_size, body.inclusion.proof.map(base64Decode), anchor.checkpoint.rootHash);
        if (!verdict.ok) fail(failures, item.id, `inclusion in ${anchor.id}: ${verdict.reason.detail}`);
      } catch {
        fail(failures, item.id, 'inclusion proof is not base64');
      }
    }
    const receipt = verifyReceiptJws(body.settlement.receipt, jurisdictionKeys?.receiptKeys ?? []);
    if (receipt.failure !== undefined) fail(failures, item.id, receipt.failure);
    else if (receipt.claims?.batch_id !== body.settlement.batch_id || receipt.claims?.digest !== body.settlement.digest || receipt.claims?.log_index !== body.log_index) {
      fail(failures, item.id, 'the settlement receipt names another batch, digest or log index');
    }
    if (body.settlement.log_index !== body.log_index) fail(failures, item.id, `settlement log_index ${body.settlement.log_index} is not the leaf's ${body.log_index}`);
    checkNetting(item, body, failures);
    const earlier = seenDigests.get(body.settlement.digest);
    if (earlier !== undefined) fail(failures, item.id, `batch ${body.settlement.digest} is also ${earlier}: settled twice`);
    seenDigests.set(body.settlement.digest, item.id);
  }
}

async function verifyInstructions(items: readonly BundleItem[], instructionsIncluded: boolean, failures: Failures, parallelMin: number | undefined, precomputed: PrecomputedInstructions | undefined): Promise<void> {
  const keys = instructionKeysOf(items);
  const batches = new Map(items.filter((item) => item.kind === 'batch').map((item) => [(item.body as BatchItem).settlement.batch_id, item]));
  const uetrsOf = new Map([...batches].map(([batchId, batch]) => [batchId, new Set((batch.body as BatchItem).settlement.legs.map((leg) => leg.uetr))]));
  const instructed = new Set<string>();
  const instructions = items.filter((candidate) => candidate.kind === 'instruction');
  // Verdicts the caller computed under these very keys (./verify.ts, before the manifest check); the rest here.
  const usable = precomputed !== undefined && precomputed.keys.partners === keys.partners && precomputed.keys.gatewayJwks === keys.gatewayJwks ? precomputed.verdicts : undefined;
  const missing = instructions.filter((item) => usable?.get(item.body) === undefined);
  const computed = await checkInstructions(missing.map((item) => item.body as InstructionItem), keys, parallelMin === undefined ? {} : { parallelMin });
  const verdicts = new Map<unknown, InstructionVerdict>(missing.map((item, position) => [item.body, computed[position]!]));
  for (const item of instructions) {
    const body = item.body as InstructionItem;
    instructed.add(body.uetr);
    for (const detail of (usable?.get(body) ?? verdicts.get(body))!.failures) fail(failures, item.id, detail);
    if (body.status === 'settled' && body.batch_id !== null) {
      const batch = batches.get(body.batch_id);
      // A batch committed outside the period is not in the bundle; one that is must carry the leg.
      if (batch !== undefined && uetrsOf.get(body.batch_id)?.has(body.uetr) !== true) fail(failures, item.id, `batch ${body.batch_id} has no leg of UETR ${body.uetr}`);
    }
  }
  if (!instructionsIncluded) return;
  for (const [, batch] of batches) {
    const orphans = (batch.body as BatchItem).settlement.legs.filter((leg) => !instructed.has(leg.uetr));
    if (orphans.length > 0) fail(failures, batch.id, `${orphans.length} legs without an instruction in the bundle (first: UETR ${orphans[0]!.uetr})`);
  }
}

function verifyOpsAudit(items: readonly BundleItem[], failures: Failures): void {
  for (const item of items.filter((candidate) => candidate.kind === 'ops-audit')) {
    const entries = (item.body as { entries?: AuditEntry[] }).entries;
    if (!Array.isArray(entries)) {
      fail(failures, item.id, 'no entries');
      continue;
    }
    const chain = verifyAuditChain(entries);
    if (!chain.ok) fail(failures, item.id, `audit chain broken at seq ${chain.reason.seq}: ${chain.reason.detail}`);
  }
}

/** The keys instruction checks run under: the bundle's partner-keys and gateway-keys items (the first of each). */
export function instructionKeysOf(items: readonly { kind?: unknown; body?: unknown }[]): InstructionKeys {
  const partnerKeys = items.find((item) => item.kind === 'partner-keys')?.body as PartnerKeysItem | undefined;
  return {
    partners: partnerKeys?.partners ?? [],
    gatewayJwks: items.find((item) => item.kind === 'gateway-keys')?.body as { keys?: unknown } | undefined,
  };
}

/** Verdicts on instruction bodies computed ahead, with the keys they were computed under. */
export interface PrecomputedInstructions {
  keys: InstructionKeys;
  verdicts: Map<unknown, InstructionVerdict>;
}

export interface VerifyItemsOptions {
  pinned: PinnedKeys;
  instructionsIncluded: boolean;
  /** From how many instructions on their signatures are checked in worker threads (./check-instructions.ts). */
  parallelInstructionsMin?: number;
  precomputedInstructions?: PrecomputedInstructions;
}

export async function verifyItems(items: readonly BundleItem[], options: VerifyItemsOptions): Promise<Failures> {
  const failures: Failures = new Map();
  const keys = keysByJurisdiction(items, options.pinned, failures);
  const opened = verifyCheckpoints(items, keys, options.pinned, failures);
  verifyConsistencies(items, opened, failures);
  await verifyBatches(items, keys, opened, failures);
  await verifyInstructions(items, options.instructionsIncluded, failures, options.parallelInstructionsMin, options.precomputedInstructions);
  verifyOpsAudit(items, failures);
  for (const item of items.filter((candidate) => candidate.kind === 'sbom')) {
    if ((item.body as { document?: { bomFormat?: unknown } }).document?.bomFormat !== 'CycloneDX') fail(failures, item.id, 'not a CycloneDX document');
  }
  return failures;
}
