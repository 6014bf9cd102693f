/**
 * The one atomic step of a velocity check, as a Lua script Redis runs without interleaving:
 *
 *   1. the payment's admission marker exists → it was counted before: answer `repeat`, count nothing;
 *   2. any counter would pass its limit → answer `refused` with the first such counter, count nothing;
 *   3. otherwise add every increment, set each counter's expiry, set the marker: answer `counted`.
 *
 * Why not @upstash/ratelimit's algorithms (whose scripts the bridge also serves):
 *   - A repeat must never count twice, and two concurrent first submissions of one UETR both get
 *     here (priorAnswer only answers repeats of an admission that finished). Only a marker written
 *     in the same atomic step as the counts makes that exact; a limiter call cannot carry one.
 *   - One payment moves up to six counters. Separate limiter calls would count a payment on the
 *     limits it passed even when a later one refuses it (and fixedWindow adds a refused rate to its
 *     own counter too: test/cli/redis-bridge.test.ts shows it), so refusals would eat the quota.
 *   - One round trip instead of six.
 *
 * Why this stays exact: for one (partner, UETR) Redis runs these scripts one at a time. The first to
 * run either refuses (writing nothing, so a retry is judged afresh) or counts and sets the marker in
 * the same step; every later one finds the marker and counts nothing. A reply lost to a timeout is
 * answered `velocity-unavailable`, the partner retries the same UETR, and the retry finds the marker.
 * The marker outlives the day window (`admissionMarkerTtlMs`), so no window ever holds a payment twice.
 *
 * Amounts never pass through a Lua number (a double in Redis, exact only to 2^53): the Worker
 * sends each counter's headroom (limit − increment, a bigint ≥ 0) as a decimal string, the script
 * compares it with the counter's value as digit strings, and INCRBY adds in Redis' 64-bit integers.
 * (The embedded bridge store hands counters back as numbers; `atMost` formats them as digits.)
 *
 *   KEYS[1] marker, KEYS[2..n] counters
 *   ARGV[1] marker TTL ms, then per counter: increment, headroom, TTL ms
 *   reply {1, 0} counted | {0, 0} repeat | {-1, i} refused by counter i (1-based, counters only)
 */
import { err, ok, type Result } from '../../core/result.ts';

export const velocityScript = `
local function atMost(value, bound)
  if type(value) == "number" then value = string.format("%.0f", value) end
  if #value ~= #bound then return #value < #bound end
  return value <= bound
end
if redis.call("EXISTS", KEYS[1]) == 1 then return {0, 0} end
for i = 2, #KEYS do
  local current = redis.call("GET", KEYS[i])
  if current == false then current = "0" end
  if not atMost(current, ARGV[(i - 2) * 3 + 3]) then return {-1, i - 1} end
end
for i = 2, #KEYS do
  local base = (i - 2) * 3 + 2
  redis.call("INCRBY", KEYS[i], ARGV[base])
  redis.call("PEXPIRE", KEYS[i], ARGV[base + 2])
end
redis.call("SET", KEYS[1], "1", "PX", ARGV[1])
return {1, 0}
`;

export type VelocityScriptReply = { kind: 'counted' } | { kind: 'repeat' } | { kind: 'refused'; counterIndex: number };

/**
 * Reads the script's reply strictly. Anything else is an outage, never an admission: given a fixed
 * AbortSignal, @upstash/redis resolves a timed-out call with the abort reason as its "result"
 * instead of throwing (velocity-store.ts passes a signal factory, which throws, but a reply of the
 * wrong shape must never count as within the limits either way).
 */
export function parseVelocityScriptReply(reply: unknown, counterCount: number): Result<VelocityScriptReply, { kind: 'unexpected-reply'; detail: string }> {
  if (Array.isArray(reply) && reply.length === 2 && Number.isInteger(reply[0]) && Number.isInteger(reply[1])) {
    const [status, index] = reply as [number, number];
    if (status === 1 && index === 0) return ok({ kind: 'counted' });
    if (status === 0 && index === 0) return ok({ kind: 'repeat' });
    if (status === -1 && index >= 1 && index <= counterCount) return ok({ kind: 'refused', counterIndex: index - 1 });
  }
  return err({ kind: 'unexpected-reply', detail: String(JSON.stringify(reply) ?? reply).slice(0, 200) });
}
