/**
 * C2SP tlog-cosignature/v1 (c2sp.org/tlog-cosignature), Ed25519 type: a witness's statement that,
 * as of `time`, the checkpoint is the largest consistent tree head it has seen for the origin.
 *
 *   signature line   — <witness name> base64(key id (4) ‖ u64be timestamp (8) ‖ Ed25519 signature (64))
 *   key id           SHA-256(<name> ‖ 0x0A ‖ 0x04 ‖ public key)[0:4]      (0x04: cosignature/v1)
 *   signed message   "cosignature/v1\ntime <timestamp>\n" ‖ the checkpoint's note text
 *   verifier key     <name>+<hex key id>+<base64(0x04 ‖ public key)>      (as GET /v1/keys lists it)
 *
 * Threat: a log that only its operator signs can show two histories to two auditors. A quorum of
 * independent cosigners, each refusing a checkpoint inconsistent with the last it cosigned
 * (./witness.ts), makes a split view need the collusion of that quorum. The cosignature/v1
 * message does not commit to the witness name, so a witness key is used for one witness only and
 * never for anything else (the log's own checkpoint key is a separate key).
 *
 * Pure (core/ imports only): the offline verifier (cli/evidence/) uses it as the witness does.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { base64Decode, base64Encode, sha256, utf8 } from '../../core/digest.ts';
import { isValidNoteKeyName } from '../../core/signed-note.ts';
import { err, ok, type Result } from '../../core/result.ts';

export const cosignatureKeyType = 0x04;
const keyIdBytes = 4;
const timestampBytes = 8;
const ed25519SignatureBytes = 64;
const ed25519PublicKeyBytes = 32;
const cosignatureBytes = keyIdBytes + timestampBytes + ed25519SignatureBytes;
const signatureLinePrefix = '\u2014 ';
/** tlog-cosignature: the timestamp must not exceed 2^63 − 1; JavaScript numbers stop at 2^53. */
const timestampMax = Number.MAX_SAFE_INTEGER;

export interface CosignerKey {
  name: string;
  keyIdHex: string;
  publicKey: Uint8Array;
}

/** A cosigner that may be remote (KMS): it only ever sees the cosignature/v1 message. */
export interface Cosigner {
  name: string;
  publicKey: Uint8Array;
  sign(message: Uint8Array): Promise<Uint8Array>;
}

export interface VerifiedCosignature {
  name: string;
  keyIdHex: string;
  /** POSIX seconds. */
  timestamp: number;
}

export type CosignatureFailure = { kind: 'malformed-cosigner'; detail: string } | { kind: 'invalid-cosignature'; detail: string };

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

function typedKey(publicKey: Uint8Array): Uint8Array {
  const typed = new Uint8Array(1 + publicKey.length);
  typed[0] = cosignatureKeyType;
  typed.set(publicKey, 1);
  return typed;
}

export function cosignerKeyId(name: string, publicKey: Uint8Array): Uint8Array {
  const nameBytes = utf8(name);
  const typed = typedKey(publicKey);
  const input = new Uint8Array(nameBytes.length + 1 + typed.length);
  input.set(nameBytes, 0);
  input[nameBytes.length] = 0x0a;
  input.set(typed, nameBytes.length + 1);
  return sha256(input).slice(0, keyIdBytes);
}

export function formatCosignerVerifier(name: string, publicKey: Uint8Array): string {
  if (!isValidNoteKeyName(name)) throw new Error(`formatCosignerVerifier: invalid key name ${JSON.stringify(name)}`);
  if (publicKey.length !== ed25519PublicKeyBytes) throw new Error(`formatCosignerVerifier: an Ed25519 key is ${ed25519PublicKeyBytes} bytes, not ${publicKey.length}`);
  return `${name}+${hex(cosignerKeyId(name, publicKey))}+${base64Encode(typedKey(publicKey))}`;
}

export function parseCosignerVerifier(text: string): Result<CosignerKey, CosignatureFailure> {
  const malformed = (detail: string) => err<CosignatureFailure>({ kind: 'malformed-cosigner', detail: `cosigner key ${JSON.stringify(text.slice(0, 120))}: ${detail}` });
  const firstPlus = text.indexOf('+');
  const secondPlus = firstPlus < 0 ? -1 : text.indexOf('+', firstPlus + 1);
  if (secondPlus < 0) return malformed('expected <name>+<key id>+<key>');
  const name = text.slice(0, firstPlus);
  const keyIdHex = text.slice(firstPlus + 1, secondPlus).toLowerCase();
  if (!isValidNoteKeyName(name)) return malformed('invalid key name');
  let typed: Uint8Array;
  try {
    typed = base64Decode(text.slice(secondPlus + 1));
  } catch {
    return malformed('key is not base64');
  }
  if (typed[0] !== cosignatureKeyType) return malformed(`key type ${typed[0] ?? '(none)'} is not 0x04 (cosignature/v1)`);
  const publicKey = typed.slice(1);
  if (publicKey.length !== ed25519PublicKeyBytes) return malformed(`Ed25519 key is ${publicKey.length} bytes`);
  if (hex(cosignerKeyId(name, publicKey)) !== keyIdHex) return malformed('key id does not match the key');
  return ok({ name, keyIdHex, publicKey });
}

export function cosignatureMessage(checkpointText: string, timestamp: number): Uint8Array {
  return utf8(`cosignature/v1\ntime ${timestamp}\n${checkpointText}`);
}

/** One signature line (with its newline) cosigning `checkpointText` at `timestamp` (POSIX seconds). */
export async function cosignCheckpoint(checkpointText: string, cosigner: Cosigner, timestamp: number): Promise<string> {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new Error(`cosignCheckpoint: timestamp ${timestamp} is not a POSIX time`);
  const message = cosignatureMessage(checkpointText, timestamp);
  const signature = await cosigner.sign(message);
  if (signature.length !== ed25519SignatureBytes || !ed25519.verify(signature, message, cosigner.publicKey, { zip215: false })) {
    throw new Error(`cosignCheckpoint: cosigner ${cosigner.name} returned a signature that does not verify under its public key`);
  }
  const bytes = new Uint8Array(cosignatureBytes);
  bytes.set(cosignerKeyId(cosigner.name, cosigner.publicKey), 0);
  new DataView(bytes.buffer).setBigUint64(keyIdBytes, BigInt(timestamp), false);
  bytes.set(signature, keyIdBytes + timestampBytes);
  return `${signatureLinePrefix}${cosigner.name} ${base64Encode(bytes)}\n`;
}

/** Splits a signed note into its text (ending in a newline) and its signature lines. */
export function splitNote(note: string): { text: string; signatureLines: string[] } | undefined {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) return undefined;
  return { text: note.slice(0, split + 1), signatureLines: note.slice(split + 2, -1).split('\n') };
}

/**
 * The cosignatures in `signatureLines` by the given cosigners over `checkpointText`. Lines by
 * other keys (the log's own signature, unknown witnesses) are ignored; a line that names a known
 * cosigner and does not verify is a failure, never silently skipped.
 */
export function verifyCosignatures(checkpointText: string, signatureLines: readonly string[], cosigners: readonly CosignerKey[]): Result<VerifiedCosignature[], CosignatureFailure> {
  const verified: VerifiedCosignature[] = [];
  for (const line of signatureLines) {
    if (!line.startsWith(signatureLinePrefix)) continue;
    const rest = line.slice(signatureLinePrefix.length);
    const space = rest.indexOf(' ');
    if (space < 0) continue;
    const name = rest.slice(0, space);
    let bytes: Uint8Array;
    try {
      bytes = base64Decode(rest.slice(space + 1));
    } catch {
      continue;
    }
    if (bytes.length < keyIdBytes) continue;
    const keyIdHex = hex(bytes.subarray(0, keyIdBytes));
    const cosigner = cosigners.find((candidate) => candidate.name === name && candidate.keyIdHex === keyIdHex);
    if (cosigner === undefined) continue;
    if (bytes.length !== cosignatureBytes) return err({ kind: 'invalid-cosignature', detail: `cosignature by ${name}+${keyIdHex} is ${bytes.length} bytes, not ${cosignatureBytes}` });
    const timestamp = new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(keyIdBytes, false);
    if (timestamp > BigInt(timestampMax)) return err({ kind: 'invalid-cosignature', detail: `cosignature by ${name}+${keyIdHex} has timestamp ${timestamp} beyond range` });
    const signature = bytes.subarray(keyIdBytes + timestampBytes);
    let valid = false;
    try {
      valid = ed25519.verify(signature, cosignatureMessage(checkpointText, Number(timestamp)), cosigner.publicKey, { zip215: false });
    } catch {
      valid = false;
    }
    if (!valid) return err({ kind: 'invalid-cosignature', detail: `cosignature by ${name}+${keyIdHex} does not verify` });
    if (!verified.some((entry) => entry.name === name && entry.keyIdHex === keyIdHex)) verified.push({ name, keyIdHex, timestamp: Number(timestamp) });
  }
  return ok(verified);
}

export type QuorumFailure = { kind: 'malformed-note'; detail: string } | CosignatureFailure | { kind: 'no-quorum'; detail: string };

/**
 * A checkpoint note carries cosignatures by at least `quorum` distinct cosigners among `cosigners`,
 * every one of which verifies. The log's own signature is checked elsewhere (openNote).
 */
export function verifyWitnessQuorum(note: string, cosigners: readonly CosignerKey[], quorum: number): Result<VerifiedCosignature[], QuorumFailure> {
  const parts = splitNote(note);
  if (parts === undefined) return err({ kind: 'malformed-note', detail: 'not a signed note' });
  const verified = verifyCosignatures(parts.text, parts.signatureLines, cosigners);
  if (!verified.ok) return verified;
  const distinct = new Set(verified.value.map((entry) => entry.name)).size;
  if (distinct < quorum) return err({ kind: 'no-quorum', detail: `${distinct} of the required ${quorum} witness cosignatures (of ${cosigners.length} known witnesses)` });
  return ok(verified.value);
}
