/**
 * Where a jurisdiction's Durable Objects live (DESIGN.md "Policies, residency and limits": objects
 * that hold a jurisdiction's payments are created in that jurisdiction). Every place that derives
 * the id of a PartnerState (one per partner: the partner's jurisdiction) or a CorridorWindow shard
 * (its corridor's jurisdiction) goes through `durableObjectFor`, because the jurisdiction is part
 * of the id: `X.idFromName(n)` and `X.jurisdiction('eu').idFromName(n)` are two different objects
 * with two different storages. One call site deriving it the other way would split a partner's
 * nonces, idempotency records or residency exceptions across two objects (a replay or a double
 * admission), so there is exactly one derivation, here.
 *
 * The mapping, Meridian jurisdiction → Cloudflare (Cloudflare docs, "Data location", and the
 * workers-types `DurableObjectJurisdiction` union "eu" | "fedramp" | "fedramp-high" | "us"):
 *   eu → jurisdiction 'eu'   the object runs and stores data only inside the EU
 *   us → jurisdiction 'us'   inside the United States (Cloudflare added `us` in June 2026;
 *                            'fedramp' would be narrower than a US bank partner needs)
 *   ap → none                Cloudflare has no APAC jurisdiction: the object is unrestricted and
 *                            created with locationHint 'apac', which places it in APAC when first
 *                            created but guarantees nothing. ap residency therefore rests on the
 *                            regional backends (ap-1 commits, and re-checks every leg), not on
 *                            Durable Object placement; documented here and in the README.
 *
 * Control (corridor states, exceptions, the ops changes) holds no payment data and stays
 * unrestricted. workerd (wrangler dev, the vitest pool) does not implement jurisdictions: under
 * `MERIDIAN_POSTURE=local-dev` the plain namespace is used (see `durableObjectNamespaceFor`);
 * test/workers/ops-durable-object-jurisdiction.test.ts shows that production asks for them.
 */
import type { PolicyJurisdiction } from '../core/policy-request.ts';

/** A Cloudflare jurisdiction, or none and a location hint (a hint only where there is no jurisdiction to honour). */
type Placement = { jurisdiction: DurableObjectJurisdiction; locationHint?: undefined } | { jurisdiction: null; locationHint: DurableObjectLocationHint };

export const durableObjectPlacements: Readonly<Record<PolicyJurisdiction, Placement>> = {
  eu: { jurisdiction: 'eu' },
  us: { jurisdiction: 'us' },
  ap: { jurisdiction: null, locationHint: 'apac' },
};

function placementOf(jurisdiction: string): Placement {
  // Programmer or configuration error: partner profiles and corridors are validated to these three.
  if (!Object.hasOwn(durableObjectPlacements, jurisdiction)) throw new Error(`no Durable Object placement for jurisdiction ${jurisdiction}`);
  return durableObjectPlacements[jurisdiction as PolicyJurisdiction];
}

/** Only `local-dev` (wrangler dev, the tests) may run without Cloudflare jurisdictions. */
export type PlacementPosture = { MERIDIAN_POSTURE?: string };

/**
 * The namespace whose ids stay inside `jurisdiction` where Cloudflare offers that; the plain one
 * where it does not. Under `MERIDIAN_POSTURE=local-dev` always the plain one: workerd does not
 * implement jurisdictions ("Jurisdiction restrictions are not implemented in workerd" on first use),
 * and locally every object lives on this machine anyway. Production (posture unset) always asks
 * Cloudflare, so a missing jurisdiction fails loudly there instead of silently placing data anywhere.
 */
export function durableObjectNamespaceFor<T extends Rpc.DurableObjectBranded | undefined>(
  posture: PlacementPosture, namespace: DurableObjectNamespace<T>, jurisdiction: string,
): DurableObjectNamespace<T> {
  const placement = placementOf(jurisdiction);
  return placement.jurisdiction === null || posture.MERIDIAN_POSTURE === 'local-dev' ? namespace : namespace.jurisdiction(placement.jurisdiction);
}

/** The stub of the object `name` of a jurisdiction: the one derivation every call site uses. */
export function durableObjectFor<T extends Rpc.DurableObjectBranded | undefined>(
  posture: PlacementPosture, namespace: DurableObjectNamespace<T>, jurisdiction: string, name: string,
): DurableObjectStub<T> {
  const placement = placementOf(jurisdiction);
  const scoped = durableObjectNamespaceFor(posture, namespace, jurisdiction);
  return placement.jurisdiction === null ? scoped.get(scoped.idFromName(name), { locationHint: placement.locationHint }) : scoped.get(scoped.idFromName(name));
}
