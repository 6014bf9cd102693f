/**
 * The auditor API's answers (DESIGN.md "Regional settlement (contract)") as zod schemas: each
 * regional backend's OpenAPI document (regional/openapi/) is generated from them, and
 * test/regional/openapi.test.ts parses a real backend's answers with them. Strict: every field
 * is built by the backend's own code, so one it adds or drops must show up in the document.
 */
import { z } from 'zod';
import { batchIdPattern } from './settlement-batch-schema.ts';

const timestamp = z.iso.datetime({ offset: true });
const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
const compactJws = z.string().regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
const minorUnits = z.string().regex(/^-?(0|[1-9][0-9]*)$/).meta({ description: 'Minor units of the currency, as an integer string (never a float).' });
const batchId = z.string().regex(batchIdPattern).meta({ description: '`<corridor>.<jurisdiction>.<shard>.<window start ms>`' });

export const regionalHealthSchema = z.strictObject({ status: z.literal('ok'), region: z.string(), jurisdiction: z.string(), database: z.literal('ok') });

export const publishedKeySchema = z.strictObject({
  kid: z.string(),
  alg: z.string().meta({ description: 'Ed25519, ES256 (ECDSA P-256) or ML-DSA-65.' }),
  public_key: base64.meta({ description: 'The raw public key, base64.' }),
  created_at: timestamp,
  rotation_overdue: z.boolean().meta({ description: 'A key still in use older than 90 days.' }),
  region: z.string().meta({ description: 'The backend that signs with it.' }),
  not_before: timestamp,
  not_after: timestamp.nullable().meta({ description: 'Set once retired: it verified what it signed before.' }),
});

export const publishedKeysSchema = z.strictObject({
  keys: z.array(publishedKeySchema).meta({ description: "Every key that ever signed a receipt or leaf of this jurisdiction's log, siblings' and retired ones included." }),
  note_verifiers: z.array(z.string()).meta({ description: 'C2SP note verifiers `<name>+<hex key id>+<base64(type‖public key)>` of every checkpoint key of the jurisdiction.' }),
  witness_verifiers: z.array(z.string()).optional().meta({ description: "This backend's cosigner key, when it witnesses other jurisdictions' logs." }),
});

export const inclusionProofSchema = z.strictObject({ index: z.number().int().min(0), tree_size: z.number().int().min(1), proof: z.array(base64).meta({ description: 'RFC 6962 §2.1.1 audit path, leaf to root.' }) });
export const consistencyProofSchema = z.strictObject({ from: z.number().int().min(1), to: z.number().int().min(1), proof: z.array(base64).meta({ description: 'RFC 6962 §2.1.2 consistency proof.' }) });

export const storedSettlementSchema = z.strictObject({
  batch_id: batchId,
  digest: sha256Hex.meta({ description: 'SHA-256 of the RFC 8785 canonical batch: its identity.' }),
  corridor: z.string(),
  jurisdiction: z.string(),
  legs: z.array(z.strictObject({ uetr: z.uuid(), instructing_agent: z.string(), payer: z.string(), payee: z.string(), currency: z.string(), amount_minor: minorUnits })),
  positions: z.array(z.strictObject({ participant: z.string(), currency: z.string(), net_minor: minorUnits })).meta({ description: 'Net positions; per currency they sum to exactly zero.' }),
  log_index: z.number().int().min(0),
  receipt: compactJws.meta({ description: "The backend's signed settlement receipt (JWS), verifiable with /v1/keys." }),
});

export const settlementReceiptSchema = z.strictObject({
  batch_id: batchId,
  digest: sha256Hex,
  region: z.string(),
  log_index: z.number().int().min(0),
  receipt: compactJws,
}).meta({ description: 'The answer to the edge: 201 on the first commit, 200 with the same receipt on a replay of the same batch.' });

export const evidenceBundleSchema = z.strictObject({
  format: z.literal('meridian-evidence/v1'),
  jurisdiction: z.string(),
  region: z.string(),
  generated_at: timestamp,
  checkpoint: z.string().meta({ description: 'The signed checkpoint (C2SP signed note) the proofs are against.' }),
  tree_size: z.number().int().min(1),
  keys: publishedKeysSchema,
  entries: z.array(z.strictObject({
    index: z.number().int().min(0),
    leaf: base64.meta({ description: "The leaf's exact bytes (a DSSE envelope), base64." }),
    inclusion_proof: z.array(base64),
    batch_id: batchId,
    digest: sha256Hex,
    receipt: compactJws,
  })),
});

export const witnessInfoSchema = z.strictObject({ name: z.string(), verifier: z.string(), logs: z.array(z.string()).meta({ description: 'The log origins this witness cosigns.' }) });
