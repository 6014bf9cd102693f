/**
 * The log's side of witnessing: submit this backend's latest signed checkpoint to every
 * configured witness (the other jurisdictions' backends) with a consistency proof from the size
 * that witness last cosigned, check the cosignature it returns, and serve the checkpoint with
 * every cosignature collected for its size.
 *
 * Asynchronous to the commit, on purpose: a settlement never waits for a witness, and a witness
 * that is down, slow or refusing costs nothing but its cosignature. A loop (`run`) collects every
 * cosignIntervalMs; each round asks only the witnesses that have not cosigned the current size,
 * so a failed one is retried next round. Per witness the protocol's 409 tells the size it holds
 * (a sibling backend may have advanced it): one retry with a proof from there.
 *
 * A cosignature is recorded only after it verifies under the witness's published key
 * (GET <witness>/v1/witness): the served checkpoint never carries a line nobody can verify.
 * Collected cosignatures live in the database (./cosignature-store.ts), not in the process: a
 * restarted backend serves them at once, a sibling backend of the jurisdiction (eu-1, eu-2) serves
 * the ones the other collected for the same checkpoint text, and a round skips a witness whose
 * cosignature is already recorded. `witnessed()` is the newest checkpoint that gathered a quorum
 * (a majority of the witnesses): what an evidence export prefers, since the newest one may still
 * be collecting.
 */
import { base64Encode } from '../../core/digest.ts';
import { parseCheckpoint } from '../../core/signed-note.ts';
import type { CheckpointSource, SignedCheckpoint } from '../log/checkpoint.ts';
import type { LogTree } from '../log/tree.ts';
import type { RegionalLogger } from '../logger.ts';
import { parseCosignerVerifier, splitNote, verifyCosignatures, type CosignerKey } from './cosignature.ts';
import type { CosignatureStore, CosignedCheckpoint } from './cosignature-store.ts';
import { tlogSizeMediaType, witnessPathPrefix } from './witness-routes.ts';

export const cosignIntervalMs = 1_000;
export const witnessRequestTimeoutMs = 5_000;
const witnessAnswerBytesMax = 16 * 1024;
/** After a 409 the request is repeated once from the witness's size; more means a racing sibling. */
const conflictRetriesMax = 2;

export interface CosigningConfig {
  /** Base URLs of the witnesses. */
  witnessUrls: readonly string[];
  /** The log's origin line (e.g. meridian.example/log/eu). */
  origin: string;
  checkpoints: CheckpointSource;
  tree: LogTree;
  store: CosignatureStore;
  logger: RegionalLogger;
  now: () => Date;
  fetch?: typeof fetch;
}

export interface CollectRound {
  treeSize: number;
  cosignedBy: string[];
  failed: Array<{ witness: string; error: string }>;
}

export interface Cosigning {
  /** The checkpoint with the cosignatures recorded for it appended. */
  attach(signed: SignedCheckpoint): Promise<SignedCheckpoint>;
  /** The newest checkpoint with a quorum of cosignatures. */
  witnessed(): Promise<SignedCheckpoint | undefined>;
  /** A majority of the configured witnesses. */
  readonly quorum: number;
  /** One round: ask every witness that has not cosigned the latest checkpoint. */
  collect(): Promise<CollectRound>;
  /** Collects every intervalMs until `signal` aborts. */
  run(signal: AbortSignal, intervalMs?: number): void;
}

interface WitnessPeer {
  url: string;
  key?: CosignerKey;
  /** The size this witness last cosigned, as far as this backend knows (from the database at first). */
  knownSize: number;
}

/** The signature lines appended to the note, each with its newline. */
function withCosignatures(note: string, lines: readonly string[]): string {
  return `${note}${lines.map((line) => `${line}\n`).join('')}`;
}

function cosignedCheckpoint(signed: SignedCheckpoint): CosignedCheckpoint & { text: string } {
  const parts = splitNote(signed.note);
  const parsed = parts === undefined ? undefined : parseCheckpoint(parts.text);
  if (parts === undefined || parsed === undefined || !parsed.ok) throw new Error('cosigning: the log checkpoint is not a signed checkpoint note');
  return { origin: parsed.value.origin, treeSize: parsed.value.treeSize, rootHash: base64Encode(parsed.value.rootHash), note: signed.note, text: parts.text };
}

function witnessUrl(base: string, path: string): string {
  return new URL(path, base.endsWith('/') ? base : `${base}/`).toString();
}

export function createCosigning(config: CosigningConfig): Cosigning {
  const fetcher = config.fetch ?? fetch;
  const peers: WitnessPeer[] = config.witnessUrls.map((url) => ({ url, knownSize: 0 }));
  const quorum = Math.floor(peers.length / 2) + 1;
  const { store } = config;
  let collecting: Promise<CollectRound> | undefined;

  async function peerKey(peer: WitnessPeer, origin: string): Promise<CosignerKey> {
    if (peer.key !== undefined) return peer.key;
    const response = await fetcher(witnessUrl(peer.url, witnessPathPrefix.slice(1)), { signal: AbortSignal.timeout(witnessRequestTimeoutMs) });
    if (response.status !== 200) throw new Error(`GET ${witnessPathPrefix}: HTTP ${response.status}`);
    const body = (await response.json()) as { verifier?: unknown };
    const parsed = typeof body.verifier === 'string' ? parseCosignerVerifier(body.verifier) : undefined;
    if (parsed === undefined || !parsed.ok) throw new Error(`GET ${witnessPathPrefix}: no usable cosigner key`);
    peer.knownSize = await store.largestCosigned(origin, parsed.value.name);
    peer.key = parsed.value;
    return parsed.value;
  }

  async function submit(peer: WitnessPeer, signed: SignedCheckpoint, checkpoint: CosignedCheckpoint & { text: string }): Promise<void> {
    const { text } = checkpoint;
    const key = await peerKey(peer, checkpoint.origin);
    for (let attempt = 0; attempt <= conflictRetriesMax; attempt++) {
      const oldSize = peer.knownSize;
      if (oldSize > signed.treeSize) throw new Error(`witness holds ${oldSize} leaves, beyond this checkpoint's ${signed.treeSize}; waiting for the log to catch up`);
      const proof = oldSize > 0 && oldSize < signed.treeSize ? await config.tree.consistencyProof(oldSize, signed.treeSize) : [];
      const body = `old ${oldSize}\n${proof.map((hash) => `${base64Encode(hash)}\n`).join('')}\n${signed.note}`;
      const response = await fetcher(witnessUrl(peer.url, `${witnessPathPrefix.slice(1)}/add-checkpoint`), {
        method: 'POST',
        body,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        signal: AbortSignal.timeout(witnessRequestTimeoutMs),
      });
      const answer = (await response.text()).slice(0, witnessAnswerBytesMax);
      if (response.status === 409 && (response.headers.get('content-type') ?? '').startsWith(tlogSizeMediaType) && /^(0|[1-9][0-9]*)\n$/.test(answer)) {
        const latestSize = Number(answer.trim());
        if (latestSize === oldSize) throw new Error(`witness refuses checkpoint ${signed.treeSize} at its own size ${latestSize}: a fork at equal size`);
        peer.knownSize = latestSize;
        continue;
      }
      if (response.status !== 200) throw new Error(`add-checkpoint: HTTP ${response.status} ${answer.slice(0, 200)}`);
      const lines = answer.split('\n').filter((line) => line !== '');
      const verified = verifyCosignatures(text, lines, [key]);
      if (!verified.ok || verified.value.length === 0) throw new Error(`add-checkpoint: no verifiable cosignature by ${key.name} in the answer`);
      peer.knownSize = signed.treeSize;
      const line = lines.find((candidate) => candidate.startsWith(`\u2014 ${key.name} `))!;
      await store.record(checkpoint, { witness: key.name, keyIdHex: key.keyIdHex, line }, config.now());
      return;
    }
    throw new Error(`add-checkpoint: still 409 after ${conflictRetriesMax} retries`);
  }

  async function collectOnce(): Promise<CollectRound> {
    const signed = await config.checkpoints.latest();
    const checkpoint = cosignedCheckpoint(signed);
    const recorded = async () => new Set((await store.forCheckpoint(checkpoint.origin, checkpoint.treeSize, checkpoint.rootHash)).map((entry) => entry.witness));
    const before = await recorded();
    const round: CollectRound = { treeSize: signed.treeSize, cosignedBy: [], failed: [] };
    const pending = peers.filter((peer) => peer.key === undefined || !before.has(peer.key.name));
    await Promise.all(
      pending.map(async (peer) => {
        try {
          await submit(peer, signed, checkpoint);
        } catch (error) {
          round.failed.push({ witness: peer.url, error: (error as Error).message });
        }
      }),
    );
    round.cosignedBy = [...(await recorded())].sort();
    for (const failure of round.failed) config.logger.info('witness did not cosign', { tree_size: signed.treeSize, ...failure });
    return round;
  }

  async function attach(signed: SignedCheckpoint): Promise<SignedCheckpoint> {
    const checkpoint = cosignedCheckpoint(signed);
    const cosignatures = await store.forCheckpoint(checkpoint.origin, checkpoint.treeSize, checkpoint.rootHash);
    return { treeSize: signed.treeSize, note: withCosignatures(signed.note, cosignatures.map((entry) => entry.line)) };
  }

  async function witnessed(): Promise<SignedCheckpoint | undefined> {
    const newest = await store.newestWitnessed(config.origin, quorum);
    if (newest === undefined) return undefined;
    return { treeSize: newest.checkpoint.treeSize, note: withCosignatures(newest.checkpoint.note, newest.cosignatures.map((entry) => entry.line)) };
  }

  function collect(): Promise<CollectRound> {
    // One round at a time: a slow witness must not pile rounds up behind it.
    collecting ??= collectOnce().finally(() => (collecting = undefined));
    return collecting;
  }

  return {
    attach,
    quorum,
    witnessed,
    collect,
    run(signal, intervalMs = cosignIntervalMs) {
      const tick = () => {
        if (signal.aborted) return;
        collect().then(
          () => schedule(),
          (error: unknown) => {
            config.logger.error('cosigning round failed', { error: (error as Error).message });
            schedule();
          },
        );
      };
      const schedule = () => {
        if (!signal.aborted) setTimeout(tick, intervalMs).unref();
      };
      schedule();
    },
  };
}
