/**
 * The offline auditor: verifies a jurisdiction's transparency log using nothing but what the
 * regional backends publish (DESIGN, "Regional settlement": the auditor API) and the checks in
 * core/ — no database access, no shared secret, no trust in the backend beyond its /v1/keys.
 *
 *   meridian audit [--since <checkpoint file>] [--save <checkpoint file>] [--json] <backend url> [<backend url>…]
 *   (or node cli/audit.ts …, the same command)
 *
 * Per backend: GET /v1/keys; GET /v1/log/checkpoint, whose signature must verify under one of the
 * backend's note_verifiers; every leaf 0..size−1, each a DSSE envelope whose signature must verify
 * under a key published at /v1/keys (of this backend or of another given backend of the same
 * log: eu-1 and eu-2 sign leaves with their own keys) and whose payload must be a settlement-batch
 * in-toto statement of this log's jurisdiction, no batch twice; an inclusion proof per leaf
 * against the checkpoint; and the root recomputed from all leaf hashes.
 * Across backends of one log (same origin): every pair of checkpoints must be consistent (equal
 * size ⇒ equal root, else a consistency proof from the backend with the larger tree).
 * `--since`: a checkpoint saved earlier (the raw signed note, e.g. from `--save` or curl) must be
 * consistent with today's; `--save`: writes the largest current checkpoint for the next run.
 *
 * Prints a readable report (or with --json the report as JSON); exits 0 when everything verifies,
 * 1 on any failure, 2 on bad usage.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { base64Decode, base64Encode } from '../core/digest.ts';
import { dsseVerifierForKey, parseEnvelope, verifyEnvelope, type DsseVerifier } from '../core/dsse.ts';
import { inTotoPayloadType, parseSettlementBatchStatement } from '../core/in-toto.ts';
import { emptyTreeRoot, merkleLeafHash, treeRootFromLeafHashes, verifyConsistency, verifyInclusion } from '../core/merkle.ts';
import { openNote, parseCheckpoint, parseNoteVerifier, type Checkpoint, type NoteVerifierKey } from '../core/signed-note.ts';
import { retryAfterMs } from '../packages/partner-sdk/src/retry-policy.ts';
import { defineCommand, exitFailed, exitOk, jsonOption, processIo, runCommand } from './command.ts';

/** Bounds on what a backend can make the auditor do or hold. */
export const requestTimeoutMs = 15_000;
export const responseBytesMax = 1 << 20;
export const leafFetchConcurrency = 8;
/**
 * A backend sheds auditor load with 503 + Retry-After (regional/http/limit-auditor-reads.ts);
 * the auditor honours it, up to this many attempts per request and this long a wait each.
 */
export const busyAttemptsMax = 4;
export const busyRetryAfterMsMax = 5_000;
/** Failure details listed per check; the rest are counted. */
export const detailsListedMax = 10;

export interface PublishedKey {
  kid: string;
  alg: string;
  publicKey: Uint8Array;
  rotationOverdue: boolean;
}

export interface AuditCheck {
  ok: boolean;
  /** One line, e.g. "inclusion proofs: 12 of 12 verify against the checkpoint". */
  summary: string;
  /** Failure details (at most detailsListedMax, then a count) and warnings. */
  details: string[];
}

export interface AuditedCheckpoint extends Checkpoint {
  note: string;
  /** `<key name>+<key id>` of each verified signature. */
  signedBy: string[];
}

export interface BackendAudit {
  url: string;
  ok: boolean;
  checks: AuditCheck[];
  keys: PublishedKey[];
  noteVerifiers: NoteVerifierKey[];
  checkpoint?: AuditedCheckpoint;
}

export interface AuditBackendOptions {
  /** Leaf-signing keys of the other backends of the same log (they sign leaves too). */
  siblingKeys?: readonly PublishedKey[];
}

export interface LogAudit {
  origin: string;
  ok: boolean;
  checks: AuditCheck[];
}

export interface AuditReport {
  ok: boolean;
  backends: BackendAudit[];
  logs: LogAudit[];
}

export interface AuditOptions {
  /** A checkpoint note saved earlier: today's log must extend it. */
  since?: string;
}

class AuditFailure extends Error {}

function listed(failures: readonly string[]): string[] {
  return failures.length <= detailsListedMax ? [...failures] : [...failures.slice(0, detailsListedMax), `… and ${failures.length - detailsListedMax} more`];
}

function check(summary: string, failures: readonly string[], warnings: readonly string[] = []): AuditCheck {
  return { ok: failures.length === 0, summary, details: [...listed(failures), ...warnings.map((warning) => `warning: ${warning}`)] };
}

function endpoint(baseUrl: string, path: string): string {
  return new URL(path, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).toString();
}

async function fetchBytes(baseUrl: string, path: string): Promise<Uint8Array> {
  const url = endpoint(baseUrl, path);
  for (let attempt = 1; ; attempt++) {
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(requestTimeoutMs), redirect: 'error' });
    } catch (error) {
      throw new AuditFailure(`GET ${url}: ${(error as Error).message}`);
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.length > responseBytesMax) throw new AuditFailure(`GET ${url}: answer larger than ${responseBytesMax} bytes`);
    const retryAfterMs = busyRetryAfterMs(response);
    if (retryAfterMs !== undefined && attempt < busyAttemptsMax) {
      await new Promise((resolve) => setTimeout(resolve, retryAfterMs));
      continue;
    }
    if (response.status !== 200) throw new AuditFailure(`GET ${url}: HTTP ${response.status} ${new TextDecoder().decode(bytes.slice(0, 300))}`);
    return bytes;
  }
}

/** The wait a 503 with a Retry-After (seconds or an HTTP-date, read as the partner SDK reads it) asks for, capped; undefined for anything else. */
function busyRetryAfterMs(response: Response): number | undefined {
  if (response.status !== 503) return undefined;
  const asked = retryAfterMs(response.headers.get('retry-after'));
  return asked === undefined ? undefined : Math.min(asked, busyRetryAfterMsMax);
}

function utf8Text(bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new AuditFailure(`${what} is not UTF-8`);
  }
}

async function fetchJson(baseUrl: string, path: string): Promise<unknown> {
  const text = utf8Text(await fetchBytes(baseUrl, path), `GET ${path}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new AuditFailure(`GET ${path}: not JSON`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function shortRoot(rootHash: Uint8Array): string {
  return `${base64Encode(rootHash).slice(0, 12)}…`;
}

/** GET /v1/keys: leaf/receipt keys and checkpoint verifier keys, each validated. */
async function readKeys(baseUrl: string): Promise<{ keys: PublishedKey[]; noteVerifiers: NoteVerifierKey[]; check: AuditCheck }> {
  const body = await fetchJson(baseUrl, 'v1/keys');
  if (!isRecord(body) || !Array.isArray(body.keys) || !Array.isArray(body.note_verifiers)) throw new AuditFailure('GET /v1/keys: expected {"keys": [...], "note_verifiers": [...]}');
  const failures: string[] = [];
  const warnings: string[] = [];
  const keys: PublishedKey[] = [];
  for (const key of body.keys) {
    if (!isRecord(key) || typeof key.kid !== 'string' || typeof key.alg !== 'string' || typeof key.public_key !== 'string') {
      failures.push(`malformed key entry ${JSON.stringify(key).slice(0, 120)}`);
      continue;
    }
    try {
      keys.push({ kid: key.kid, alg: key.alg, publicKey: base64Decode(key.public_key), rotationOverdue: key.rotation_overdue === true });
    } catch {
      failures.push(`key ${key.kid}: public_key is not base64`);
      continue;
    }
    if (key.rotation_overdue === true) warnings.push(`key ${key.kid} is overdue for rotation (created ${String(key.created_at)})`);
  }
  const noteVerifiers: NoteVerifierKey[] = [];
  for (const text of body.note_verifiers) {
    const parsed = typeof text === 'string' ? parseNoteVerifier(text) : undefined;
    if (parsed?.ok) noteVerifiers.push(parsed.value);
    else failures.push(parsed === undefined ? 'a note verifier is not a string' : parsed.reason.detail);
  }
  if (noteVerifiers.length === 0) failures.push('no note verifier: checkpoints cannot be verified');
  const algs = [...new Set(keys.map((key) => key.alg))].join(', ');
  return { keys, noteVerifiers, check: check(`keys: ${keys.length} signing key${keys.length === 1 ? '' : 's'} (${algs || 'none'}), ${noteVerifiers.length} note verifier${noteVerifiers.length === 1 ? '' : 's'}`, failures, warnings) };
}

/** Opens a checkpoint note under the given verifier keys and parses it. */
export function openCheckpoint(note: string, verifiers: readonly NoteVerifierKey[]): AuditedCheckpoint {
  const opened = openNote(note, verifiers);
  if (!opened.ok) throw new AuditFailure(`checkpoint signature: ${opened.reason.detail}`);
  const parsed = parseCheckpoint(opened.value.text);
  if (!parsed.ok) throw new AuditFailure(`checkpoint: ${parsed.reason.detail}`);
  return { ...parsed.value, note, signedBy: opened.value.verified.map((signature) => `${signature.name}+${signature.keyIdHex}`) };
}

/** The jurisdiction a log origin names (`…/log/<jurisdiction>`), if it follows Meridian's form. */
function originJurisdiction(origin: string): string | undefined {
  return /\/log\/([^/]+)$/.exec(origin)?.[1];
}

async function inPool<T>(count: number, work: (index: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      results[index] = await work(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(leafFetchConcurrency, count) }, worker));
  return results;
}

interface LeafVerdict {
  leafHash?: Uint8Array;
  signatureFailure?: string;
  statementFailure?: string;
  digest?: string;
  inclusionFailure?: string;
}

/** One leaf: fetch, DSSE signature under a published key, statement shape, inclusion proof. */
async function auditLeaf(baseUrl: string, index: number, checkpoint: AuditedCheckpoint, verifiers: readonly DsseVerifier[]): Promise<LeafVerdict> {
  let bytes: Uint8Array;
  try {
    bytes = await fetchBytes(baseUrl, `v1/log/leaves/${index}`);
  } catch (error) {
    return { signatureFailure: `leaf ${index}: ${(error as Error).message}`, inclusionFailure: `leaf ${index}: not fetched` };
  }
  const verdict: LeafVerdict = { leafHash: merkleLeafHash(bytes) };
  const envelope = parseEnvelope(new TextDecoder().decode(bytes));
  if (!envelope.ok) verdict.signatureFailure = `leaf ${index}: ${envelope.reason.detail}`;
  else if (envelope.value.payloadType !== inTotoPayloadType) verdict.signatureFailure = `leaf ${index}: payloadType ${JSON.stringify(envelope.value.payloadType.slice(0, 60))}, not ${inTotoPayloadType}`;
  else {
    const verified = await verifyEnvelope(envelope.value, verifiers);
    if (!verified.ok) verdict.signatureFailure = `leaf ${index}: ${verified.reason.detail}`;
    else {
      const statement = parseSettlementBatchStatement(verified.value.payload);
      const jurisdiction = originJurisdiction(checkpoint.origin);
      if (!statement.ok) verdict.statementFailure = `leaf ${index}: ${statement.reason.detail}`;
      else if (jurisdiction !== undefined && statement.value.predicate.jurisdiction !== jurisdiction) {
        verdict.statementFailure = `leaf ${index}: batch of jurisdiction ${statement.value.predicate.jurisdiction} in the log of ${jurisdiction}`;
      } else verdict.digest = statement.value.subject[0].digest.sha256;
    }
  }
  verdict.inclusionFailure = await inclusionFailure(baseUrl, index, verdict.leafHash!, checkpoint);
  return verdict;
}

async function inclusionFailure(baseUrl: string, index: number, leafHash: Uint8Array, checkpoint: AuditedCheckpoint): Promise<string | undefined> {
  try {
    const body = await fetchJson(baseUrl, `v1/log/inclusion?index=${index}&size=${checkpoint.treeSize}`);
    if (!isRecord(body) || body.index !== index || body.tree_size !== checkpoint.treeSize || !Array.isArray(body.proof) || !body.proof.every((entry) => typeof entry === 'string')) {
      return `leaf ${index}: malformed inclusion answer`;
    }
    const verdict = verifyInclusion(leafHash, index, checkpoint.treeSize, (body.proof as string[]).map(base64Decode), checkpoint.rootHash);
    return verdict.ok ? undefined : `leaf ${index}: ${verdict.reason.detail}`;
  } catch (error) {
    return `leaf ${index}: ${(error as Error).message}`;
  }
}

function duplicateBatches(verdicts: readonly LeafVerdict[]): string[] {
  const firstSeen = new Map<string, number>();
  const failures: string[] = [];
  verdicts.forEach((verdict, index) => {
    if (verdict.digest === undefined) return;
    const earlier = firstSeen.get(verdict.digest);
    if (earlier === undefined) firstSeen.set(verdict.digest, index);
    else failures.push(`batch ${verdict.digest} is in the log twice: leaves ${earlier} and ${index}`);
  });
  return failures;
}

/** Every leaf of the checkpoint's tree: signatures, statements, inclusion, recomputed root. */
async function auditLeaves(baseUrl: string, checkpoint: AuditedCheckpoint, keys: readonly PublishedKey[]): Promise<AuditCheck[]> {
  const verifiers: DsseVerifier[] = [];
  const unusable: string[] = [];
  for (const key of keys) {
    const verifier = await dsseVerifierForKey(key);
    if (verifier === undefined) unusable.push(`key ${key.kid}: algorithm ${key.alg} is not supported by this auditor`);
    else verifiers.push(verifier);
  }
  const size = checkpoint.treeSize;
  const verdicts = await inPool(size, (index) => auditLeaf(baseUrl, index, checkpoint, verifiers));
  const signatureFailures = verdicts.flatMap((verdict) => (verdict.signatureFailure === undefined ? [] : [verdict.signatureFailure]));
  const statementFailures = [...verdicts.flatMap((verdict) => (verdict.statementFailure === undefined ? [] : [verdict.statementFailure])), ...duplicateBatches(verdicts)];
  const inclusionFailures = verdicts.flatMap((verdict) => (verdict.inclusionFailure === undefined ? [] : [verdict.inclusionFailure]));
  const leafHashes = verdicts.flatMap((verdict) => (verdict.leafHash === undefined ? [] : [verdict.leafHash]));
  const rootFailures = leafHashes.length !== size ? [`only ${leafHashes.length} of ${size} leaves fetched`] : sameBytes(treeRootFromLeafHashes(leafHashes), checkpoint.rootHash) ? [] : ['the tree over the served leaves has a different root than the signed checkpoint'];
  const signed = size - signatureFailures.length;
  const batches = verdicts.filter((verdict) => verdict.digest !== undefined).length;
  return [
    check(`leaf signatures: ${signed} of ${size} DSSE envelopes verify under published keys`, signatureFailures, unusable),
    check(`statements: ${batches} signed leaves are settlement-batch statements of this log, no batch twice`, statementFailures),
    check(`inclusion proofs: ${size - inclusionFailures.length} of ${size} verify against the checkpoint`, inclusionFailures),
    check(`root: recomputed from the ${leafHashes.length} served leaves`, rootFailures),
  ];
}

function sameBytes(left: Uint8Array, right: Uint8Array): boolean {
  return left.length === right.length && left.every((byte, index) => byte === right[index]);
}

/**
 * Audits one backend: keys, its signed checkpoint, every leaf and an inclusion proof per leaf.
 * Leaves signed by another backend of the same log verify only with that backend's keys: pass
 * them as `siblingKeys` (auditBackends does), or expect those leaves to be reported.
 */
export async function auditBackend(baseUrl: string, options: AuditBackendOptions = {}): Promise<BackendAudit> {
  const audit: BackendAudit = { url: baseUrl, ok: false, checks: [], keys: [], noteVerifiers: [] };
  try {
    const published = await readKeys(baseUrl);
    Object.assign(audit, { keys: published.keys, noteVerifiers: published.noteVerifiers });
    audit.checks.push(published.check);
    const note = utf8Text(await fetchBytes(baseUrl, 'v1/log/checkpoint'), 'the checkpoint');
    const checkpoint = openCheckpoint(note, published.noteVerifiers);
    audit.checkpoint = checkpoint;
    audit.checks.push(check(`checkpoint: ${checkpoint.origin}, ${checkpoint.treeSize} leaves, root ${shortRoot(checkpoint.rootHash)}, signed by ${checkpoint.signedBy.join(', ')}`, []));
    const leafKeys = [...published.keys, ...(options.siblingKeys ?? []).filter((sibling) => !published.keys.some((key) => key.kid === sibling.kid))];
    if (checkpoint.treeSize === 0) {
      audit.checks.push(check('empty log: the root is the empty-tree hash', sameBytes(checkpoint.rootHash, emptyTreeRoot) ? [] : ['an empty checkpoint with a non-empty root']));
    } else {
      audit.checks.push(...(await auditLeaves(baseUrl, checkpoint, leafKeys)));
    }
  } catch (error) {
    if (!(error instanceof AuditFailure)) throw error;
    audit.checks.push(check(error.message, [error.message]));
  }
  audit.ok = audit.checks.every((entry) => entry.ok);
  return audit;
}

/** Checkpoint `earlier` (size m) against `later` (size n ≥ m), with a proof from `prover` if needed. */
async function consistencyFailure(earlier: Checkpoint, later: Checkpoint, prover: string): Promise<string | undefined> {
  if (earlier.treeSize > later.treeSize) return `the log shrank from ${earlier.treeSize} to ${later.treeSize} leaves`;
  if (earlier.treeSize === 0) return sameBytes(earlier.rootHash, emptyTreeRoot) ? undefined : 'an empty checkpoint with a non-empty root';
  let proof: Uint8Array[] = [];
  if (earlier.treeSize < later.treeSize) {
    try {
      const body = await fetchJson(prover, `v1/log/consistency?from=${earlier.treeSize}&to=${later.treeSize}`);
      if (!isRecord(body) || body.from !== earlier.treeSize || body.to !== later.treeSize || !Array.isArray(body.proof) || !body.proof.every((entry) => typeof entry === 'string')) return 'malformed consistency answer';
      proof = (body.proof as string[]).map(base64Decode);
    } catch (error) {
      return (error as Error).message;
    }
  }
  const verdict = verifyConsistency(earlier.treeSize, later.treeSize, proof, earlier.rootHash, later.rootHash);
  return verdict.ok ? undefined : verdict.reason.detail;
}

/** Consistency of every pair of checkpoints of one log, and of the saved checkpoint, if any. */
async function auditLog(origin: string, members: readonly BackendAudit[], since: AuditedCheckpoint | undefined): Promise<LogAudit> {
  const checks: AuditCheck[] = [];
  const audited = members.filter((member) => member.checkpoint !== undefined);
  for (let left = 0; left < audited.length; left++) {
    for (let right = left + 1; right < audited.length; right++) {
      const [earlier, later] = [audited[left]!, audited[right]!].sort((a, b) => a.checkpoint!.treeSize - b.checkpoint!.treeSize) as [BackendAudit, BackendAudit];
      const failure = await consistencyFailure(earlier.checkpoint!, later.checkpoint!, later.url);
      const relation = earlier.checkpoint!.treeSize === later.checkpoint!.treeSize ? 'same tree' : 'consistent';
      checks.push(check(`${earlier.url} (${earlier.checkpoint!.treeSize}) → ${later.url} (${later.checkpoint!.treeSize}): ${failure === undefined ? relation : 'FORK'}`, failure === undefined ? [] : [failure]));
    }
  }
  if (since !== undefined) {
    const largest = [...audited].sort((a, b) => b.checkpoint!.treeSize - a.checkpoint!.treeSize)[0];
    if (largest === undefined) checks.push(check('saved checkpoint: no current checkpoint to compare with', ['no backend of this log answered with a checkpoint']));
    else {
      const failure = await consistencyFailure(since, largest.checkpoint!, largest.url);
      checks.push(check(`saved checkpoint (${since.treeSize}) → ${largest.url} (${largest.checkpoint!.treeSize}): ${failure === undefined ? 'consistent' : 'NOT CONSISTENT'}`, failure === undefined ? [] : [failure]));
    }
  }
  if (checks.length === 0) checks.push(check('one checkpoint: nothing to compare it with (give eu-1 and eu-2, or --since)', []));
  return { origin, ok: checks.every((entry) => entry.ok), checks };
}

/**
 * Audits several backends: each one fully (auditBackend, with the keys of the other backends of
 * the same log for leaves they signed), then consistency between all checkpoints of each log and,
 * with `since`, between a saved checkpoint and the current one.
 */
export async function auditBackends(urls: readonly string[], options: AuditOptions = {}): Promise<AuditReport> {
  // First pass for the keys: a leaf committed by eu-2 is signed with eu-2's key.
  const siblingKeys: PublishedKey[] = [];
  for (const url of urls) {
    try {
      siblingKeys.push(...(await readKeys(url)).keys);
    } catch {
      // Reported by that backend's own audit below.
    }
  }
  const backends: BackendAudit[] = [];
  for (const url of urls) backends.push(await auditBackend(url, { siblingKeys }));
  const logs: LogAudit[] = [];
  let since: AuditedCheckpoint | undefined;
  const sinceChecks: AuditCheck[] = [];
  if (options.since !== undefined) {
    try {
      since = openCheckpoint(options.since, distinctVerifiers(backends.flatMap((backend) => backend.noteVerifiers)));
    } catch (error) {
      sinceChecks.push(check(`saved checkpoint: ${(error as Error).message}`, [(error as Error).message]));
    }
  }
  const origins = [...new Set(backends.flatMap((backend) => (backend.checkpoint === undefined ? [] : [backend.checkpoint.origin])))];
  if (since !== undefined && !origins.includes(since.origin)) sinceChecks.push(check(`saved checkpoint of ${since.origin}: no backend given serves that log`, ['no matching backend']));
  for (const origin of origins) {
    logs.push(await auditLog(origin, backends.filter((backend) => backend.checkpoint?.origin === origin), since?.origin === origin ? since : undefined));
  }
  if (sinceChecks.length > 0) logs.push({ origin: '(saved checkpoint)', ok: false, checks: sinceChecks });
  return { ok: backends.every((backend) => backend.ok) && logs.every((log) => log.ok), backends, logs };
}

/** The same verifier key listed by two backends (or one URL given twice) is one key, not an ambiguity. */
function distinctVerifiers(verifiers: readonly NoteVerifierKey[]): NoteVerifierKey[] {
  const byText = new Map<string, NoteVerifierKey>();
  for (const verifier of verifiers) byText.set(`${verifier.name}+${verifier.keyIdHex}+${base64Encode(verifier.publicKey)}`, verifier);
  return [...byText.values()];
}

function formatChecks(checks: readonly AuditCheck[]): string[] {
  return checks.flatMap((entry) => [`  ${entry.ok ? '✓' : '✗'} ${entry.summary}`, ...entry.details.map((detail) => `      ${detail}`)]);
}

export function formatAuditReport(report: AuditReport): string {
  const failures = [...report.backends, ...report.logs].flatMap((part) => part.checks).filter((entry) => !entry.ok).length;
  const lines = [`Meridian transparency-log audit: ${report.backends.length} backend${report.backends.length === 1 ? '' : 's'}`];
  for (const backend of report.backends) lines.push(`backend ${backend.url}`, ...formatChecks(backend.checks));
  for (const log of report.logs) lines.push(`log ${log.origin}`, ...formatChecks(log.checks));
  lines.push(report.ok ? 'RESULT: PASS — every check verified' : `RESULT: FAIL — ${failures} check${failures === 1 ? '' : 's'} failed`);
  return lines.join('\n') + '\n';
}

/** The largest current checkpoint, for `--save` (one log only: a file holds one note). */
function checkpointToSave(report: AuditReport): AuditedCheckpoint {
  const checkpoints = report.backends.flatMap((backend) => (backend.checkpoint === undefined ? [] : [backend.checkpoint]));
  if (new Set(checkpoints.map((checkpoint) => checkpoint.origin)).size !== 1) throw new AuditFailure('--save needs the backends of exactly one log');
  return checkpoints.sort((a, b) => b.treeSize - a.treeSize)[0]!;
}

/** The report as plain JSON for `--json`: keys and roots in base64, the signed note verbatim. */
export function auditReportJson(report: AuditReport): Record<string, unknown> {
  return {
    ok: report.ok,
    backends: report.backends.map((backend) => ({
      url: backend.url,
      ok: backend.ok,
      checks: backend.checks,
      keys: backend.keys.map((key) => ({ kid: key.kid, alg: key.alg, public_key: base64Encode(key.publicKey), rotation_overdue: key.rotationOverdue })),
      checkpoint:
        backend.checkpoint === undefined
          ? null
          : { origin: backend.checkpoint.origin, tree_size: backend.checkpoint.treeSize, root_hash: base64Encode(backend.checkpoint.rootHash), signed_by: backend.checkpoint.signedBy, note: backend.checkpoint.note },
    })),
    logs: report.logs,
  };
}

export const auditCommand = defineCommand({
  name: 'audit',
  summary: "verify regional backends' transparency logs offline, like an auditor: signatures, inclusion, consistency",
  positionals: ['<backend url>…'],
  options: {
    ...jsonOption,
    since: { type: 'string', valueName: 'file', description: "a checkpoint saved earlier (--save, or curl /v1/log/checkpoint): today's log must extend it" },
    save: { type: 'string', valueName: 'file', description: 'write the largest current checkpoint there when everything verifies (one log only)' },
  },
  details: `e.g. meridian audit http://127.0.0.1:8701 http://127.0.0.1:8702 --save eu.checkpoint
     meridian audit --since eu.checkpoint http://127.0.0.1:8701 http://127.0.0.1:8702
Give every backend of a log (eu-1 and eu-2 share the eu log) to check their checkpoints agree.
Exit 0 when every check verifies, 1 when any fails.`,
  async run({ values, positionals }, context) {
    const notUrl = positionals.find((argument) => !/^https?:\/\/[^\s/]+/.test(argument) || !URL.canParse(argument));
    if (notUrl !== undefined) return context.usageError(`not a backend URL: ${JSON.stringify(notUrl.slice(0, 80))} (e.g. http://127.0.0.1:8701)`);
    let since: string | undefined;
    if (values.since !== undefined) {
      try {
        since = await readFile(values.since, 'utf8');
      } catch (error) {
        return context.usageError(`cannot read --since ${values.since}: ${(error as Error).message}`);
      }
    }
    const report = await auditBackends(positionals, since === undefined ? {} : { since });
    let saved: AuditedCheckpoint | undefined;
    if (values.save !== undefined && report.ok) {
      try {
        saved = checkpointToSave(report);
      } catch (error) {
        return context.usageError((error as Error).message);
      }
      await writeFile(values.save, saved.note);
    }
    if (values.json === true) context.printJson({ ...auditReportJson(report), saved: saved === undefined ? null : { file: values.save, origin: saved.origin, tree_size: saved.treeSize } });
    else {
      context.io.stdout(formatAuditReport(report));
      if (saved !== undefined) context.io.stdout(`saved the checkpoint of ${saved.origin} at ${saved.treeSize} leaves to ${values.save}\n`);
    }
    return report.ok ? exitOk : exitFailed;
  },
});

/** `node cli/audit.ts …`: the same command as `meridian audit …`. */
export function main(argv: readonly string[]): Promise<number> {
  return runCommand(auditCommand, 'meridian audit', argv, processIo);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`audit: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
