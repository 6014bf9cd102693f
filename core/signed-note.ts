/**
 * C2SP signed notes (c2sp.org/signed-note) and transparency-log checkpoints
 * (c2sp.org/tlog-checkpoint), as golang.org/x/mod/sumdb/note reads and writes them.
 *
 *   <text, ending in a newline>
 *   <blank line>
 *   — <key name> <base64(key id (4 bytes) ‖ signature)>      one line per signature
 *
 * Key type 0x01 (Ed25519) only. Key id = the first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public
 * key); verifier key = `<name>+<8 hex key id>+<base64(0x01 ‖ public key)>`. The key id is a hint
 * for finding the key, not a secret: a signature counts only once the named key verifies it.
 *
 * A checkpoint is a note whose text is: origin line, tree size (decimal), base64 root hash, then
 * optional extension lines. The auditor trusts a checkpoint only through openNote with the
 * verifier keys it got from GET /v1/keys.
 *
 * Threats handled here: a second spelling of the same note (strict base64 with padding, strict
 * decimal, one blank line), an unbounded signature block (≤ 100 lines, as Go), a verifier list
 * with two keys under one (name, key id) (rejected: ambiguous), a signature by a known key that
 * does not verify (the whole note is rejected, not just that line).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { base64Decode, base64Encode, sha256, utf8 } from './digest.ts';
import { err, ok, type Result } from './result.ts';

export const noteKeyTypeEd25519 = 0x01;
export const noteKeyIdBytes = 4;
const ed25519PublicKeyBytes = 32;
const ed25519SignatureBytes = 64;
/** Go's note.Open refuses more; so do we (a note is parsed before anything is trusted). */
export const noteSignaturesMax = 100;
const signatureLinePrefix = '\u2014 ';

export type NoteFailure =
  | { kind: 'malformed-note'; detail: string }
  | { kind: 'malformed-verifier'; detail: string }
  | { kind: 'ambiguous-verifier'; detail: string }
  | { kind: 'invalid-signature'; detail: string }
  | { kind: 'no-verified-signature'; detail: string }
  | { kind: 'malformed-checkpoint'; detail: string };

export interface NoteVerifierKey {
  name: string;
  /** Lowercase hex of the 4-byte key id. */
  keyIdHex: string;
  publicKey: Uint8Array;
}

/** Signs the note text; `sign` may be a remote key (KMS), so it is async and sees only the text. */
export interface NoteSigner {
  name: string;
  publicKey: Uint8Array;
  sign(message: Uint8Array): Promise<Uint8Array>;
}

export interface NoteSignature {
  name: string;
  keyIdHex: string;
  /** The base64 text of the line (key id ‖ signature). */
  base64: string;
}

export interface OpenedNote {
  /** The signed text, including its final newline. */
  text: string;
  /** Signatures by keys in the verifier list, all of which verified. */
  verified: NoteSignature[];
  /** Signatures by keys the caller did not supply (ignored, as in Go). */
  unverified: NoteSignature[];
}

/** Non-empty, no Unicode space (Go's unicode.IsSpace, which includes U+0085), no '+'. */
export function isValidNoteKeyName(name: string): boolean {
  return name.length > 0 && !/[\s\u0085+]/u.test(name) && !/\p{Cs}/u.test(name);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

function typedPublicKey(publicKey: Uint8Array): Uint8Array {
  const typed = new Uint8Array(1 + publicKey.length);
  typed[0] = noteKeyTypeEd25519;
  typed.set(publicKey, 1);
  return typed;
}

/** SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[0:4]. */
export function noteKeyId(name: string, publicKey: Uint8Array): Uint8Array {
  const nameBytes = utf8(name);
  const typed = typedPublicKey(publicKey);
  const input = new Uint8Array(nameBytes.length + 1 + typed.length);
  input.set(nameBytes, 0);
  input[nameBytes.length] = 0x0a;
  input.set(typed, nameBytes.length + 1);
  return sha256(input).slice(0, noteKeyIdBytes);
}

/** `<name>+<hex key id>+<base64(0x01 ‖ public key)>`, the form GET /v1/keys lists under note_verifiers. */
export function formatNoteVerifier(name: string, publicKey: Uint8Array): string {
  if (!isValidNoteKeyName(name)) throw new Error(`formatNoteVerifier: invalid key name ${JSON.stringify(name)}`);
  if (publicKey.length !== ed25519PublicKeyBytes) throw new Error(`formatNoteVerifier: an Ed25519 public key is ${ed25519PublicKeyBytes} bytes, not ${publicKey.length}`);
  return `${name}+${hex(noteKeyId(name, publicKey))}+${base64Encode(typedPublicKey(publicKey))}`;
}

export function parseNoteVerifier(verifierKey: string): Result<NoteVerifierKey, NoteFailure> {
  const malformed = (detail: string) => err<NoteFailure>({ kind: 'malformed-verifier', detail: `verifier key ${JSON.stringify(verifierKey.slice(0, 120))}: ${detail}` });
  // Split at the first two '+' only: the base64 key may contain '+' itself.
  const firstPlus = verifierKey.indexOf('+');
  const secondPlus = firstPlus < 0 ? -1 : verifierKey.indexOf('+', firstPlus + 1);
  if (secondPlus < 0) return malformed('expected <name>+<key id>+<key>');
  const name = verifierKey.slice(0, firstPlus);
  const keyIdHex = verifierKey.slice(firstPlus + 1, secondPlus);
  const keyBase64 = verifierKey.slice(secondPlus + 1);
  if (!isValidNoteKeyName(name)) return malformed('invalid key name');
  if (!/^[0-9a-fA-F]{8}$/.test(keyIdHex)) return malformed('key id is not 8 hex digits');
  let typed: Uint8Array;
  try {
    typed = base64Decode(keyBase64);
  } catch {
    return malformed('key is not base64');
  }
  if (typed[0] !== noteKeyTypeEd25519) return malformed(`unsupported key type ${typed[0] ?? '(none)'} (only 0x01 Ed25519)`);
  const publicKey = typed.slice(1);
  if (publicKey.length !== ed25519PublicKeyBytes) return malformed(`Ed25519 key is ${publicKey.length} bytes, not ${ed25519PublicKeyBytes}`);
  const expected = hex(noteKeyId(name, publicKey));
  if (expected !== keyIdHex.toLowerCase()) return malformed(`key id ${keyIdHex} does not match the key (expected ${expected})`);
  return ok({ name, keyIdHex: expected, publicKey });
}

function noteTextProblem(text: string): string | undefined {
  if (text.length === 0 || !text.endsWith('\n')) return 'text must be non-empty and end with a newline';
  if (/[\u0000-\u0009\u000b-\u001f]/.test(text)) return 'text contains an ASCII control character other than newline';
  if (/\p{Cs}/u.test(text)) return 'text is not well-formed Unicode (lone surrogate)';
  return undefined;
}

/** Signs `text` with every signer, in order; signature lines follow a blank line. */
export async function signNote(text: string, signers: readonly NoteSigner[]): Promise<string> {
  const problem = noteTextProblem(text);
  if (problem !== undefined) throw new Error(`signNote: ${problem}`);
  if (signers.length === 0 || signers.length > noteSignaturesMax) throw new Error(`signNote: between 1 and ${noteSignaturesMax} signers, got ${signers.length}`);
  const message = utf8(text);
  let signatureLines = '';
  for (const signer of signers) {
    if (!isValidNoteKeyName(signer.name)) throw new Error(`signNote: invalid key name ${JSON.stringify(signer.name)}`);
    const signature = await signer.sign(message);
    if (signature.length !== ed25519SignatureBytes || !ed25519Verifies(signature, message, signer.publicKey)) {
      throw new Error(`signNote: signer ${signer.name} returned a signature that does not verify under its public key`);
    }
    const line = new Uint8Array(noteKeyIdBytes + signature.length);
    line.set(noteKeyId(signer.name, signer.publicKey), 0);
    line.set(signature, noteKeyIdBytes);
    signatureLines += `${signatureLinePrefix}${signer.name} ${base64Encode(line)}\n`;
  }
  return `${text}\n${signatureLines}`;
}

/** RFC 8032 strict verification (no ZIP-215 leniency): one valid encoding per signature. */
function ed25519Verifies(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

interface ParsedSignatureLine extends NoteSignature {
  signature: Uint8Array;
}

function parseSignatureLine(line: string): ParsedSignatureLine | undefined {
  if (!line.startsWith(signatureLinePrefix)) return undefined;
  const rest = line.slice(signatureLinePrefix.length);
  const space = rest.indexOf(' ');
  if (space < 0) return undefined;
  const name = rest.slice(0, space);
  const base64 = rest.slice(space + 1);
  if (!isValidNoteKeyName(name) || base64.length === 0) return undefined;
  let bytes: Uint8Array;
  try {
    bytes = base64Decode(base64);
  } catch {
    return undefined;
  }
  if (bytes.length <= noteKeyIdBytes) return undefined;
  return { name, keyIdHex: hex(bytes.subarray(0, noteKeyIdBytes)), base64, signature: bytes.slice(noteKeyIdBytes) };
}

/**
 * Parses a signed note and checks its signatures against `verifiers` (golang.org/x/mod/sumdb/note
 * Open): signatures by unknown keys are returned as unverified; one invalid signature by a known
 * key rejects the note; a note that no known key signed is rejected.
 */
export function openNote(note: string, verifiers: readonly NoteVerifierKey[]): Result<OpenedNote, NoteFailure> {
  const malformed = (detail: string) => err<NoteFailure>({ kind: 'malformed-note', detail });
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note) || /\p{Cs}/u.test(note)) return malformed('note contains a control character or is not well-formed Unicode');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) return malformed('no blank line before the signatures');
  const text = note.slice(0, split + 1);
  const signatureBlock = note.slice(split + 2);
  if (signatureBlock.length === 0 || !signatureBlock.endsWith('\n')) return malformed('the signature block must be non-empty and end with a newline');
  const lines = signatureBlock.slice(0, -1).split('\n');
  if (lines.length > noteSignaturesMax) return malformed(`more than ${noteSignaturesMax} signatures`);
  const byKey = new Map<string, NoteVerifierKey[]>();
  for (const verifier of verifiers) {
    const key = `${verifier.name}+${verifier.keyIdHex}`;
    byKey.set(key, [...(byKey.get(key) ?? []), verifier]);
  }
  const message = utf8(text);
  const opened: OpenedNote = { text, verified: [], unverified: [] };
  for (const line of lines) {
    const parsed = parseSignatureLine(line);
    if (parsed === undefined) return malformed(`malformed signature line ${JSON.stringify(line.slice(0, 120))}`);
    const { signature, ...reported } = parsed;
    const candidates = byKey.get(`${parsed.name}+${parsed.keyIdHex}`);
    if (candidates === undefined) {
      opened.unverified.push(reported);
      continue;
    }
    if (candidates.length > 1) return err({ kind: 'ambiguous-verifier', detail: `two verifier keys named ${parsed.name}+${parsed.keyIdHex}` });
    if (!ed25519Verifies(signature, message, candidates[0]!.publicKey)) {
      return err({ kind: 'invalid-signature', detail: `signature by ${parsed.name}+${parsed.keyIdHex} does not verify` });
    }
    opened.verified.push(reported);
  }
  if (opened.verified.length === 0) {
    const seen = opened.unverified.map((signature) => `${signature.name}+${signature.keyIdHex}`).join(', ');
    return err({ kind: 'no-verified-signature', detail: `no signature by a known key (signed by: ${seen})` });
  }
  return ok(opened);
}

// ---------------------------------------------------------------------------------------------
// Checkpoints (c2sp.org/tlog-checkpoint)

export interface Checkpoint {
  /** The log's identity, e.g. meridian.example/log/eu. */
  origin: string;
  treeSize: number;
  rootHash: Uint8Array;
  extensions: string[];
}

const rootHashBytes = 32;
const treeSizePattern = /^(0|[1-9][0-9]*)$/;

export function formatCheckpoint(checkpoint: Checkpoint): string {
  if (checkpoint.origin.length === 0 || checkpoint.origin.includes('\n')) throw new Error('formatCheckpoint: origin must be one non-empty line');
  if (!Number.isSafeInteger(checkpoint.treeSize) || checkpoint.treeSize < 0) throw new Error(`formatCheckpoint: tree size ${checkpoint.treeSize} is not a non-negative safe integer`);
  if (checkpoint.rootHash.length !== rootHashBytes) throw new Error(`formatCheckpoint: root hash is ${checkpoint.rootHash.length} bytes, not ${rootHashBytes}`);
  for (const extension of checkpoint.extensions) {
    if (extension.length === 0 || extension.includes('\n')) throw new Error('formatCheckpoint: extension lines must be non-empty single lines');
  }
  return [checkpoint.origin, String(checkpoint.treeSize), base64Encode(checkpoint.rootHash), ...checkpoint.extensions].join('\n') + '\n';
}

/** Parses a checkpoint's note text (the part openNote returns as `text`). */
export function parseCheckpoint(text: string): Result<Checkpoint, NoteFailure> {
  const malformed = (detail: string) => err<NoteFailure>({ kind: 'malformed-checkpoint', detail });
  if (!text.endsWith('\n')) return malformed('checkpoint text must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) return malformed('a checkpoint has an origin, a tree size and a root hash line');
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) return malformed('empty origin line');
  if (!treeSizePattern.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) return malformed(`tree size ${JSON.stringify(sizeText.slice(0, 40))} is not a decimal safe integer`);
  let rootHash: Uint8Array;
  try {
    rootHash = base64Decode(rootText);
  } catch {
    return malformed('root hash is not base64');
  }
  if (rootHash.length !== rootHashBytes) return malformed(`root hash is ${rootHash.length} bytes, not ${rootHashBytes}`);
  if (extensions.some((line) => line.length === 0)) return malformed('empty extension line');
  return ok({ origin, treeSize: Number(sizeText), rootHash, extensions });
}
