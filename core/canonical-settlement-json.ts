import { canonicalJson } from './canonical-json.ts';
import type { NetPosition, SettlementLeg } from './settlement-leg.ts';

/*
 * RFC 8785 bytes of a settlement batch, written for its one shape instead of discovered per value.
 *
 * Why: the generic serializer (`canonicalize`) sorts every object's keys and recurses through
 * every value; on a 10,000-leg batch that was about 45% of a window seal, and both the edge
 * (sealing) and the regional backend (re-verification) pay it. Here the member names of the batch,
 * its window, its legs and its positions are written in their RFC 8785 order once, as literals.
 *
 * Why the bytes are the same as `canonicalJson`'s, for every input:
 * - RFC 8785 orders members by the UTF-16 code units of their names; the literal orders below are
 *   those orders (`payee` < `payer`, `amount_minor` first …), and test/core/canonical-settlement-json
 *   checks each one against `canonicalize` on arbitrary batches.
 * - A string value is written verbatim between quotes only when every code unit is printable ASCII
 *   other than `"` and `\` — exactly the strings JSON.stringify (and so RFC 8785 §3.2.2.2) leaves
 *   unescaped. Any other string (controls, quotes, non-ASCII, lone surrogates) goes through
 *   `canonicalJson`, which escapes it or throws, as it would inside the whole batch.
 * - Anything that is not exactly the shape (a missing, extra or undefined member, a number where a
 *   string belongs, a class instance or an own toJSON, a non-array `legs`) makes the fast path give up, and the
 *   whole value goes through `canonicalJson`. So the fast path only ever runs where its output is
 *   by construction the canonical one, and everything else is the generic serializer's answer.
 */

/** The batch as the fast path expects it; anything else is serialized generically. */
interface BatchShape {
  version: unknown;
  batch_id: unknown;
  corridor: unknown;
  jurisdiction: unknown;
  window: unknown;
  legs: unknown;
  positions: unknown;
}

const batchMemberCount = 7;
const windowMemberCount = 2;
const legMemberCount = 8;
const positionMemberCount = 3;

/** Printable ASCII without `"` (0x22) and `\` (0x5c): the strings JSON writes as they are. */
const verbatimString = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** Thrown inside the fast path when the value is not exactly the shape; caught at the top. */
const notTheShape = Symbol('not the settlement batch shape');

export function canonicalSettlementBatchJson(batch: unknown): string {
  try {
    return batchJson(batch);
  } catch (error) {
    if (error !== notTheShape) throw error;
    return canonicalJson(batch);
  }
}

function batchJson(value: unknown): string {
  const batch = plainObject(value, batchMemberCount) as BatchShape;
  const window = plainObject(batch.window, windowMemberCount) as { starts_at: unknown; ends_at: unknown };
  if (typeof batch.version !== 'number') throw notTheShape;
  return (
    `{"batch_id":${text(batch.batch_id)},"corridor":${text(batch.corridor)},"jurisdiction":${text(batch.jurisdiction)},` +
    `"legs":${legsJson(batch.legs)},"positions":${positionsJson(batch.positions)},"version":${canonicalJson(batch.version)},` +
    `"window":{"ends_at":${text(window.ends_at)},"starts_at":${text(window.starts_at)}}}`
  );
}

function legsJson(value: unknown): string {
  plainArray(value);
  const parts: string[] = new Array<string>(value.length);
  for (let index = 0; index < value.length; index++) {
    const leg = plainObject(value[index], legMemberCount) as Partial<Record<keyof SettlementLeg, unknown>>;
    parts[index] =
      `{"amount_minor":${text(leg.amount_minor)},"currency":${text(leg.currency)},"debtor_country":${text(leg.debtor_country)},` +
      `"instructing_agent":${text(leg.instructing_agent)},"payee":${text(leg.payee)},"payer":${text(leg.payer)},` +
      `"residency_exception":${leg.residency_exception === null ? 'null' : text(leg.residency_exception)},"uetr":${text(leg.uetr)}}`;
  }
  return `[${parts.join(',')}]`;
}

function positionsJson(value: unknown): string {
  plainArray(value);
  const parts: string[] = new Array<string>(value.length);
  for (let index = 0; index < value.length; index++) {
    const position = plainObject(value[index], positionMemberCount) as Partial<Record<keyof NetPosition, unknown>>;
    parts[index] = `{"currency":${text(position.currency)},"net_minor":${text(position.net_minor)},"participant":${text(position.participant)}}`;
  }
  return `[${parts.join(',')}]`;
}

/** An array literal's kind of array: the generic serializer would call a toJSON even on an array. */
function plainArray(value: unknown): asserts value is unknown[] {
  if (!Array.isArray(value) || Object.getPrototypeOf(value) !== Array.prototype || 'toJSON' in value) throw notTheShape;
}

/**
 * An object literal's kind of object (prototype Object.prototype: no inherited members, no
 * inherited toJSON) with `memberCount` own enumerable members. With every expected member then read
 * as a defined value, the count proves there is no other member.
 */
function plainObject(value: unknown, memberCount: number): object {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) throw notTheShape;
  if (Object.keys(value).length !== memberCount) throw notTheShape;
  return value;
}

function text(value: unknown): string {
  if (typeof value !== 'string') throw notTheShape;
  return verbatimString.test(value) ? `"${value}"` : canonicalJson(value);
}
