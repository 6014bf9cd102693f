/**
 * Verifying what Meridian signed for a payment, with nothing but public keys:
 *
 *   acceptance receipt  a JWS by the gateway (`typ: meridian-acceptance+jws`), verified against the
 *                       gateway's receipt JWKS (discovery's `receipts_jwks`, or /.well-known/jwks.json);
 *                       it must name this partner, this UETR and the SHA-256 of the exact instruction
 *                       JWS bytes that were sent — proof the gateway committed to *that* instruction.
 *   settlement          from the regional backend that committed the payment's batch (its auditor API):
 *                       the settlement receipt (a JWS by a key published at /v1/keys) naming the batch
 *                       digest and log index; the batch's legs containing this UETR; the log leaf at that
 *                       index, a DSSE envelope signed by a /v1/keys key whose in-toto statement names
 *                       the same digest; and an RFC 6962 inclusion proof of that leaf in a checkpoint
 *                       signed by one of the log's `note_verifiers`.
 *
 * The checks are the ones the gateway, the backends and the offline auditor use (core/): one
 * implementation of each standard. A failed check is a value naming what failed, never a throw, so a
 * caller can report or alert on it; only transport failures (the backend unreachable) throw.
 */
import { compactVerify, createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import { acceptanceReceiptType, type AcceptanceReceiptClaims } from '../../../core/acceptance-receipt.ts';
import { base64Decode, base64urlDecode, sha256Hex, utf8 } from '../../../core/digest.ts';
import { dsseVerifierForKey, parseEnvelope, verifyEnvelope, type DsseVerifier } from '../../../core/dsse.ts';
import { inTotoPayloadType, parseSettlementBatchStatement } from '../../../core/in-toto.ts';
import { merkleLeafHash, verifyInclusion } from '../../../core/merkle.ts';
import { openNote, parseCheckpoint, parseNoteVerifier, type NoteVerifierKey } from '../../../core/signed-note.ts';
import type { SettlementReceiptClaims } from '../../../core/settlement-batch.ts';
import { retryDecision, sleep } from './retry-policy.ts';

export type { AcceptanceReceiptClaims } from '../../../core/acceptance-receipt.ts';
export type { SettlementReceiptClaims } from '../../../core/settlement-batch.ts';

export type Verification<T> = { ok: true; value: T } | { ok: false; failure: string };

const verified = <T>(value: T): Verification<T> => ({ ok: true, value });
const failed = <T>(failure: string): Verification<T> => ({ ok: false, failure });

/** A strict base64/base64url decode whose refusal is a value: a backend's altered bytes are a failed check, not a throw. */
function decodedOrUndefined(text: unknown, decode: (text: string) => Uint8Array): Uint8Array | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    return decode(text);
  } catch {
    return undefined;
  }
}

export interface ExpectedAcceptance {
  partnerId: string;
  uetr: string;
  /** The instruction JWS exactly as submitted (compact or JSON serialization), before any sealing. */
  instructionJws: string;
}

export async function verifyAcceptanceReceipt(receipt: string, gatewayJwks: JSONWebKeySet, expected: ExpectedAcceptance): Promise<Verification<AcceptanceReceiptClaims>> {
  let payload: Uint8Array;
  try {
    const result = await compactVerify(receipt, createLocalJWKSet(gatewayJwks), { algorithms: ['EdDSA'] });
    if (result.protectedHeader.typ !== acceptanceReceiptType) return failed(`acceptance receipt typ is ${String(result.protectedHeader.typ)}, not ${acceptanceReceiptType}`);
    payload = result.payload;
  } catch (cause) {
    return failed(`acceptance receipt does not verify against the gateway JWKS: ${(cause as Error).message}`);
  }
  const claims = parseJson(payload) as Partial<AcceptanceReceiptClaims> | undefined;
  if (claims === undefined) return failed('acceptance receipt payload is not JSON');
  if (claims.partner_id !== expected.partnerId) return failed(`acceptance receipt names partner ${String(claims.partner_id)}, not ${expected.partnerId}`);
  if (claims.uetr !== expected.uetr) return failed(`acceptance receipt names UETR ${String(claims.uetr)}, not ${expected.uetr}`);
  const instructionSha256 = sha256Hex(expected.instructionJws);
  if (claims.instruction_sha256 !== instructionSha256) return failed(`acceptance receipt covers instruction ${String(claims.instruction_sha256)}, not the one submitted (${instructionSha256})`);
  if (claims.status !== 'accepted' && claims.status !== 'held') return failed(`acceptance receipt status ${String(claims.status)}`);
  return verified(claims as AcceptanceReceiptClaims);
}

/** A payment's status once settled (GET /v1/payments/{uetr}). */
export interface SettledPayment {
  uetr: string;
  status: 'settled';
  batch_id: string;
  jurisdiction: string;
  region: string;
  log_index: number;
}

export interface VerifiedSettlement {
  receipt: SettlementReceiptClaims;
  /** The checkpoint the inclusion proof was checked against. */
  checkpoint: { origin: string; treeSize: number; signedBy: string[] };
}

interface PublishedKeys {
  keys: Array<{ kid: string; alg: string; public_key: string }>;
  note_verifiers: string[];
}

interface PublishedSettlement {
  batch_id: string;
  digest: string;
  jurisdiction: string;
  legs: Array<{ uetr: string }>;
  log_index: number;
  receipt: string;
}

/** Bounds on what a backend can make this client wait for or hold. */
export const auditorRequestTimeoutMs = 10_000;

/**
 * Verifies a settled payment against the auditor API of the backend that committed it
 * (`regionalUrl`, e.g. http://127.0.0.1:8701 for eu-1 under `npm start`).
 */
export async function verifySettlement(payment: SettledPayment, regionalUrl: string, send: (request: Request) => Promise<Response> = (request) => fetch(request)): Promise<Verification<VerifiedSettlement>> {
  const get = async (path: string): Promise<Response> => {
    // A backend sheds auditor load with 503 + Retry-After: waited for like a gateway's 503.
    for (let attempt = 1; ; attempt += 1) {
      const response = await send(new Request(new URL(path, regionalUrl), { signal: AbortSignal.timeout(auditorRequestTimeoutMs) }));
      if (response.ok) return response;
      const decision = retryDecision({ kind: 'answer', status: response.status, retryAfter: response.headers.get('retry-after') }, attempt);
      if (!decision.retry) throw new Error(`${regionalUrl}${path} answered HTTP ${response.status}`);
      await response.body?.cancel();
      await sleep(decision.delayMs);
    }
  };
  const published = (await (await get('/v1/keys')).json()) as PublishedKeys;
  const settlement = (await (await get(`/v1/settlements/${encodeURIComponent(payment.batch_id)}`)).json()) as PublishedSettlement;
  if (!settlement.legs.some((leg) => leg.uetr === payment.uetr)) return failed(`batch ${payment.batch_id} has no leg of UETR ${payment.uetr}`);
  const verifiers = await keyVerifiers(published);
  const receipt = await verifySettlementReceipt(settlement.receipt, verifiers);
  if (!receipt.ok) return receipt;
  const claims = receipt.value;
  if (claims.batch_id !== payment.batch_id || claims.digest !== settlement.digest || claims.log_index !== payment.log_index || claims.jurisdiction !== payment.jurisdiction) {
    return failed(`settlement receipt names batch ${claims.batch_id} (digest ${claims.digest}, log index ${claims.log_index}, ${claims.jurisdiction}), not this payment's`);
  }
  const leaf = new Uint8Array(await (await get(`/v1/log/leaves/${claims.log_index}`)).arrayBuffer());
  const statement = await verifyLeaf(leaf, verifiers);
  if (!statement.ok) return statement;
  if (statement.value !== claims.digest) return failed(`log leaf ${claims.log_index} names batch digest ${statement.value}, not ${claims.digest}`);
  const checkpoint = await verifiedCheckpoint(await (await get('/v1/log/checkpoint')).text(), published.note_verifiers);
  if (!checkpoint.ok) return checkpoint;
  const { treeSize, rootHash } = checkpoint.value;
  if (treeSize <= claims.log_index) return failed(`the checkpoint (tree size ${treeSize}) does not cover log index ${claims.log_index} yet`);
  const inclusion = (await (await get(`/v1/log/inclusion?index=${claims.log_index}&size=${treeSize}`)).json()) as { proof?: unknown };
  const proof = Array.isArray(inclusion.proof) ? inclusion.proof.map((hash) => decodedOrUndefined(hash, base64Decode)) : [undefined];
  if (proof.some((hash) => hash === undefined)) return failed(`inclusion proof of leaf ${claims.log_index} in tree ${treeSize}: not an array of base64 hashes`);
  const included = verifyInclusion(merkleLeafHash(leaf), claims.log_index, treeSize, proof as Uint8Array[], rootHash);
  if (!included.ok) return failed(`inclusion proof of leaf ${claims.log_index} in tree ${treeSize}: ${included.reason.detail}`);
  return verified({ receipt: claims, checkpoint: { origin: checkpoint.value.origin, treeSize, signedBy: checkpoint.value.signedBy } });
}

async function keyVerifiers(published: PublishedKeys): Promise<Map<string, DsseVerifier>> {
  const verifiers = new Map<string, DsseVerifier>();
  for (const key of published.keys) {
    // A key whose bytes do not decode verifies nothing: whatever it would have signed then fails as unknown-kid.
    const publicKey = decodedOrUndefined(key.public_key, base64Decode);
    const verifier = publicKey === undefined ? undefined : await dsseVerifierForKey({ kid: key.kid, alg: key.alg, publicKey });
    if (verifier !== undefined) verifiers.set(key.kid, verifier);
  }
  return verifiers;
}

/** A compact JWS whose `alg` follows the backend key (EdDSA, ES256, ML-DSA-65): checked with the same verifiers as the log leaves. */
async function verifySettlementReceipt(receipt: string, verifiers: Map<string, DsseVerifier>): Promise<Verification<SettlementReceiptClaims>> {
  const [header, payload, signature, ...extra] = receipt.split('.');
  if (header === undefined || payload === undefined || signature === undefined || extra.length > 0) return failed('settlement receipt is not a compact JWS');
  let kid: string | undefined;
  try {
    kid = decodeProtectedHeader(receipt).kid;
  } catch {
    return failed('settlement receipt header is not JSON');
  }
  const verifier = kid === undefined ? undefined : verifiers.get(kid);
  if (verifier === undefined) return failed(`settlement receipt kid ${String(kid)} is not a key this backend publishes at /v1/keys`);
  const signatureBytes = decodedOrUndefined(signature, base64urlDecode);
  if (signatureBytes === undefined) return failed(`settlement receipt signature by ${kid} does not verify: not canonical base64url`);
  if (!(await verifier.verify(utf8(`${header}.${payload}`), signatureBytes))) return failed(`settlement receipt signature by ${kid} does not verify`);
  const payloadBytes = decodedOrUndefined(payload, base64urlDecode);
  const claims = payloadBytes === undefined ? undefined : (parseJson(payloadBytes) as SettlementReceiptClaims | undefined);
  return claims === undefined ? failed('settlement receipt payload is not JSON') : verified(claims);
}

/** The batch digest the leaf's verified in-toto statement names. */
async function verifyLeaf(leaf: Uint8Array, verifiers: Map<string, DsseVerifier>): Promise<Verification<string>> {
  const envelope = parseEnvelope(new TextDecoder().decode(leaf));
  if (!envelope.ok) return failed(`log leaf: ${envelope.reason.detail}`);
  const opened = await verifyEnvelope(envelope.value, [...verifiers.values()]);
  if (!opened.ok) return failed(`log leaf: ${opened.reason.detail}`);
  if (opened.value.payloadType !== inTotoPayloadType) return failed(`log leaf payload type ${opened.value.payloadType}`);
  const statement = parseSettlementBatchStatement(opened.value.payload);
  if (!statement.ok) return failed(`log leaf statement: ${statement.reason.detail}`);
  return verified(statement.value.subject[0].digest.sha256);
}

async function verifiedCheckpoint(note: string, noteVerifiers: string[]): Promise<Verification<{ origin: string; treeSize: number; rootHash: Uint8Array; signedBy: string[] }>> {
  const keys: NoteVerifierKey[] = [];
  for (const text of noteVerifiers) {
    const parsed = parseNoteVerifier(text);
    if (parsed.ok) keys.push(parsed.value);
  }
  const opened = openNote(note, keys);
  if (!opened.ok) return failed(`checkpoint signature: ${opened.reason.detail}`);
  const checkpoint = parseCheckpoint(opened.value.text);
  if (!checkpoint.ok) return failed(`checkpoint: ${checkpoint.reason.detail}`);
  return verified({ ...checkpoint.value, signedBy: opened.value.verified.map((signature) => `${signature.name}+${signature.keyIdHex}`) });
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}
