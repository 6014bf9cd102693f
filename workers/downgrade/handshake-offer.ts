/**
 * The session handshake's offer, checked against the request it arrived in (pure).
 *
 * The offer is what the partner's stack supports, in preference order, and the whole body is covered
 * by the partner's message signature (via Content-Digest), so a network attacker cannot edit it.
 * What can still go wrong is a downgrade *above* the network — a proxy, a compromised or
 * misconfigured client library — that strips PQ options or reorders preferences and then signs
 * what it sent. We catch that by checking the offer against what we can see for ourselves:
 *
 *   stripped   the selected suite's KEM or AEAD is missing from the offer, or an algorithm that
 *              signs this very request (sig1 ed25519; sig2 ml-dsa-65 for a hybrid partner) is
 *              missing from `offer.sigs`;
 *   reordered  the selected KEM/AEAD is not the first entry of the offer that the gateway supports,
 *              or the request's signature algorithms appear in `offer.sigs` in another order than
 *              their labels (sig1 before sig2).
 */
import { sessionSuite } from '../../core/pq-session.ts';

export interface SessionOffer {
  kems: string[];
  aeads: string[];
  sigs: string[];
  tls: string;
}

export const gatewayKems: readonly string[] = [sessionSuite.kem];
export const gatewayAeads: readonly string[] = [sessionSuite.aead];

export type OfferDowngrade = { kind: 'offer-stripped' | 'offer-reordered'; detail: string };

export function offerDowngrade(offer: SessionOffer, suite: { kem: string; aead: string }, signatureAlgorithms: string[]): OfferDowngrade | null {
  for (const [list, selected, supported, name] of [
    [offer.kems, suite.kem, gatewayKems, 'kems'],
    [offer.aeads, suite.aead, gatewayAeads, 'aeads'],
  ] as const) {
    if (!list.includes(selected)) return { kind: 'offer-stripped', detail: `offer.${name} does not contain the selected ${selected}` };
    const preferred = list.find((entry) => supported.includes(entry));
    if (preferred !== selected) return { kind: 'offer-reordered', detail: `offer.${name} prefers ${String(preferred)} over the selected ${selected}` };
  }
  let previous = -1;
  for (const algorithm of signatureAlgorithms) {
    const position = offer.sigs.indexOf(algorithm);
    if (position === -1) return { kind: 'offer-stripped', detail: `offer.sigs lacks ${algorithm}, which signs this request` };
    if (position < previous) return { kind: 'offer-reordered', detail: `offer.sigs lists the request's signature algorithms out of order (${signatureAlgorithms.join(', ')})` };
    previous = position;
  }
  return null;
}
