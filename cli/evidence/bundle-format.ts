/**
 * The evidence bundle (DESIGN, "Evidence, observability, failover"): one JSON document
 *
 *   {"format": "meridian-evidence-bundle/v1",
 *    "envelope": <DSSE envelope, payloadType application/vnd.meridian.evidence-manifest+json>,
 *    "items": [{"id", "kind", "body"}, …]}
 *
 * The envelope's payload is the manifest, canonical JSON (RFC 8785):
 *   {"format", "generated_at", "period": {"from", "to"}, "signing_key": {"kid", "alg", "public_key"},
 *    "sections": [{"name", "status": "included" | "not served by this gateway" | "unreachable" | "not requested", "detail"?}],
 *    "items": [{"id", "kind", "sha256"}]}
 * where sha256 = hex SHA-256 of the canonical JSON of the item's body. Metadata and the control
 * map are items like any other, so every byte that means anything is either inside the signed
 * manifest or hashed by it: an item changed, added, dropped or renamed, a manifest byte or an
 * envelope byte flipped — each fails verification and is named (./verify.ts).
 *
 * The bundle's own key signs only bundles. Locally it is dev/evidence-signing.json (committed, dev
 * only); in production the exporter signs through KMS (EVIDENCE_KMS_KEY_ID, the regional Signer
 * interface), and auditors pin its public key with `--keys`.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../core/canonical-json.ts';
import type { DsseEnvelope } from '../../core/dsse.ts';

export const bundleFormat = 'meridian-evidence-bundle/v1';
export const manifestPayloadType = 'application/vnd.meridian.evidence-manifest+json';

export const itemKinds = [
  'metadata',
  'control-map',
  'backend-keys',
  'gateway-keys',
  'partner-keys',
  'checkpoint',
  'consistency',
  'batch',
  'instruction',
  'security-events',
  'ops-audit',
  'policy-decisions',
  'screening-results',
  'sbom',
] as const;
export type ItemKind = (typeof itemKinds)[number];

export type SectionStatus = 'included' | 'not served by this gateway' | 'unreachable' | 'not requested';

export interface BundleSection {
  name: string;
  status: SectionStatus;
  detail?: string;
}

export interface BundleItem {
  id: string;
  kind: ItemKind;
  body: unknown;
}

export interface ManifestEntry {
  id: string;
  kind: ItemKind;
  sha256: string;
}

export interface BundleManifest {
  format: typeof bundleFormat;
  generated_at: string;
  period: { from: string; to: string };
  signing_key: { kid: string; alg: string; public_key: string };
  sections: BundleSection[];
  items: ManifestEntry[];
}

export interface EvidenceBundle {
  format: typeof bundleFormat;
  envelope: DsseEnvelope;
  items: BundleItem[];
}

/**
 * Hex SHA-256 of the item's canonical JSON. node:crypto, not core/digest.ts's portable noble hash:
 * an hour's bundle hashes ~200 MB of items twice (export, verify), and on this machine noble's
 * pure-JS SHA-256 took 4.5 s of the 6 s that 15,000 items cost (OpenSSL: 0.2 s). The CLI runs on
 * Node only; the digest is the same SHA-256 either way.
 */
export function itemDigest(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body), 'utf8').digest('hex');
}

export function manifestEntry(item: BundleItem): ManifestEntry {
  return { id: item.id, kind: item.kind, sha256: itemDigest(item.body) };
}

// --- item bodies, as the exporter writes them and the verifier reads them -------------------

export interface CheckpointItem {
  region: string;
  jurisdiction: string;
  /** The signed note: the log's signature and its witnesses' cosignatures. */
  note: string;
}

export interface ConsistencyItem {
  jurisdiction: string;
  from: number;
  to: number;
  proof: string[];
}

export interface BatchItem {
  jurisdiction: string;
  region: string;
  log_index: number;
  /** Base64 of the exact leaf bytes (the DSSE envelope of the batch's in-toto statement). */
  leaf: string;
  inclusion: { tree_size: number; proof: string[] };
  /** GET /v1/settlements/{batch_id} as served. */
  settlement: {
    batch_id: string;
    digest: string;
    corridor: string;
    jurisdiction: string;
    legs: Array<{ uetr: string; payer: string; payee: string; currency: string; amount_minor: string }>;
    positions: Array<{ participant: string; currency: string; net_minor: string }>;
    log_index: number;
    receipt: string;
  };
}

export interface InstructionItem {
  partner_id: string;
  uetr: string;
  /** The partner's JWS exactly as submitted (compact, or JSON serialization for hybrid partners). */
  jws: string;
  instruction_sha256: string;
  status: string;
  batch_id: string | null;
  /** The gateway's acceptance receipt (compact JWS), if the answer kept it. */
  receipt: string | null;
}

export interface PartnerKeysItem {
  partners: Array<{ partner_id: string; bic: string; keys: Array<{ keyid: string; alg: string; public_jwk?: { x: string }; public_key?: string }> }>;
}
