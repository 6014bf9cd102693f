/**
 * Transport posture, pure: which TLS version the edge observed and whether a partner may use it.
 *
 * The observation is Cloudflare's `request.cf.tlsVersion` ("TLSv1.3", "TLSv1.2", …; empty for a
 * plaintext connection). Rule (DESIGN.md "Downgrade detection", issue 3): TLS 1.3 passes; TLS 1.2
 * passes only under a live exception in the partner's profile (owner, reason, unexpired
 * `expires_at`) — whatever the profile's `tls_min` says; anything lower never passes.
 *
 * Local runs have no Cloudflare in front: under `wrangler dev` `cf` is a placeholder copied from a
 * canned object (its tlsVersion describes nothing), and in the workerd tests `cf` is absent unless
 * a test passes one. Only when the deployment says so (MERIDIAN_POSTURE=local-dev, set by
 * dev/fixtures.ts) is such a request "unobserved" and the TLS checks skipped; in production no
 * observation means no TLS, and the request is refused.
 */
import { isLocalDev } from '../../core/gateway-key.ts';
import type { PartnerProfile, TlsException } from '../config/partners.ts';

export const tlsVersions = ['none', 'TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
export type TlsVersion = (typeof tlsVersions)[number];

export type TlsObservation = { kind: 'observed'; version: TlsVersion | 'unrecognized'; raw: string } | { kind: 'unobserved'; reason: string };

export const tlsFloorWithException: TlsVersion = 'TLSv1.2';
export const tlsMinimum: TlsVersion = 'TLSv1.3';

export function observeTls(request: Request, meridianPosture: string | undefined): TlsObservation {
  const raw = (request as { cf?: { tlsVersion?: unknown } }).cf?.tlsVersion;
  if (isLocalDev(meridianPosture)) {
    if (new URL(request.url).protocol === 'http:') return { kind: 'unobserved', reason: 'local-dev: plain http behind no Cloudflare edge' };
    if (typeof raw !== 'string' || raw === '') return { kind: 'unobserved', reason: 'local-dev: no cf.tlsVersion' };
  }
  const text = typeof raw === 'string' ? raw : '';
  if (text === '') return { kind: 'observed', version: 'none', raw: text };
  return { kind: 'observed', version: (tlsVersions as readonly string[]).includes(text) ? (text as TlsVersion) : 'unrecognized', raw: text };
}

export function tlsRank(version: TlsVersion | 'unrecognized'): number {
  // An unrecognized version string ranks lowest: fail closed, and the event's detail names it.
  return version === 'unrecognized' ? -1 : tlsVersions.indexOf(version);
}

export function liveTlsException(partner: PartnerProfile, nowMs: number): TlsException | undefined {
  return partner.tls_exceptions?.find((exception) => Date.parse(exception.expires_at) > nowMs && exception.owner.trim() !== '' && exception.reason.trim() !== '');
}

/** Why this observation is a downgrade for this partner, or null when it passes. */
export function tlsDowngrade(partner: PartnerProfile, observation: TlsObservation, nowMs: number): string | null {
  if (observation.kind === 'unobserved') return null;
  const rank = tlsRank(observation.version);
  if (rank >= tlsRank(tlsMinimum)) return null;
  const seen = observation.version === 'none' ? 'no TLS' : observation.version === 'unrecognized' ? `unrecognized TLS version ${JSON.stringify(observation.raw.slice(0, 32))}` : observation.version;
  if (rank < tlsRank(tlsFloorWithException)) return `${seen} is below ${tlsFloorWithException}, the floor no exception lowers`;
  if (liveTlsException(partner, nowMs) !== undefined) return null;
  const expired = (partner.tls_exceptions ?? []).length > 0 ? ' (its TLS exceptions have expired)' : '';
  return `${seen} is below ${tlsMinimum} and partner ${partner.partner_id} has no live TLS exception${expired}`;
}

/** Maps a client-reported version ("TLSv1.3", "TLSv1.2", … or "none") to the edge's vocabulary. */
export function reportedTls(value: string): TlsVersion | undefined {
  return (tlsVersions as readonly string[]).includes(value) ? (value as TlsVersion) : undefined;
}
