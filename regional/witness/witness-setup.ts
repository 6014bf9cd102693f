/**
 * Builds this backend's witness from its configuration: the cosigner key (an Ed25519 signer of its
 * own, never the log's checkpoint key: the cosignature/v1 message does not name the witness), its
 * name `meridian.example/witness/<region>`, its store and the logs it watches.
 */
import type { RegionalQueryable } from '../db/client.ts';
import { logOriginHost } from '../log/checkpoint.ts';
import type { RegionalLogger } from '../logger.ts';
import type { Signer } from '../signer/signer.ts';
import { formatCosignerVerifier, type Cosigner } from './cosignature.ts';
import { logKeySource, type WitnessedLog } from './log-keys.ts';
import { witnessStore } from './store.ts';
import { createWitness, type Witness } from './witness.ts';

export interface WitnessOptions {
  /** Ed25519: C2SP cosignature/v1 is Ed25519. */
  signer: Signer;
  logs: readonly WitnessedLog[];
  fetch?: typeof fetch;
}

export function witnessName(region: string): string {
  return `${logOriginHost}/witness/${region}`;
}

export function cosignerFor(signer: Signer, name: string): Cosigner {
  if (signer.alg !== 'EdDSA' || signer.publicKey.length !== 32) throw new Error(`witness ${name}: cosignature/v1 needs an Ed25519 key, not ${signer.alg} (${signer.kid})`);
  return { name, publicKey: signer.publicKey, sign: (message) => signer.sign(message) };
}

export function setUpWitness(options: WitnessOptions & { region: string; db: RegionalQueryable; logger: RegionalLogger; now: () => Date }): { witness: Witness; verifier: string; origins: string[] } {
  const cosigner = cosignerFor(options.signer, witnessName(options.region));
  const witness = createWitness({
    cosigner,
    store: witnessStore(options.db),
    logKeys: logKeySource(options.logs, { logger: options.logger, ...(options.fetch === undefined ? {} : { fetch: options.fetch }) }),
    now: options.now,
  });
  return { witness, verifier: formatCosignerVerifier(cosigner.name, cosigner.publicKey), origins: options.logs.map((log) => log.origin) };
}
