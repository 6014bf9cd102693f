/**
 * An auditor's reads of a backend's log, through app.request(): checkpoint (signature checked
 * against the backend's own note_verifiers), leaves, proofs.
 */
import type { Hono } from 'hono';
import { base64Decode } from '../../../core/digest.ts';
import { openNote, parseCheckpoint, parseNoteVerifier, type Checkpoint, type NoteVerifierKey } from '../../../core/signed-note.ts';

export async function noteVerifiers(app: Hono): Promise<NoteVerifierKey[]> {
  const body = (await (await app.request('/v1/keys')).json()) as { note_verifiers: string[] };
  return body.note_verifiers.map((text) => {
    const parsed = parseNoteVerifier(text);
    if (!parsed.ok) throw new Error(parsed.reason.detail);
    return parsed.value;
  });
}

export interface FetchedCheckpoint extends Checkpoint {
  note: string;
  /** `<name>+<key id>` of the verified signature. */
  signedBy: string;
}

export async function fetchCheckpoint(app: Hono): Promise<FetchedCheckpoint> {
  const response = await app.request('/v1/log/checkpoint');
  if (response.status !== 200) throw new Error(`GET /v1/log/checkpoint answered ${response.status}: ${await response.text()}`);
  const note = await response.text();
  const opened = openNote(note, await noteVerifiers(app));
  if (!opened.ok) throw new Error(`checkpoint does not open: ${opened.reason.detail}`);
  const checkpoint = parseCheckpoint(opened.value.text);
  if (!checkpoint.ok) throw new Error(checkpoint.reason.detail);
  const [signature] = opened.value.verified;
  return { ...checkpoint.value, note, signedBy: `${signature!.name}+${signature!.keyIdHex}` };
}

export async function fetchLeaf(app: Hono, index: number): Promise<Uint8Array> {
  const response = await app.request(`/v1/log/leaves/${index}`);
  if (response.status !== 200) throw new Error(`GET /v1/log/leaves/${index} answered ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

export async function fetchInclusionProof(app: Hono, index: number, size: number): Promise<Uint8Array[]> {
  const response = await app.request(`/v1/log/inclusion?index=${index}&size=${size}`);
  if (response.status !== 200) throw new Error(`inclusion ${index}@${size} answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { proof: string[] }).proof.map(base64Decode);
}

export async function fetchConsistencyProof(app: Hono, from: number, to: number): Promise<Uint8Array[]> {
  const response = await app.request(`/v1/log/consistency?from=${from}&to=${to}`);
  if (response.status !== 200) throw new Error(`consistency ${from}→${to} answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { proof: string[] }).proof.map(base64Decode);
}
