/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/, Level 1, §3.2) for the `traceparent`
 * header, and the ids that follow one payment from the edge to the regional commit. Pure: the
 * random source is the Web Crypto global that workerd and Node both provide.
 *
 *   traceparent = version "-" trace-id "-" parent-id "-" trace-flags
 *                 00        32 lower hex  16 lower hex  2 lower hex
 *
 * Policy choices, written where they are made:
 * - Only version 00 is adopted. The spec lets a receiver parse a higher version's first four fields
 *   when more follow; we do not, because our peers are the partners' stacks and our own backends,
 *   and a header we half-understand should start a fresh trace rather than graft ours onto a
 *   foreign one. Version ff is invalid by the spec.
 * - All-zero trace or parent ids are invalid (spec) and start a new trace.
 * - Uppercase hex is invalid (spec: lowercase only).
 * - A trace id supplied by a partner is an identifier they chose: it goes into log lines only
 *   through this parser (fixed alphabet, fixed length), so it can never inject log fields.
 */
import { err, ok, type Result } from './result.ts';

export interface TraceContext {
  /** 32 lowercase hex digits, not all zero: the whole trace, kept by every hop. */
  traceId: string;
  /** 16 lowercase hex digits, not all zero: the span of the hop that sent this context. */
  spanId: string;
  /** The 8-bit trace-flags; bit 0 is `sampled`. */
  flags: number;
}

export type TraceparentRejection =
  | { kind: 'malformed' }
  | { kind: 'unsupported-version'; version: string }
  | { kind: 'zero-trace-id' }
  | { kind: 'zero-parent-id' };

/** A header value longer than this is refused before any parsing (version 00 is exactly 55). */
export const traceparentCharsMax = 55;
export const sampledFlag = 0x01;

const traceparentPattern = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const traceIdPattern = /^[0-9a-f]{32}$/;

export function parseTraceparent(header: string): Result<TraceContext, TraceparentRejection> {
  const value = header.trim();
  if (value.length > traceparentCharsMax) return err({ kind: 'malformed' });
  const match = traceparentPattern.exec(value);
  if (match === null) return err({ kind: 'malformed' });
  const [, version, traceId, spanId, flags] = match as unknown as [string, string, string, string, string];
  if (version !== '00') return err({ kind: 'unsupported-version', version });
  if (/^0+$/.test(traceId)) return err({ kind: 'zero-trace-id' });
  if (/^0+$/.test(spanId)) return err({ kind: 'zero-parent-id' });
  return ok({ traceId, spanId, flags: Number.parseInt(flags, 16) });
}

export function formatTraceparent(context: TraceContext): string {
  if (!isTraceId(context.traceId) || !/^[0-9a-f]{16}$/.test(context.spanId) || /^0+$/.test(context.spanId)) {
    throw new Error(`formatTraceparent: invalid trace context ${JSON.stringify(context)}`);
  }
  if (!Number.isInteger(context.flags) || context.flags < 0 || context.flags > 0xff) throw new Error(`formatTraceparent: flags ${context.flags} out of range`);
  return `00-${context.traceId}-${context.spanId}-${context.flags.toString(16).padStart(2, '0')}`;
}

/** A fresh trace (this hop is its root), sampled. */
export function newTraceContext(): TraceContext {
  return { traceId: randomHex(16), spanId: randomHex(8), flags: sampledFlag };
}

/** This hop's own span under `parent`: same trace and flags, a new span id. */
export function childTraceContext(parent: TraceContext): TraceContext {
  return { traceId: parent.traceId, spanId: randomHex(8), flags: parent.flags };
}

/** Adopts a valid incoming traceparent as the parent of this hop's span, or starts a new trace. */
export function traceContextFrom(header: string | null | undefined): { context: TraceContext; adopted: boolean } {
  if (header === null || header === undefined) return { context: newTraceContext(), adopted: false };
  const parsed = parseTraceparent(header);
  return parsed.ok ? { context: childTraceContext(parsed.value), adopted: true } : { context: newTraceContext(), adopted: false };
}

export function isTraceId(value: unknown): value is string {
  return typeof value === 'string' && traceIdPattern.test(value) && !/^0+$/.test(value);
}

/** A request id: 16 random bytes as 32 hex digits (not a trace id: one per hop, never propagated). */
export function newRequestId(): string {
  return randomHex(16);
}

function randomHex(bytes: number): string {
  const buffer = new Uint8Array(bytes);
  // All zero is invalid for both id kinds; 2^-64 at worst, but cheap to rule out.
  do crypto.getRandomValues(buffer);
  while (buffer.every((byte) => byte === 0));
  return Array.from(buffer, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * A settlement batch nets many payments, each with its own trace. The delivery's `traceparent` is
 * the batch's own span (under the first payment's trace); the other payments' trace ids travel in
 * this header, so the regional commit's log line names every payment's trace. Not `tracestate`:
 * its list members are ≤ 256 characters (Trace Context §3.3.1.3), room for about seven ids.
 */
export const paymentTraceIdsHeader = 'meridian-payment-trace-ids';
/** Ids in one header (33 characters each: ≤ 6.6 KB, well inside Node's 16 KB header limit beside the token). */
export const paymentTraceIdsPerHeaderMax = 200;

/** Distinct valid trace ids, first `paymentTraceIdsPerHeaderMax` in order, comma-separated; null if none. */
export function formatPaymentTraceIds(traceIds: Iterable<string>): string | null {
  const distinct = new Set<string>();
  for (const traceId of traceIds) {
    if (distinct.size >= paymentTraceIdsPerHeaderMax) break;
    if (isTraceId(traceId)) distinct.add(traceId);
  }
  return distinct.size === 0 ? null : [...distinct].join(',');
}

/** The valid trace ids of a `meridian-payment-trace-ids` header; anything else in it is dropped. */
export function parsePaymentTraceIds(header: string | null | undefined): string[] {
  if (header === null || header === undefined) return [];
  const ids = new Set<string>();
  for (const part of header.split(',', paymentTraceIdsPerHeaderMax)) {
    const candidate = part.trim();
    if (isTraceId(candidate)) ids.add(candidate);
  }
  return [...ids];
}
