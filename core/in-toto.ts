/**
 * The in-toto Statement v1 (github.com/in-toto/attestation, spec/v1/statement.md) that each log
 * leaf carries, DSSE-enveloped with payloadType `application/vnd.in-toto+json`:
 *
 *   {"_type": "https://in-toto.io/Statement/v1",
 *    "subject": [{"name": <batch_id>, "digest": {"sha256": <batch digest, lowercase hex>}}],
 *    "predicateType": "https://meridian.example/attestation/settlement-batch/v1",
 *    "predicate": {"corridor", "jurisdiction", "region", "leg_count", "committed_at", "receipt_kid"}}
 *
 * The subject digest is the batch's identity (SHA-256 of its canonical JSON), so an auditor holding
 * a batch (GET /v1/settlements/{batch_id}, or the edge's copy) can tie it to exactly one leaf.
 * The payload bytes are RFC 8785 canonical JSON: the same statement always has the same bytes.
 */
import { z } from 'zod';
import { canonicalJson } from './canonical-json.ts';
import { err, ok, type Result } from './result.ts';
import { formatIssues } from './zod-issues.ts';

export const inTotoStatementType = 'https://in-toto.io/Statement/v1';
export const inTotoPayloadType = 'application/vnd.in-toto+json';
export const settlementBatchPredicateType = 'https://meridian.example/attestation/settlement-batch/v1';

export interface SettlementBatchPredicate {
  corridor: string;
  jurisdiction: string;
  /** The regional backend that committed the batch (e.g. eu-1). */
  region: string;
  leg_count: number;
  committed_at: string;
  /** The key id that signed the batch's settlement receipt (GET /v1/keys). */
  receipt_kid: string;
}

export interface SettlementBatchStatement {
  _type: typeof inTotoStatementType;
  subject: [{ name: string; digest: { sha256: string } }];
  predicateType: typeof settlementBatchPredicateType;
  predicate: SettlementBatchPredicate;
}

export interface SettlementBatchStatementInput extends SettlementBatchPredicate {
  batch_id: string;
  /** Lowercase hex SHA-256 of the batch's canonical JSON. */
  digest: string;
}

const statementSchema = z.strictObject({
  _type: z.literal(inTotoStatementType),
  subject: z.tuple([z.strictObject({ name: z.string().min(1).max(128), digest: z.strictObject({ sha256: z.string().regex(/^[0-9a-f]{64}$/) }) })]),
  predicateType: z.literal(settlementBatchPredicateType),
  predicate: z.strictObject({
    corridor: z.string().regex(/^[A-Z]{3}-[A-Z]{3}$/),
    jurisdiction: z.string().min(1).max(16),
    region: z.string().min(1).max(64),
    leg_count: z.number().int().positive(),
    committed_at: z.iso.datetime({ offset: true }),
    receipt_kid: z.string().min(1).max(256),
  }),
});

export function settlementBatchStatement(input: SettlementBatchStatementInput): SettlementBatchStatement {
  const { batch_id, digest, ...predicate } = input;
  const statement: SettlementBatchStatement = {
    _type: inTotoStatementType,
    subject: [{ name: batch_id, digest: { sha256: digest } }],
    predicateType: settlementBatchPredicateType,
    predicate: {
      corridor: predicate.corridor,
      jurisdiction: predicate.jurisdiction,
      region: predicate.region,
      leg_count: predicate.leg_count,
      committed_at: predicate.committed_at,
      receipt_kid: predicate.receipt_kid,
    },
  };
  // Programmer error, not input: the commit path only builds statements from verified batches.
  const checked = statementSchema.safeParse(statement);
  if (!checked.success) throw new Error(`settlementBatchStatement: batch ${batch_id}: ${formatIssues(checked.error.issues).join('; ')}`);
  return statement;
}

/** The canonical JSON text that becomes the DSSE payload. */
export function serializeStatement(statement: SettlementBatchStatement): string {
  return canonicalJson(statement);
}

export type StatementFailure = { kind: 'malformed-statement'; detail: string };

/** Parses and checks a DSSE payload as a Meridian settlement-batch statement (auditor side). */
export function parseSettlementBatchStatement(payload: Uint8Array): Result<SettlementBatchStatement, StatementFailure> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(payload));
  } catch {
    return err({ kind: 'malformed-statement', detail: 'payload is not UTF-8 JSON' });
  }
  const parsed = statementSchema.safeParse(json);
  if (!parsed.success) return err({ kind: 'malformed-statement', detail: formatIssues(parsed.error.issues).join('; ') });
  return ok(parsed.data as SettlementBatchStatement);
}
