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
 * (after a restart this backend knows none): one retry with a proof from there.
 *
 * A cosignature is attached only after it verifies under the witness's published key
 * (GET <witness>/v1/witness): the served checkpoint never carries a line nobody can verify.
 * `witnessed()` is the newest checkpoint that gathered a quorum (a majority of the witnesses):
 * what an evidence export prefers, since the newest one may still be collecting.
 */
import { base64Encode } from '../../core/digest.ts';
import type { CheckpointSource, SignedCheckpoint } from '../log/checkpoint.ts';
import type { LogTree } from '../log/tree.ts';
import type { RegionalLogger } from '../logger.ts';
import { parseCosignerVerifier, splitNote, verifyCosignatures, type CosignerKey } from './cosignature.ts';
import { tlogSizeMediaType, witnessPathPrefix } from './witness-routes.ts';

export const cosignIntervalMs = 1_000;
export const witnessRequestTimeoutMs = 5_000;
/** Tree sizes whose cosignatures are kept in memory (the newest ones). */
export const cosignedSizesMax = 16;
const witnessAnswerBytesMax = 16 * 1024;
/** After a 409 the request is repeated once from the witness's size; more means a racing sibling. */
const conflictRetriesMax = 2;

export interface CosigningConfig {
  /** Base URLs of the witnesses. */
  witnessUrls: readonly string[];
  checkpoints: CheckpointSource;
  tree: LogTree;
  logger: RegionalLogger;
  fetch?: typeof fetch;
}

export interface CollectRound {
  treeSize: number;
  cosignedBy: string[];
  failed: Array<{ witness: string; error: string }>;
}

export interface Cosigning {
  /** The checkpoint with the cosignatures collected for its tree size appended. */
  attach(signed: SignedCheckpoint): SignedCheckpoint;
  /** The newest checkpoint with a quorum of cosignatures. */
  witnessed(): SignedCheckpoint | undefined;
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
  /** The size this witness last cosigned, as far as this backend knows. */
  knownSize: number;
}

function witnessUrl(base: string, path: string): string {
  return new URL(path, base.endsWith('/') ? base : `${base}/`).toString();
}

export function createCosigning(config: CosigningConfig): Cosigning {
  const fetcher = config.fetch ?? fetch;
  const peers: WitnessPeer[] = config.witnessUrls.map((url) => ({ url, knownSize: 0 }));
  const quorum = Math.floor(peers.length / 2) + 1;
  /** tree size → (root, witness name → cosignature line) */
  const bySize = new Map<number, { note: string; lines: Map<string, string> }>();
  let newestWitnessed: SignedCheckpoint | undefined;
  let collecting: Promise<CollectRound> | undefined;

  async function peerKey(peer: WitnessPeer): Promise<CosignerKey> {
    if (peer.key !== undefined) return peer.key;
    const response = await fetcher(witnessUrl(peer.url, witnessPathPrefix.slice(1)), { signal: AbortSignal.timeout(witnessRequestTimeoutMs) });
    if (response.status !== 200) throw new Error(`GET ${witnessPathPrefix}: HTTP ${response.status}`);
    const body = (await response.json()) as { verifier?: unknown };
    const parsed = typeof body.verifier === 'string' ? parseCosignerVerifier(body.verifier) : undefined;
    if (parsed === undefined || !parsed.ok) throw new Error(`GET ${witnessPathPrefix}: no usable cosigner key`);
    peer.key = parsed.value;
    return parsed.value;
  }

  async function submit(peer: WitnessPeer, signed: SignedCheckpoint, text: string): Promise<{ name: string; line: string }> {
    const key = await peerKey(peer);
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
      return { name: key.name, line: lines.find((line) => line.startsWith(`\u2014 ${key.name} `))! };
    }
    throw new Error(`add-checkpoint: still 409 after ${conflictRetriesMax} retries`);
  }

  async function collectOnce(): Promise<CollectRound> {
    const signed = await config.checkpoints.latest();
    const parts = splitNote(signed.note);
    if (parts === undefined) throw new Error('cosigning: the log checkpoint is not a signed note');
    let entry = bySize.get(signed.treeSize);
    if (entry === undefined) {
      entry = { note: signed.note, lines: new Map() };
      bySize.set(signed.treeSize, entry);
      for (const size of [...bySize.keys()].sort((a, b) => a - b).slice(0, Math.max(0, bySize.size - cosignedSizesMax))) bySize.delete(size);
    }
    const round: CollectRound = { treeSize: signed.treeSize, cosignedBy: [], failed: [] };
    const pending = peers.filter((peer) => peer.key === undefined || !entry.lines.has(peer.key.name));
    await Promise.all(
      pending.map(async (peer) => {
        try {
          const { name, line } = await submit(peer, signed, parts.text);
          entry.lines.set(name, line);
        } catch (error) {
          round.failed.push({ witness: peer.url, error: (error as Error).message });
        }
      }),
    );
    round.cosignedBy = [...entry.lines.keys()];
    if (entry.lines.size >= quorum && (newestWitnessed === undefined || newestWitnessed.treeSize <= signed.treeSize)) newestWitnessed = attach(signed);
    for (const failure of round.failed) config.logger.info('witness did not cosign', { tree_size: signed.treeSize, ...failure });
    return round;
  }

  function attach(signed: SignedCheckpoint): SignedCheckpoint {
    const entry = bySize.get(signed.treeSize);
    if (entry === undefined || entry.note !== signed.note || entry.lines.size === 0) return signed;
    return { treeSize: signed.treeSize, note: `${signed.note}${[...entry.lines.values()].map((line) => `${line}\n`).join('')}` };
  }

  function collect(): Promise<CollectRound> {
    // One round at a time: a slow witness must not pile rounds up behind it.
    collecting ??= collectOnce().finally(() => (collecting = undefined));
    return collecting;
  }

  return {
    attach,
    quorum,
    witnessed: () => newestWitnessed,
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
