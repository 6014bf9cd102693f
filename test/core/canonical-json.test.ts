import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../core/canonical-json.ts';

describe('canonicalJson (RFC 8785)', () => {
  it('sorts keys by UTF-16 code units and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [true, null], c: 'x' }, B: 2 })).toBe('{"B":2,"a":{"c":"x","d":[true,null]},"b":1}');
  });

  it('formats numbers the ECMAScript way (RFC 8785 §3.2.2.3 examples)', () => {
    expect(canonicalJson([1e21, 1e-7, 0.000001, -0, 333333333.33333329])).toBe('[1e+21,1e-7,0.000001,0,333333333.3333333]');
  });

  it('escapes only what JSON requires', () => {
    expect(canonicalJson({ s: '€\u0001"\\/\n' })).toBe('{"s":"€\\u0001\\"\\\\/\\n"}');
  });

  it('throws on values without a JSON form instead of hashing "undefined"', () => {
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
    expect(() => canonicalJson(() => 1)).toThrow(TypeError);
    expect(() => canonicalJson(10n)).toThrow();
    expect(() => canonicalJson(Number.NaN)).toThrow();
    expect(() => canonicalJson('\ud800')).toThrow();
  });
});
