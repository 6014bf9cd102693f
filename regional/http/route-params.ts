/**
 * Route parameters and query values of the auditor API, parsed before anything reaches SQL.
 * Each is matched against a strict pattern with a bounded length, so a NUL byte (PostgreSQL
 * refuses it in text with 22021), a percent-encoding that is not UTF-8, a sign, an exponent or a
 * 400-digit number is a 400 problem here and never a database error. Parsers return a value or
 * the reason; routes turn the reason into the problem.
 */
import type { Context } from 'hono';
import { ProblemError } from '../../core/problem.ts';
import { batchIdPattern } from '../../core/settlement-batch-schema.ts';
import { err, ok, type Result } from '../../core/result.ts';

/** The longest batch id the core pattern admits is 46 characters. */
export const batchIdCharsMax = 46;
/** Decimal safe integers (< 2^53) have at most 16 digits. */
export const decimalPattern = /^(0|[1-9][0-9]{0,15})$/;
/** How much of a rejected value a problem detail quotes back. */
const quotedCharsMax = 32;

function quoted(text: string): string {
  return JSON.stringify(text.slice(0, quotedCharsMax));
}

/** Why a value was refused; `detail` becomes the problem's detail. */
export type ParameterRejection = { kind: 'invalid-parameter'; detail: string };

function refuse(detail: string): { ok: false; reason: ParameterRejection } {
  return err({ kind: 'invalid-parameter', detail });
}

export interface ParsedBatchId {
  batchId: string;
  jurisdiction: string;
}

export function parseBatchId(text: string): Result<ParsedBatchId, ParameterRejection> {
  const match = text.length <= batchIdCharsMax ? batchIdPattern.exec(text) : null;
  if (match === null) return refuse(`${quoted(text)} is not a batch id <corridor>.<jurisdiction>.<shard>.<window start ms>`);
  return ok({ batchId: text, jurisdiction: match[2]! });
}

/** A non-negative decimal safe integer, as written in a path segment or a query value. */
export function parseDecimal(text: string | undefined, name: string): Result<number, ParameterRejection> {
  const value = text !== undefined && decimalPattern.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value)) return refuse(`${name} must be a non-negative decimal integer below 2^53, got ${quoted(text ?? '')}`);
  return ok(value);
}

/** A query parameter given exactly once, as a non-negative decimal safe integer. */
export function queryDecimal(c: Context, name: string): Result<number, ParameterRejection> {
  const values = c.req.queries(name);
  if (values === undefined || values.length !== 1) return refuse(`query parameter ${name} is required exactly once`);
  return parseDecimal(values[0], name);
}

/** The route's mapping of a parse failure: 400 invalid-request with the reason as detail. */
export function orInvalidRequest<T>(parsed: Result<T, ParameterRejection>): T {
  if (!parsed.ok) throw new ProblemError('invalid-request', parsed.reason.detail);
  return parsed.value;
}
