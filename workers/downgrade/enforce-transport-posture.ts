/**
 * enforceTransportPosture(): the first downgrade case of DESIGN.md — a partner connecting below its
 * TLS minimum without a live exception — answered 403 downgrade-detected and recorded.
 *
 * It runs right after verifyMessageSignature(), not before it as DESIGN's pipeline sketch lists
 * "transport posture" first: the partner (its minimum, its exceptions) is only known once the
 * signature proved who is asking, and only then may the refusal be written into that partner's
 * evidence. An unsigned request on TLS 1.0 still gets nothing but a 401.
 */
import { createMiddleware } from 'hono/factory';
import type { Env } from '../env.ts';
import type { SignedRequestVariables } from '../message-signature/verify-message-signature.ts';
import { refuseWithSecurityEvent } from './security-events.ts';
import { observeTls, tlsDowngrade, type TlsObservation } from './tls-posture.ts';

export interface TransportVariables extends SignedRequestVariables {
  tls: TlsObservation;
}

export function enforceTransportPosture(options: { nowMs?: () => number } = {}) {
  const nowMs = options.nowMs ?? Date.now;
  return createMiddleware<{ Bindings: Env; Variables: TransportVariables }>(async (c, next) => {
    // MERIDIAN_POSTURE until workers/env.ts declares it (it replaces TRANSPORT_POSTURE).
    const observation = observeTls(c.req.raw, (c.env as Env & { MERIDIAN_POSTURE?: string }).MERIDIAN_POSTURE);
    const downgrade = tlsDowngrade(c.var.partner, observation, nowMs());
    if (downgrade !== null) {
      await refuseWithSecurityEvent(c, 'tls-below-minimum', 'downgrade-detected', downgrade, { observed_tls: observation.kind === 'observed' ? observation.raw : null });
    }
    c.set('tls', observation);
    await next();
  });
}
