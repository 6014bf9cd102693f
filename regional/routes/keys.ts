/**
 * GET /v1/keys: the keys that verify this backend's settlement receipts and log leaves (DSSE
 * keyid = kid), for auditors, and under `note_verifiers` the C2SP verifier keys of the checkpoints
 * this backend signs. Today that is the one active signer; retired keys join the list when
 * rotation lands, so old receipts stay verifiable.
 */
import { Hono } from 'hono';
import { base64Encode } from '../../core/digest.ts';
import { methodNotAllowed } from '../http/problems.ts';
import { isRotationOverdue, type Signer } from '../signer/signer.ts';

export interface KeysRoutesConfig {
  signers: readonly Signer[];
  /** `<name>+<hex key id>+<base64(0x01 ‖ Ed25519 public key)>` per checkpoint-signing key. */
  noteVerifiers?: readonly string[];
  now: () => Date;
}

export function keysRoutes(config: KeysRoutesConfig): Hono {
  const routes = new Hono();
  routes.get('/v1/keys', (c) => {
    const now = config.now();
    const keys = config.signers.map((signer) => ({
      kid: signer.kid,
      alg: signer.alg,
      public_key: base64Encode(signer.publicKey),
      created_at: signer.createdAt.toISOString(),
      rotation_overdue: isRotationOverdue(signer.createdAt, now),
    }));
    return c.json({ keys, note_verifiers: [...(config.noteVerifiers ?? [])] });
  });
  routes.all('/v1/keys', methodNotAllowed(['GET', 'HEAD']));
  return routes;
}
