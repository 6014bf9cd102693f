import { describe, expect, it } from 'vitest';
import { isCalendarDate, isRfc3339DateTime } from '../../core/rfc3339.ts';

describe('isCalendarDate', () => {
  it('follows the Gregorian leap-year rule', () => {
    expect(isCalendarDate('2024-02-29')).toBe(true);
    expect(isCalendarDate('2000-02-29')).toBe(true);
    expect(isCalendarDate('1900-02-29')).toBe(false);
    expect(isCalendarDate('2026-02-29')).toBe(false);
  });

  it('rejects impossible days and months and other spellings', () => {
    for (const text of ['2026-04-31', '2026-13-01', '2026-00-10', '2026-01-00', '0000-01-01', '2026-1-5', '20260105', '2026-01-05 ', '2026/01/05']) {
      expect(isCalendarDate(text), text).toBe(false);
    }
    expect(isCalendarDate('2026-12-31')).toBe(true);
  });
});

describe('isRfc3339DateTime', () => {
  it('accepts Z and numeric offsets, with or without fractional seconds', () => {
    for (const text of ['2026-03-02T09:15:00Z', '2026-03-02T09:15:00.5+01:00', '2026-03-02T23:59:59.123456789-23:59', '2024-02-29T00:00:00+00:00']) {
      expect(isRfc3339DateTime(text), text).toBe(true);
    }
  });

  it('rejects missing offsets, lowercase separators, leap seconds and out-of-range fields', () => {
    for (const text of [
      '2026-03-02T09:15:00', '2026-03-02t09:15:00Z', '2026-03-02T09:15:00z', '2026-03-02 09:15:00Z',
      '2026-03-02T09:15:60Z', '2026-03-02T24:00:00Z', '2026-03-02T09:60:00Z', '2026-03-02T09:15:00+24:00',
      '2026-03-02T09:15:00+01:60', '2026-03-02T09:15:00+0100', '2026-03-02T09:15Z', '2026-02-30T09:15:00Z',
      '2026-03-02T09:15:00.1234567890Z', '2026-03-02T09:15:00.Z',
    ]) {
      expect(isRfc3339DateTime(text), text).toBe(false);
    }
  });
});
