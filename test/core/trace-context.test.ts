import { describe, expect, it } from 'vitest';
import { childTraceContext, formatTraceparent, isTraceId, newRequestId, newTraceContext, parseTraceparent, traceContextFrom } from '../../core/trace-context.ts';

// The examples of W3C Trace Context Level 1, §3.2.2 and §3.2.2.3-4.
const specExample = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const specNotSampled = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00';

describe('traceparent (W3C Trace Context)', () => {
  it('parses the spec example into trace id, parent id and the sampled flag', () => {
    expect(parseTraceparent(specExample)).toEqual({ ok: true, value: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: 1 } });
    expect(parseTraceparent(specNotSampled)).toMatchObject({ ok: true, value: { flags: 0 } });
  });

  it('formats back to the same bytes', () => {
    for (const header of [specExample, specNotSampled, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01']) {
      const parsed = parseTraceparent(header);
      if (!parsed.ok) throw new Error(parsed.reason.kind);
      expect(formatTraceparent(parsed.value)).toBe(header);
    }
  });

  it('refuses all-zero trace and parent ids (§3.2.2.3, §3.2.2.4)', () => {
    expect(parseTraceparent('00-00000000000000000000000000000000-00f067aa0ba902b7-01')).toEqual({ ok: false, reason: { kind: 'zero-trace-id' } });
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01')).toEqual({ ok: false, reason: { kind: 'zero-parent-id' } });
  });

  it('refuses the invalid version ff, other versions, uppercase hex and wrong lengths', () => {
    expect(parseTraceparent('ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toEqual({ ok: false, reason: { kind: 'unsupported-version', version: 'ff' } });
    expect(parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toMatchObject({ ok: false, reason: { kind: 'unsupported-version' } });
    for (const bad of [
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
      '00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01',
      '',
      `${specExample}\n"level":"admin"`,
    ]) {
      expect(parseTraceparent(bad), bad).toEqual({ ok: false, reason: { kind: 'malformed' } });
    }
  });

  it('a child keeps the trace and flags under a new span; a bad header starts a new trace', () => {
    const parent = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: 1 };
    const child = childTraceContext(parent);
    expect(child.traceId).toBe(parent.traceId);
    expect(child.flags).toBe(1);
    expect(child.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(child.spanId).not.toBe(parent.spanId);

    expect(traceContextFrom(specExample)).toMatchObject({ adopted: true, context: { traceId: parent.traceId } });
    const fresh = traceContextFrom('00-00000000000000000000000000000000-00f067aa0ba902b7-01');
    expect(fresh.adopted).toBe(false);
    expect(isTraceId(fresh.context.traceId)).toBe(true);
    expect(traceContextFrom(undefined).adopted).toBe(false);
  });

  it('new ids are well-formed and distinct', () => {
    const a = newTraceContext();
    const b = newTraceContext();
    expect(parseTraceparent(formatTraceparent(a))).toMatchObject({ ok: true });
    expect(a.traceId).not.toBe(b.traceId);
    expect(newRequestId()).toMatch(/^[0-9a-f]{32}$/);
    expect(() => formatTraceparent({ traceId: '0'.repeat(32), spanId: '00f067aa0ba902b7', flags: 1 })).toThrow();
  });
});
