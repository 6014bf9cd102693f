/**
 * The transparency-log leaf for a committed batch, and its RFC 6962 leaf hash
 * SHA-256(0x00 ‖ leaf bytes). Each jurisdiction's log gets one leaf per batch, indexes dense from 0.
 *
 * TODO(transparency-log issue): the leaf becomes the batch's DSSE envelope around an in-toto
 * statement (subject = the batch digest); the hash rule stays, only the leaf bytes change.
 */
import { canonicalJson } from '../../core/canonical-json.ts';
import { sha256Hex, utf8 } from '../../core/digest.ts';

/** RFC 6962 §2.1 domain separation: 0x00 prefixes leaves, 0x01 interior nodes. */
const leafHashPrefix = 0x00;

export interface LogLeafInput {
  batch_id: string;
  digest: string;
  jurisdiction: string;
  committed_at: string;
}

export interface LogLeaf {
  /** The exact leaf bytes, as UTF-8 text. */
  leaf: string;
  /** Lowercase hex SHA-256(0x00 ‖ leaf bytes). */
  leafHash: string;
}

export function settlementLogLeaf(input: LogLeafInput): LogLeaf {
  const leaf = canonicalJson({ batch_id: input.batch_id, digest: input.digest, jurisdiction: input.jurisdiction, committed_at: input.committed_at });
  return { leaf, leafHash: rfc6962LeafHash(utf8(leaf)) };
}

export function rfc6962LeafHash(leafBytes: Uint8Array): string {
  const prefixed = new Uint8Array(leafBytes.length + 1);
  prefixed[0] = leafHashPrefix;
  prefixed.set(leafBytes, 1);
  return sha256Hex(prefixed);
}
