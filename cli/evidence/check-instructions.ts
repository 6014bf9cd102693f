/**
 * The checks of one instruction item (./verify-items.ts), synchronous and self-contained so that
 * an hour's ~180,000 of them can run in worker threads (./instruction-worker.ts), each worker
 * with the bundle's partner keys and gateway JWKS:
 *   - instruction_sha256 is the SHA-256 of the JWS as submitted
 *   - the partner's JWS verifies under its registered Ed25519 key (and, for a hybrid partner's
 *     JSON serialization, its ML-DSA-65 signature under its ML-DSA-65 key) and names the UETR
 *   - the gateway's acceptance receipt verifies under the gateway JWKS and names the payment,
 *     the partner and the instruction digest
 * The link from instruction to leg and back needs every batch and stays in ./verify-items.ts.
 * Each verdict also carries the item's manifest digest (canonical JSON + SHA-256, ~17 µs an item,
 * 3 s an hour), so the workers do that too, and ./verify.ts starts them before the manifest check.
 *
 * Why threads: each item is two Ed25519 verifications (~60-150 µs each natively on this machine,
 * ./native-ed25519.ts); on one thread an hour is 25-50 s of signatures alone. Items go to the
 * workers in chunks (structured clones of their bodies, ~1.5 KB each) and come back as failure
 * lists in order; below parallelInstructionsMinDefault items the thread start-up costs more than
 * it saves, so they run inline. The worker count is the machine's parallelism, at most
 * instructionWorkersMax.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { base64urlDecode } from '../../core/digest.ts';
import { jwsSigningInput } from '../../core/hybrid-jws.ts';
import { verifyMlDsa65 } from '../../core/ml-dsa.ts';
import { itemDigest, type InstructionItem, type PartnerKeysItem } from './bundle-format.ts';
import { ed25519KeyObject, verifyEdDsaCompactJws } from './native-ed25519.ts';

export const parallelInstructionsMinDefault = 4_096;
export const instructionWorkersMax = 8;
/** Instructions per message to a worker: big enough that messaging is noise, small enough to balance the workers. */
export const instructionChunkItems = 2_048;

export interface InstructionKeys {
  partners: PartnerKeysItem['partners'];
  gatewayJwks: { keys?: unknown } | undefined;
}

/** Created once per partner key: an hour's bundle holds ~180,000 instructions from a handful of keys. */
function partnerKeyCache(partners: PartnerKeysItem['partners']) {
  const created = new Map<string, KeyObject | undefined>();
  return (partnerId: string, kid: string): KeyObject | undefined => {
    const cacheKey = `${partnerId} ${kid}`;
    if (!created.has(cacheKey)) {
      const registered = partners.find((partner) => partner.partner_id === partnerId)?.keys.find((candidate) => candidate.keyid === kid && candidate.alg === 'ed25519');
      let key: KeyObject | undefined;
      try {
        key = registered?.public_jwk === undefined ? undefined : ed25519KeyObject(base64urlDecode(registered.public_jwk.x));
      } catch {
        key = undefined;
      }
      created.set(cacheKey, key);
    }
    return created.get(cacheKey);
  };
}

/** The gateway's Ed25519 receipt keys by kid, from its JWKS (a malformed key is left out: nothing verifies under it). */
function gatewayReceiptKeys(jwks: { keys?: unknown } | undefined): Map<string, KeyObject> | undefined {
  if (jwks === undefined || !Array.isArray(jwks.keys)) return undefined;
  const byKid = new Map<string, KeyObject>();
  for (const jwk of jwks.keys as Array<Record<string, unknown>>) {
    if (typeof jwk?.kid !== 'string' || jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || (jwk.alg !== undefined && jwk.alg !== 'EdDSA') || typeof jwk.x !== 'string') continue;
    try {
      byKid.set(jwk.kid, createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' }));
    } catch {
      continue;
    }
  }
  return byKid;
}

/** One instruction item's outcome: the SHA-256 of its body for the manifest check (./bundle-format.ts itemDigest) and what failed (empty: verified). */
export interface InstructionVerdict {
  sha256: string;
  failures: string[];
}

/** The checker of instruction items under the bundle's keys. */
export function instructionChecker(keys: InstructionKeys): (body: InstructionItem) => InstructionVerdict {
  const check = instructionSignatureChecker(keys);
  return (body) => {
    let failures: string[];
    try {
      failures = check(body);
    } catch (error) {
      // A body of another shape (a forged bundle re-signed): named, never a crash of the verifier.
      failures = [`not an instruction item: ${(error as Error).message}`];
    }
    return { sha256: itemDigest(body), failures };
  };
}

function instructionSignatureChecker(keys: InstructionKeys): (body: InstructionItem) => string[] {
  const { partners } = keys;
  const partnerKeyFor = partnerKeyCache(partners);
  const receiptKeys = gatewayReceiptKeys(keys.gatewayJwks);
  return (body) => {
    const failed: string[] = [];
    // node:crypto: the CLI runs on Node, and noble's pure-JS hash was most of the time on ~180 MB of JWSs.
    if (createHash('sha256').update(body.jws, 'utf8').digest('hex') !== body.instruction_sha256) failed.push('instruction_sha256 is not the SHA-256 of the JWS');
    // Compact EdDSA JWS; a hybrid partner's JSON serialization carries an EdDSA and an ML-DSA-65 signature, both checked.
    const compact = body.jws.startsWith('{') ? hybridAsCompact(body.jws) : body.jws;
    if (body.jws.startsWith('{')) {
      const mlDsa = mlDsaFailure(body.jws, partners, body.partner_id);
      if (mlDsa !== undefined) failed.push(mlDsa);
    }
    let partnerKeyMissing = false;
    const partnerJws = compact === undefined ? { ok: false as const, detail: 'a JSON serialization without an EdDSA signature' } : verifyEdDsaCompactJws(compact, (kid) => {
      const key = partnerKeyFor(body.partner_id, kid);
      partnerKeyMissing = key === undefined;
      return key;
    });
    if (!partnerJws.ok) failed.push(partnerKeyMissing ? `no registered Ed25519 key ${String(decodedKid(compact ?? ''))} of partner ${body.partner_id}` : `partner JWS: ${partnerJws.detail}`);
    else {
      const instruction = jsonPayload(partnerJws.payload) as { uetr?: string } | undefined;
      if (instruction?.uetr !== body.uetr) failed.push(`the signed instruction is for UETR ${String(instruction?.uetr)}`);
    }
    if (body.receipt !== null) {
      const receipt = receiptKeys === undefined ? undefined : verifyEdDsaCompactJws(body.receipt, (kid) => receiptKeys.get(kid));
      if (receipt === undefined) failed.push('an acceptance receipt but no gateway JWKS to verify it');
      else if (!receipt.ok) failed.push(`acceptance receipt: ${receipt.detail}`);
      else {
        const claims = jsonPayload(receipt.payload) as { uetr?: string; partner_id?: string; instruction_sha256?: string } | undefined;
        if (claims?.uetr !== body.uetr || claims.partner_id !== body.partner_id || claims.instruction_sha256 !== body.instruction_sha256) failed.push('the acceptance receipt names another payment or instruction');
      }
    }
    return failed;
  };
}

/** The verdict on each of `bodies`, in order; in worker threads from options.parallelMin bodies on. */
export async function checkInstructions(bodies: readonly InstructionItem[], keys: InstructionKeys, options: { parallelMin?: number } = {}): Promise<InstructionVerdict[]> {
  if (bodies.length < (options.parallelMin ?? parallelInstructionsMinDefault)) return bodies.map(instructionChecker(keys));
  const chunks: InstructionItem[][] = [];
  for (let start = 0; start < bodies.length; start += instructionChunkItems) chunks.push(bodies.slice(start, start + instructionChunkItems));
  const results = new Array<InstructionVerdict[]>(chunks.length);
  const workerCount = Math.max(1, Math.min(availableParallelism(), instructionWorkersMax, chunks.length));
  let next = 0;
  const runWorker = () => new Promise<void>((resolve, reject) => {
    const worker = new Worker(new URL('./instruction-worker.ts', import.meta.url), { workerData: keys });
    let current = -1;
    const send = () => {
      if (next >= chunks.length) {
        void worker.terminate().then(() => resolve(), reject);
        return;
      }
      current = next++;
      worker.postMessage(chunks[current]);
    };
    worker.on('message', (verdicts: InstructionVerdict[]) => {
      results[current] = verdicts;
      send();
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (next < chunks.length || results[current] === undefined) reject(new Error(`instruction worker exited with code ${code} before its work was done`));
    });
    send();
  });
  await Promise.all(Array.from({ length: workerCount }, runWorker));
  return results.flat();
}

/** A JWS payload as JSON; undefined when it is not (the caller's claim check then fails). */
function jsonPayload(payload: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    return undefined;
  }
}

/** The kid a compact JWS's protected header names, for a failure message; undefined if unreadable. */
function decodedKid(compact: string): unknown {
  try {
    return (JSON.parse(new TextDecoder().decode(base64urlDecode(compact.split('.')[0]!))) as { kid?: unknown }).kid;
  } catch {
    return undefined;
  }
}

/** The ML-DSA-65 signature of a hybrid (general JSON) JWS under the partner's registered ML-DSA-65 key. */
function mlDsaFailure(json: string, partners: PartnerKeysItem['partners'], partnerId: string): string | undefined {
  try {
    const parsed = JSON.parse(json) as { payload: string; signatures: Array<{ protected: string; signature: string }> };
    for (const signature of parsed.signatures) {
      const header = JSON.parse(new TextDecoder().decode(base64urlDecode(signature.protected))) as { alg?: string; kid?: string };
      if (header.alg !== 'ML-DSA-65') continue;
      const key = partners.find((partner) => partner.partner_id === partnerId)?.keys.find((candidate) => candidate.keyid === header.kid && candidate.alg === 'ml-dsa-65');
      if (key?.public_key === undefined) return `no registered ML-DSA-65 key ${String(header.kid)} of partner ${partnerId}`;
      if (!verifyMlDsa65(base64urlDecode(key.public_key), jwsSigningInput(signature.protected, parsed.payload), base64urlDecode(signature.signature))) return 'partner JWS: the ML-DSA-65 signature does not verify';
      return undefined;
    }
    return 'partner JWS: a hybrid JWS without its ML-DSA-65 signature';
  } catch (error) {
    return `partner JWS: ${(error as Error).message}`;
  }
}

/** The EdDSA signature of a general JSON serialization as a compact JWS; undefined when there is none. */
function hybridAsCompact(json: string): string | undefined {
  try {
    const parsed = JSON.parse(json) as { payload: string; signatures: Array<{ protected: string; signature: string }> };
    const first = parsed.signatures.find((signature) => (JSON.parse(new TextDecoder().decode(base64urlDecode(signature.protected))) as { alg?: string }).alg === 'EdDSA');
    return first === undefined ? undefined : `${first.protected}.${parsed.payload}.${first.signature}`;
  } catch {
    return undefined;
  }
}

