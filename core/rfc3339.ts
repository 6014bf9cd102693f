/*
 * Calendar dates (YYYY-MM-DD) and RFC 3339 date-times, checked against the real calendar
 * (2025-02-29 and 2024-04-31 are rejected; 2024-02-29 is accepted). Date.parse is not used for
 * validation because it rolls invalid days over and accepts many non-RFC forms.
 * Trade-off: leap seconds (":60") are rejected; no settlement clock emits them, and accepting
 * them would make instants that Date cannot represent.
 */

const calendarDatePattern = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
const dateTimePattern =
  /^([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?(Z|[+-]([0-9]{2}):([0-9]{2}))$/;

export const dateTimeLengthMax = 35;

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** A real Gregorian calendar date, years 0001–9999. */
export function isCalendarDate(text: string): boolean {
  const match = calendarDatePattern.exec(text);
  if (match === null) return false;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  return year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

/** RFC 3339 §5.6 date-time with a mandatory offset ("Z" or ±hh:mm), uppercase T and Z only. */
export function isRfc3339DateTime(text: string): boolean {
  if (text.length > dateTimeLengthMax) return false;
  const match = dateTimePattern.exec(text);
  if (match === null || !isCalendarDate(match[1]!)) return false;
  const hour = Number(match[2]);
  const minute = Number(match[3]);
  const second = Number(match[4]);
  if (hour > 23 || minute > 59 || second > 59) return false;
  if (match[6] === 'Z') return true;
  return Number(match[7]) <= 23 && Number(match[8]) <= 59;
}
