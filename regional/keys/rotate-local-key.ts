/**
 * Rotation of a local signer's key file (../signer/local-signer.ts): a new key of the same
 * algorithm becomes the file's key, and the old key is retired in the jurisdiction's registry
 * (not_after = now) but stays published, so what it signed keeps verifying. The backend signs with
 * the key it loaded at start: until it restarts it keeps signing with the old key (still published).
 *
 * Crash-safe and rerunnable, in this order:
 *   1. the new key is created (or, after an interrupted run, loaded) at `<key file>.next`;
 *   2. one transaction registers it for every purpose the old key had and retires the old key;
 *   3. `<key file>.next` is renamed over the key file (atomic on POSIX).
 * A crash after 1 or 2 leaves `.next` behind, and the next run finishes with that same key. The
 * old private key is gone after 3: a retired key never signs again, and its public half is in
 * the registry.
 *
 * For AWS KMS there is no file to rotate: create a new KMS key, point KMS_KEY_ID at it and restart
 * the backend; it registers the new key and retires the region's previous one (./backend-keys.ts).
 */
import { rename } from 'node:fs/promises';
import { err, ok, type Result } from '../../core/result.ts';
import type { RegionalOrm } from '../db/client.ts';
import { LocalSignerKeyFileMissing, loadOrCreateLocalSigner } from '../signer/local-signer.ts';
import type { SignerAlgorithm } from '../signer/signer.ts';
import { keyRegistry, rotateRegisteredKey, type KeyPurpose } from './key-registry.ts';

export interface LocalKeyRotation {
  keyFile: string;
  region: string;
  jurisdiction: string;
  database: RegionalOrm;
  now?: () => Date;
}

export interface RotatedLocalKey {
  alg: SignerAlgorithm;
  previousKid: string;
  kid: string;
  /** The purposes the new key took over in the registry; empty if the old key was never registered. */
  purposes: KeyPurpose[];
  retiredAt: Date;
}

export type LocalKeyRotationFailure =
  | { kind: 'key-file-missing'; detail: string }
  | { kind: 'key-file-unreadable'; detail: string }
  | { kind: 'wrong-region'; detail: string };

export function nextKeyFile(keyFile: string): string {
  return `${keyFile}.next`;
}

export async function rotateLocalSignerKey(rotation: LocalKeyRotation): Promise<Result<RotatedLocalKey, LocalKeyRotationFailure>> {
  const now = (rotation.now ?? (() => new Date()))();
  let previous;
  try {
    previous = await loadOrCreateLocalSigner({ keyFile: rotation.keyFile, createKeyFile: false });
  } catch (error) {
    if (error instanceof LocalSignerKeyFileMissing) return err({ kind: 'key-file-missing', detail: `no key file ${rotation.keyFile}: start the backend once (it creates one under MERIDIAN_POSTURE=local-dev), or pass the right --key-file / --data-dir` });
    return err({ kind: 'key-file-unreadable', detail: (error as Error).message });
  }
  const registered = await keyRegistry(rotation.database, rotation.jurisdiction).find(previous.kid);
  const foreign = registered.find((row) => row.region !== rotation.region);
  if (foreign !== undefined) {
    return err({ kind: 'wrong-region', detail: `key ${previous.kid} in ${rotation.keyFile} is registered to ${foreign.region}, not ${rotation.region}, in jurisdiction ${rotation.jurisdiction}` });
  }
  let next;
  try {
    next = await loadOrCreateLocalSigner({ keyFile: nextKeyFile(rotation.keyFile), alg: previous.alg as 'EdDSA' | 'ML-DSA-65', createKeyFile: true, now: () => now });
  } catch (error) {
    return err({ kind: 'key-file-unreadable', detail: `${(error as Error).message} (a leftover of an interrupted rotation? move it aside and rerun)` });
  }
  const { purposes } = await rotateRegisteredKey(rotation.database, rotation.jurisdiction, { region: rotation.region, previousKid: previous.kid, next, now });
  await rename(nextKeyFile(rotation.keyFile), rotation.keyFile);
  return ok({ alg: next.alg, previousKid: previous.kid, kid: next.kid, purposes, retiredAt: now });
}
