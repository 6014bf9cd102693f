/**
 * Signed checkpoints of a jurisdiction's log (c2sp.org/tlog-checkpoint): origin line, tree size,
 * base64 root hash, then this backend's signature line.
 *
 * eu-1 and eu-2 share one log (one database), so one origin, `meridian.example/log/eu`; each
 * backend signs with its own key, under the origin as key name (the tlog-checkpoint convention:
 * the log's key is named after the log). The key id inside the signature line tells the two
 * backends' signatures apart, and each backend lists its own verifier key in GET /v1/keys.
 * Because both compute the root from the same leaves, their checkpoints of one size are
 * identical apart from the signature line — an auditor holding both can prove they agree.
 *
 * A checkpoint is signed once per tree size and reused until the log grows, so a remote key (KMS)
 * is asked for at most one signature per committed batch however often auditors poll.
 * A backend never signs a tree smaller than one it already signed: the log only grows, and a
 * shrinking one (a restored backup, a truncated table) is exactly what checkpoints exist to expose.
 */
import { ProblemError } from '../../core/problem.ts';
import { formatCheckpoint, formatNoteVerifier, signNote, type NoteSigner } from '../../core/signed-note.ts';
import type { Signer } from '../signer/signer.ts';
import type { LogLeafStore } from './store.ts';
import type { LogTree } from './tree.ts';

export const logOriginHost = 'meridian.example';

export function logOrigin(jurisdiction: string): string {
  return `${logOriginHost}/log/${jurisdiction}`;
}

/**
 * C2SP notes are Ed25519 (key type 0x01): an Ed25519 signer, local or KMS, signs checkpoints;
 * for any other key this is undefined, and the backend serves no checkpoint until an Ed25519
 * note signer is configured (RegionalAppConfig.noteSigner).
 */
export function noteSignerFor(signer: Signer, keyName: string): NoteSigner | undefined {
  if (signer.alg !== 'EdDSA' || signer.publicKey.length !== 32) return undefined;
  return { name: keyName, publicKey: signer.publicKey, sign: (message) => signer.sign(message) };
}

/** `<name>+<hex key id>+<base64(0x01 ‖ public key)>`, as GET /v1/keys lists it. */
export function noteVerifierFor(noteSigner: NoteSigner): string {
  return formatNoteVerifier(noteSigner.name, noteSigner.publicKey);
}

export interface SignedCheckpoint {
  treeSize: number;
  note: string;
}

export interface CheckpointSource {
  /** The checkpoint of the log as committed now, signed by this backend. */
  latest(): Promise<SignedCheckpoint>;
}

export interface CheckpointSourceConfig {
  origin: string;
  store: LogLeafStore;
  tree: LogTree;
  /** Undefined when no Ed25519 key is configured: checkpoints answer 503. */
  noteSigner: NoteSigner | undefined;
}

export function createCheckpointSource(config: CheckpointSourceConfig): CheckpointSource {
  let lastSigned: SignedCheckpoint | undefined;
  const signing = new Map<number, Promise<SignedCheckpoint>>();

  async function sign(treeSize: number, noteSigner: NoteSigner): Promise<SignedCheckpoint> {
    const rootHash = await config.tree.rootHash(treeSize);
    const note = await signNote(formatCheckpoint({ origin: config.origin, treeSize, rootHash, extensions: [] }), [noteSigner]);
    const signed = { treeSize, note };
    if (lastSigned === undefined || lastSigned.treeSize < treeSize) lastSigned = signed;
    return signed;
  }

  return {
    async latest() {
      const noteSigner = config.noteSigner;
      if (noteSigner === undefined) throw new ProblemError('unavailable', `log ${config.origin}: this backend has no Ed25519 key to sign checkpoints with`);
      const treeSize = await config.store.treeSize();
      if (lastSigned !== undefined && treeSize < lastSigned.treeSize) {
        throw new Error(`log ${config.origin}: the committed tree has ${treeSize} leaves but this backend already signed a checkpoint of ${lastSigned.treeSize}; refusing to sign a shrunken log`);
      }
      if (lastSigned?.treeSize === treeSize) return lastSigned;
      // Concurrent requests for the same new size share one signature.
      let pending = signing.get(treeSize);
      if (pending === undefined) {
        pending = sign(treeSize, noteSigner).finally(() => signing.delete(treeSize));
        signing.set(treeSize, pending);
      }
      return pending;
    },
  };
}
