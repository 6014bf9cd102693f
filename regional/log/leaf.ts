/**
 * The transparency-log leaf for a committed batch: the DSSE envelope (payloadType
 * application/vnd.in-toto+json) of the batch's in-toto statement (core/in-toto.ts), signed by the
 * regional signer, serialized as RFC 8785 canonical JSON. Those exact bytes are stored, served at
 * GET /v1/log/leaves/{index}, and hashed as the RFC 6962 leaf SHA-256(0x00 ‖ leaf bytes).
 *
 * The signer may be remote (AWS KMS), so the envelope is built here: only the PAE bytes go to
 * signer.sign(), and the signature is checked against the signer's public key before the leaf is
 * stored — a misconfigured key fails the commit rather than writing a leaf nobody can verify.
 *
 * The same key also signs receipts (JWS) and checkpoints (signed notes). The three signed byte
 * strings cannot be confused: a JWS signing input starts with base64url('{"') = "eyJ", a DSSE PAE
 * with "DSSEv1 ", a checkpoint with the log origin line ("meridian.example/log/…").
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { dsseVerifierForKey, serializeEnvelope, signEnvelope, verifyEnvelope } from '../../core/dsse.ts';
import { utf8 } from '../../core/digest.ts';
import { inTotoPayloadType, serializeStatement, settlementBatchStatement } from '../../core/in-toto.ts';
import { merkleLeafHash } from '../../core/merkle.ts';
import type { Signer } from '../signer/signer.ts';

export interface LogLeafInput {
  batch_id: string;
  digest: string;
  corridor: string;
  jurisdiction: string;
  region: string;
  leg_count: number;
  committed_at: string;
}

export interface LogLeaf {
  /** The exact leaf bytes, as UTF-8 text (canonical JSON of the DSSE envelope). */
  leaf: string;
  /** Lowercase hex SHA-256(0x00 ‖ leaf bytes). */
  leafHash: string;
}

export async function settlementLogLeaf(input: LogLeafInput, signer: Signer): Promise<LogLeaf> {
  const statement = settlementBatchStatement({ ...input, receipt_kid: signer.kid });
  const payload = utf8(serializeStatement(statement));
  const envelope = await signEnvelope(inTotoPayloadType, payload, [{ keyid: signer.kid, sign: (preAuthEncoding) => signer.sign(preAuthEncoding) }]);
  const verifier = await dsseVerifierForKey({ kid: signer.kid, alg: signer.alg, publicKey: signer.publicKey });
  if (verifier === undefined || !(await verifyEnvelope(envelope, [verifier])).ok) {
    throw new Error(`settlementLogLeaf: signer ${signer.kid} (${signer.alg}) produced a leaf signature that does not verify under its public key (batch ${input.batch_id})`);
  }
  const leaf = serializeEnvelope(envelope);
  return { leaf, leafHash: rfc6962LeafHash(utf8(leaf)) };
}

/** Lowercase hex RFC 6962 leaf hash SHA-256(0x00 ‖ leaf bytes). */
export function rfc6962LeafHash(leafBytes: Uint8Array): string {
  return bytesToHex(merkleLeafHash(leafBytes));
}
