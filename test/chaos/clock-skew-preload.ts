/**
 * Skews one Node process's wall clock for the clock-skew drill: loaded with
 * `NODE_OPTIONS=--import <this file>` into a regional backend, it adds the milliseconds written in
 * MERIDIAN_CLOCK_SKEW_FILE (re-read every skewReadIntervalMs; missing or empty = 0) to Date.now()
 * and to `new Date()`. Monotonic time (performance.now, timers) is untouched, as with a real NTP
 * step: only what the process believes the time of day is moves. The drill changes the file while
 * the backend runs, so the skew steps in and out mid-traffic.
 */
import { readFileSync } from 'node:fs';

const skewReadIntervalMs = 200;
const skewFile = process.env.MERIDIAN_CLOCK_SKEW_FILE;

if (skewFile !== undefined && skewFile !== '') {
  let skewMs = 0;
  const read = () => {
    try {
      const value = Number(readFileSync(skewFile, 'utf8').trim());
      skewMs = Number.isFinite(value) ? value : 0;
    } catch {
      skewMs = 0;
    }
  };
  read();
  setInterval(read, skewReadIntervalMs).unref();
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  class SkewedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(realNow() + skewMs);
      else super(...(args as [string | number | Date]));
    }
    static override now(): number {
      return realNow() + skewMs;
    }
  }
  globalThis.Date = SkewedDate as DateConstructor;
}
