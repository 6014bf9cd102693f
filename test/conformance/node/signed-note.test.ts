/**
 * C2SP signed notes against golang.org/x/mod/sumdb/note's test vector (copied into
 * test/conformance/vectors/signed-note): key ids, verifier keys, opening a doubly signed note, and
 * byte-exact re-signing with the test key (Ed25519 is deterministic). Then checkpoints.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { base64Decode } from '../../../core/digest.ts';
import {
  formatCheckpoint,
  formatNoteVerifier,
  noteKeyId,
  openNote,
  parseCheckpoint,
  parseNoteVerifier,
  signNote,
  type NoteSigner,
  type NoteVerifierKey,
} from '../../../core/signed-note.ts';

const vector = JSON.parse(readFileSync(join(import.meta.dirname, '../vectors/signed-note/vector.json'), 'utf8')) as {
  verifier_keys: { PeterNeumann: string; EnochRoot: string };
  signer_key_test_only: string;
  text: string;
  signed_note: string;
};

function verifier(text: string): NoteVerifierKey {
  const parsed = parseNoteVerifier(text);
  if (!parsed.ok) throw new Error(parsed.reason.detail);
  return parsed.value;
}

/** PRIVATE+KEY+<name>+<key id>+base64(0x01 ‖ Ed25519 seed), Go's signer key format (test key only). */
function vectorSigner(): NoteSigner {
  // The base64 key may itself contain '+': split off the first four fields only, as Go's chop does.
  const [, , name, , ...keyParts] = vector.signer_key_test_only.split('+') as [string, string, string, string, ...string[]];
  const typed = base64Decode(keyParts.join('+'));
  expect(typed[0]).toBe(0x01);
  const seed = typed.slice(1);
  return { name, publicKey: ed25519.getPublicKey(seed), sign: async (message) => ed25519.sign(message, seed) };
}

const peter = () => verifier(vector.verifier_keys.PeterNeumann);
const enoch = () => verifier(vector.verifier_keys.EnochRoot);

describe('C2SP signed note (golang.org/x/mod sumdb/note vector)', () => {
  it('parses both verifier keys and recomputes their key ids', () => {
    expect(peter()).toMatchObject({ name: 'PeterNeumann', keyIdHex: 'c74f20a3' });
    expect(enoch()).toMatchObject({ name: 'EnochRoot', keyIdHex: 'af0cfe78' });
    expect(Array.from(noteKeyId('PeterNeumann', peter().publicKey))).toEqual([0xc7, 0x4f, 0x20, 0xa3]);
    expect(formatNoteVerifier('PeterNeumann', peter().publicKey)).toBe(vector.verifier_keys.PeterNeumann);
    expect(formatNoteVerifier('EnochRoot', enoch().publicKey)).toBe(vector.verifier_keys.EnochRoot);
  });

  it('derives the vector verifier key from the test signer key', () => {
    const signer = vectorSigner();
    expect(formatNoteVerifier(signer.name, signer.publicKey)).toBe(vector.verifier_keys.PeterNeumann);
  });

  it('opens the doubly signed note with both keys', () => {
    const opened = openNote(vector.signed_note, [peter(), enoch()]);
    expect(opened.ok).toBe(true);
    if (!opened.ok) return;
    expect(opened.value.text).toBe(vector.text);
    expect(opened.value.verified.map((signature) => `${signature.name}+${signature.keyIdHex}`)).toEqual(['PeterNeumann+c74f20a3', 'EnochRoot+af0cfe78']);
    expect(opened.value.unverified).toEqual([]);
  });

  it('reports a signature by a key it was not given as unverified, and needs at least one known key', () => {
    const opened = openNote(vector.signed_note, [peter()]);
    expect(opened.ok && opened.value.unverified.map((signature) => signature.name)).toEqual(['EnochRoot']);
    expect(openNote(vector.signed_note, [])).toMatchObject({ ok: false, reason: { kind: 'no-verified-signature' } });
  });

  it('re-signs the text byte for byte with the test key', async () => {
    const signed = await signNote(vector.text, [vectorSigner()]);
    const peterLine = vector.signed_note.split('\n').find((line) => line.startsWith('\u2014 PeterNeumann '))!;
    expect(signed).toBe(`${vector.text}\n${peterLine}\n`);
  });

  it('rejects a note whose text was changed, even by one character', () => {
    const tampered = vector.signed_note.replace('cryptography', 'cryptographx');
    expect(openNote(tampered, [peter(), enoch()])).toMatchObject({ ok: false, reason: { kind: 'invalid-signature' } });
  });

  it('rejects a signature line that claims a known key but carries another signature', () => {
    const lines = vector.signed_note.split('\n');
    const enochBase64 = lines.find((line) => line.startsWith('\u2014 EnochRoot '))!.split(' ')[2]!;
    const swapped = vector.signed_note.replace(/\u2014 PeterNeumann \S+/, `\u2014 PeterNeumann ${enochBase64}`);
    // The key id bytes inside no longer name PeterNeumann's key: an unknown key, so nothing verifies for Peter.
    expect(openNote(swapped, [peter()])).toMatchObject({ ok: false, reason: { kind: 'no-verified-signature' } });
  });

  it.each([
    ['no blank line', vector.signed_note.replace('\n\n', '\n')],
    ['no final newline', vector.signed_note.slice(0, -1)],
    ['a control character', vector.signed_note.replace('answer', 'ans\u0007wer')],
    ['unpadded base64', vector.signed_note.replace(/=\n/, '\n')],
    ['a plain dash instead of an em dash', vector.signed_note.replace('\u2014 PeterNeumann', '- PeterNeumann')],
    ['a name with a plus', vector.signed_note.replace('\u2014 PeterNeumann', '\u2014 Peter+Neumann')],
  ])('rejects a malformed note: %s', (_label, note) => {
    expect(openNote(note, [peter(), enoch()])).toMatchObject({ ok: false, reason: { kind: 'malformed-note' } });
  });

  it.each([
    ['a wrong key id', vector.verifier_keys.PeterNeumann.replace('c74f20a3', 'c74f20a4')],
    ['a missing part', 'PeterNeumann+c74f20a3'],
    ['an unknown key type', `PeterNeumann+c74f20a3+${Buffer.from([0x02, ...peter().publicKey]).toString('base64')}`],
  ])('rejects a verifier key with %s', (_label, text) => {
    expect(parseNoteVerifier(text)).toMatchObject({ ok: false, reason: { kind: 'malformed-verifier' } });
  });

  it('round-trips a verifier key whose base64 contains a plus sign', () => {
    let seedByte = 0;
    let text = '';
    while (!text.split('+').slice(2).join('+').includes('+')) text = formatNoteVerifier('meridian.example/log/eu', ed25519.getPublicKey(new Uint8Array(32).fill(seedByte++)));
    expect(parseNoteVerifier(text).ok).toBe(true);
  });

  it('rejects two verifier keys under one name and key id as ambiguous', () => {
    expect(openNote(vector.signed_note, [peter(), { ...peter(), publicKey: enoch().publicKey }])).toMatchObject({ ok: false, reason: { kind: 'ambiguous-verifier' } });
  });
});

describe('C2SP checkpoint', () => {
  const rootHash = Uint8Array.from({ length: 32 }, (_, index) => index);

  it('formats origin, size and base64 root, and parses them back', () => {
    const text = formatCheckpoint({ origin: 'meridian.example/log/eu', treeSize: 12, rootHash, extensions: [] });
    expect(text).toBe('meridian.example/log/eu\n12\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n');
    expect(parseCheckpoint(text)).toEqual({ ok: true, value: { origin: 'meridian.example/log/eu', treeSize: 12, rootHash, extensions: [] } });
  });

  it('signs a checkpoint as a note that opens under its verifier key', async () => {
    const signer = vectorSigner();
    const note = await signNote(formatCheckpoint({ origin: 'meridian.example/log/eu', treeSize: 0, rootHash, extensions: [] }), [signer]);
    const opened = openNote(note, [verifier(formatNoteVerifier(signer.name, signer.publicKey))]);
    expect(opened.ok && parseCheckpoint(opened.value.text).ok).toBe(true);
  });

  it.each([
    ['a leading zero in the size', 'meridian.example/log/eu\n012\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n'],
    ['a negative size', 'meridian.example/log/eu\n-1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n'],
    ['a short root', 'meridian.example/log/eu\n12\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\n'],
    ['no root line', 'meridian.example/log/eu\n12\n'],
    ['an empty origin', '\n12\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n'],
    ['an empty extension line', 'meridian.example/log/eu\n12\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\n'],
  ])('rejects a checkpoint with %s', (_label, text) => {
    expect(parseCheckpoint(text)).toMatchObject({ ok: false, reason: { kind: 'malformed-checkpoint' } });
  });
});
