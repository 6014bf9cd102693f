/**
 * A transparency-log witness (c2sp.org/tlog-witness) for the logs of the other jurisdictions.
 *
 *   add-checkpoint body:   old <size>\n  <≤63 base64 consistency proof lines>  \n  <checkpoint note>
 *
 * The witness cosigns a checkpoint only when:
 *   1. its origin is a log this witness is configured for                        else 404 unknown-origin
 *   2. a signature by one of that log's checkpoint keys verifies                  else 403 unverified-checkpoint
 *   3. old ≤ checkpoint size                                                      else 400 old-size-beyond-checkpoint
 *   4. old = the size of the latest checkpoint it cosigned for the origin (0 if none)
 *                                                                                 else 409, body "<latest size>\n"
 *   5. old = size ⇒ same root as that checkpoint                                  else 409 (a fork at equal size)
 *   6. 0 < old < size ⇒ the proof is an RFC 6962 consistency proof from it        else 422 inconsistent
 * and then records the new checkpoint (compare-and-set on the old size and root, ./store.ts:
 * a racing request loses and gets 409) before it answers with its cosignature line.
 *
 * Threat: the log's operator (or whoever holds its database) showing auditor A one history and
 * auditor B another. Once a witness cosigned size n, it never cosigns a tree that does not extend
 * it, so the forked history cannot gather that witness's cosignature.
 */
import { base64Decode, base64Encode } from '../../core/digest.ts';
import { verifyConsistency } from '../../core/merkle.ts';
import { err, ok, type Result } from '../../core/result.ts';
import { openNote, parseCheckpoint, type Checkpoint, type NoteVerifierKey } from '../../core/signed-note.ts';
import { cosignCheckpoint, type Cosigner } from './cosignature.ts';
import type { WitnessStore } from './store.ts';

/** tlog-witness: a client MUST NOT send more than 63 proof lines. */
export const consistencyProofLinesMax = 63;
/** A checkpoint note with a handful of signatures, plus 63 proof lines, fits well within this. */
export const addCheckpointBodyBytesMax = 64 * 1024;

export type AddCheckpointFailure =
  | { kind: 'malformed-request'; detail: string }
  | { kind: 'unknown-origin'; detail: string }
  | { kind: 'unverified-checkpoint'; detail: string }
  | { kind: 'old-size-beyond-checkpoint'; detail: string }
  | { kind: 'old-size-mismatch'; latestSize: number; detail: string }
  | { kind: 'fork-at-same-size'; latestSize: number; detail: string }
  | { kind: 'inconsistent'; detail: string };

/** The checkpoint keys of each log this witness watches; undefined = not a log it witnesses. */
export interface LogKeySource {
  verifiers(origin: string, options: { refresh: boolean }): Promise<NoteVerifierKey[] | undefined>;
}

export interface WitnessConfig {
  cosigner: Cosigner;
  store: WitnessStore;
  logKeys: LogKeySource;
  now: () => Date;
}

export interface AddCheckpointRequest {
  oldSize: number;
  proof: Uint8Array[];
  note: string;
}

const decimalPattern = /^(0|[1-9][0-9]{0,15})$/;

export function parseAddCheckpoint(body: string): Result<AddCheckpointRequest, AddCheckpointFailure> {
  const malformed = (detail: string) => err<AddCheckpointFailure>({ kind: 'malformed-request', detail });
  const blank = body.indexOf('\n\n');
  if (blank < 0) return malformed('expected an old size line, proof lines, an empty line, then the checkpoint');
  const header = body.slice(0, blank).split('\n');
  const note = body.slice(blank + 2);
  const oldLine = header[0]!;
  if (!oldLine.startsWith('old ') || !decimalPattern.test(oldLine.slice(4)) || !Number.isSafeInteger(Number(oldLine.slice(4)))) {
    return malformed(`first line must be "old <size>" (decimal, no leading zeros), got ${JSON.stringify(oldLine.slice(0, 40))}`);
  }
  const proofLines = header.slice(1);
  if (proofLines.length > consistencyProofLinesMax) return malformed(`more than ${consistencyProofLinesMax} consistency proof lines`);
  const proof: Uint8Array[] = [];
  for (const line of proofLines) {
    let hash: Uint8Array;
    try {
      hash = base64Decode(line);
    } catch {
      return malformed(`proof line ${JSON.stringify(line.slice(0, 60))} is not base64`);
    }
    if (hash.length !== 32) return malformed(`proof line decodes to ${hash.length} bytes, not 32`);
    proof.push(hash);
  }
  return ok({ oldSize: Number(oldLine.slice(4)), proof, note });
}

export interface Witness {
  readonly name: string;
  /** The cosignature line(s), each ending in a newline, or why not. */
  addCheckpoint(request: AddCheckpointRequest): Promise<Result<string, AddCheckpointFailure>>;
}

async function openTrusted(note: string, logKeys: LogKeySource): Promise<Result<Checkpoint, AddCheckpointFailure>> {
  const origin = note.slice(0, Math.max(0, note.indexOf('\n')));
  let verifiers = await logKeys.verifiers(origin, { refresh: false });
  if (verifiers === undefined) return err({ kind: 'unknown-origin', detail: `this witness does not witness ${JSON.stringify(origin.slice(0, 120))}` });
  let opened = openNote(note, verifiers);
  // A log that rotated its checkpoint key signs with one the cached list lacks: look again once.
  if (!opened.ok && opened.reason.kind === 'no-verified-signature') {
    verifiers = (await logKeys.verifiers(origin, { refresh: true })) ?? [];
    opened = openNote(note, verifiers);
  }
  if (!opened.ok) return err({ kind: opened.reason.kind === 'malformed-note' ? 'malformed-request' : 'unverified-checkpoint', detail: opened.reason.detail });
  const checkpoint = parseCheckpoint(opened.value.text);
  if (!checkpoint.ok) return err({ kind: 'malformed-request', detail: checkpoint.reason.detail });
  if (checkpoint.value.origin !== origin) return err({ kind: 'malformed-request', detail: 'origin line mismatch' });
  return ok(checkpoint.value);
}

export function createWitness(config: WitnessConfig): Witness {
  const { cosigner, store } = config;
  return {
    name: cosigner.name,
    async addCheckpoint(request) {
      const opened = await openTrusted(request.note, config.logKeys);
      if (!opened.ok) return opened;
      const checkpoint = opened.value;
      const { oldSize, proof } = request;
      if (oldSize > checkpoint.treeSize) return err({ kind: 'old-size-beyond-checkpoint', detail: `old size ${oldSize} exceeds the checkpoint's ${checkpoint.treeSize}` });
      const latest = await store.latest(cosigner.name, checkpoint.origin);
      const latestSize = latest?.treeSize ?? 0;
      if (oldSize !== latestSize) return err({ kind: 'old-size-mismatch', latestSize, detail: `the latest checkpoint cosigned for ${checkpoint.origin} has ${latestSize} leaves, not ${oldSize}` });
      const rootHash = base64Encode(checkpoint.rootHash);
      if (latest !== undefined && oldSize === checkpoint.treeSize) {
        if (latest.rootHash !== rootHash) return err({ kind: 'fork-at-same-size', latestSize, detail: `a checkpoint of ${oldSize} leaves with another root was cosigned before: the log forked` });
        if (proof.length > 0) return err({ kind: 'inconsistent', detail: 'equal sizes need an empty proof' });
      } else if (latest !== undefined && latest.treeSize > 0) {
        const verdict = verifyConsistency(oldSize, checkpoint.treeSize, proof, base64Decode(latest.rootHash), checkpoint.rootHash);
        if (!verdict.ok) return err({ kind: 'inconsistent', detail: `not consistent with the cosigned checkpoint of ${oldSize} leaves: ${verdict.reason.detail}` });
      } else if (proof.length > 0) {
        // Every tree extends the empty one (core/merkle.ts's size-0 rule): nothing to prove from 0.
        return err({ kind: 'inconsistent', detail: 'the proof must be empty when the old size is 0' });
      }
      const now = config.now();
      if (latest === undefined || oldSize !== checkpoint.treeSize) {
        const recorded = await store.advance(cosigner.name, checkpoint.origin, { from: latest, to: { treeSize: checkpoint.treeSize, rootHash, checkpoint: request.note, updatedAt: now } });
        if (!recorded.ok) return err({ kind: 'old-size-mismatch', latestSize: recorded.reason.latestSize, detail: `another submission for ${checkpoint.origin} was cosigned first (now ${recorded.reason.latestSize} leaves)` });
      }
      const text = request.note.slice(0, request.note.lastIndexOf('\n\n') + 1);
      return ok(await cosignCheckpoint(text, cosigner, Math.floor(now.getTime() / 1000)));
    },
  };
}
