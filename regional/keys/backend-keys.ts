/**
 * The keys one backend signs with — its receipt/leaf signer and, if it can sign checkpoints, its
 * Ed25519 note key — and their registration in the jurisdiction's registry (./key-registry.ts).
 *
 * Invariant: a key is in the registry before its first signature, so GET /v1/keys of every
 * backend of the jurisdiction can verify everything it signs. The process registers at start
 * (regional/server.ts: registerBackendKeys, which also retires the region's superseded keys); the
 * app re-checks once before its first commit, checkpoint or key listing (createKeyRegistration),
 * which covers apps built without the process (tests, the workers fixture). Either way the check
 * runs before, never inside, the commit transaction: on PGlite another connection's query would
 * wait for that transaction, which would be waiting for the signature.
 */
import { ProblemError } from '../../core/problem.ts';
import { ok, type Result } from '../../core/result.ts';
import type { RegionalOrm } from '../db/client.ts';
import type { RegionalLogger } from '../logger.ts';
import type { Signer } from '../signer/signer.ts';
import { keyRegistry, type KeyRegistrationFailure, type KeyToRegister, type RegisteredKey } from './key-registry.ts';

export interface BackendKeys {
  region: string;
  jurisdiction: string;
  /** Signs receipts and log leaves. */
  signer: Signer;
  /** Signs checkpoints (Ed25519); undefined when the backend has no such key. */
  noteSigner: Signer | undefined;
}

export function keysToRegister(keys: BackendKeys): KeyToRegister[] {
  return [{ purpose: 'receipt', signer: keys.signer }, ...(keys.noteSigner === undefined ? [] : [{ purpose: 'checkpoint' as const, signer: keys.noteSigner }])];
}

/**
 * At process start: register this backend's keys and (by default) retire the keys its region
 * used before.
 */
export async function registerBackendKeys(
  db: RegionalOrm,
  keys: BackendKeys,
  now: Date,
  options: { retireSuperseded: boolean } = { retireSuperseded: true },
): Promise<Result<{ retired: RegisteredKey[] }, KeyRegistrationFailure>> {
  return keyRegistry(db, keys.jurisdiction).register(keysToRegister(keys), { region: keys.region, now, retireSuperseded: options.retireSuperseded });
}

export interface KeyRegistration {
  /** Resolves once this backend's keys are registered and in use; throws a 503 problem otherwise. */
  require(): Promise<void>;
}

/**
 * Registers once per app (no retiring: that is the process's decision at start), unless the
 * caller already did (`registeredAtStart`: registerBackendKeys succeeded). A failure value
 * (retired or mismatched key) is final for this app; a thrown error (database down) is retried
 * on the next call.
 */
export function createKeyRegistration(
  db: RegionalOrm,
  keys: BackendKeys,
  options: { now: () => Date; logger: RegionalLogger; registeredAtStart: boolean; onRegistered: () => void },
): KeyRegistration {
  const { now, logger, onRegistered } = options;
  let registered: Promise<Result<{ retired: RegisteredKey[] }, KeyRegistrationFailure>> | undefined = options.registeredAtStart ? Promise.resolve(ok({ retired: [] })) : undefined;
  return {
    async require() {
      if (registered === undefined) {
        const attempt = keyRegistry(db, keys.jurisdiction).register(keysToRegister(keys), { region: keys.region, now: now(), retireSuperseded: false });
        registered = attempt;
        attempt.then(
          (result) => {
            if (result.ok) onRegistered();
            else logger.error('signing key cannot be used', { kid: result.reason.kid, purpose: result.reason.purpose, reason: result.reason.kind, detail: result.reason.detail });
          },
          () => {
            if (registered === attempt) registered = undefined;
          },
        );
      }
      const result = await registered;
      if (!result.ok) throw registrationProblem(result.reason);
    },
  };
}

export function registrationProblem(reason: KeyRegistrationFailure): ProblemError {
  switch (reason.kind) {
    case 'key-retired':
    case 'key-mismatch':
      return new ProblemError('misconfigured', `this backend cannot sign: ${reason.detail}`, { reason: reason.kind });
  }
}
