/**
 * Multilateral netting of 1,000,000 legs in-process: core/netting.ts `netPositions`, the function
 * every window close and every regional verification runs. Target: ≤ 1 s (issue 4). Also prints
 * the canonical leg sort (`sortLegs`) over the same legs, the other per-leg cost of sealing.
 *
 *   node_modules/.bin/node bench/netting.ts [legs, default 1000000] [participants, default 200]
 *
 * The legs are a deterministic mix shaped like real windows: same-currency legs between banks
 * and FX pairs through a provider, in EUR, USD and JPY; amounts up to 10^12 minor units. The
 * strings are flattened (JSON round trip) as they would be when read from storage. "cold" is the
 * first call in a fresh process (what a freshly woken Durable Object pays); "warm" is the median
 * of the following runs. Appends one JSON line to bench/results/netting.jsonl.
 */
import { netPositions, sortLegs } from '../core/netting.ts';
import type { SettlementLeg } from '../core/settlement-batch.ts';
import { median, recordResult, round, uuidFrom, xorshift } from './machine.ts';

const legCount = Number(process.argv[2] ?? 1_000_000);
const participantCount = Number(process.argv[3] ?? 200);
const warmRuns = 5;
const targetMs = 1_000;

function participants(count: number): string[] {
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  return Array.from({ length: count }, (_, index) => {
    const code = `${letters[index % 26]}${letters[Math.floor(index / 26) % 26]}${letters[Math.floor(index / 676) % 26]}X`;
    return `${code}DEFFXXX`;
  });
}

function generateLegs(count: number): SettlementLeg[] {
  const next = xorshift(0x5eed);
  const banks = participants(participantCount);
  const providers = ['LQPRDEFFXXX', 'LQPRUS33XXX'];
  const currencies = ['EUR', 'USD', 'JPY'];
  const legs: SettlementLeg[] = [];
  while (legs.length < count) {
    const uetr = uuidFrom(next);
    const payer = banks[next() % banks.length]!;
    const payee = banks[next() % banks.length]!;
    const amount = String(1 + (next() % 1_000_000) * 1_000_000 + (next() % 1_000_000));
    if (next() % 3 === 0 && legs.length + 2 <= count) {
      const provider = providers[next() % providers.length]!;
      legs.push({ uetr, instructing_agent: payer, payer, payee: provider, currency: 'EUR', amount_minor: amount, debtor_country: 'DE', residency_exception: null });
      legs.push({ uetr, instructing_agent: payer, payer: provider, payee, currency: 'USD', amount_minor: String(1 + (next() % 1_000_000_000)), debtor_country: 'DE', residency_exception: null });
    } else {
      legs.push({ uetr, instructing_agent: payer, payer, payee, currency: currencies[next() % currencies.length]!, amount_minor: amount, debtor_country: 'DE', residency_exception: null });
    }
  }
  return JSON.parse(JSON.stringify(legs)) as SettlementLeg[];
}

const legs = generateLegs(legCount);
const timed = <T>(run: () => T): [number, T] => {
  const startedAt = performance.now();
  const value = run();
  return [performance.now() - startedAt, value];
};

const [coldMs, positions] = timed(() => netPositions(legs));
const warm = Array.from({ length: warmRuns }, () => timed(() => netPositions(legs))[0]);
const [sortMs] = timed(() => sortLegs(legs));
const warmMs = median(warm);
const legsPerSecond = legCount / (warmMs / 1_000);

console.log(`netting ${legCount.toLocaleString('en')} legs, ${participantCount} banks + 2 FX providers, 3 currencies → ${positions.length} positions`);
console.log(`  netPositions  cold ${round(coldMs)} ms   warm median ${round(warmMs)} ms (of ${warmRuns})   ${Math.round(legsPerSecond).toLocaleString('en')} legs/s   target ≤ ${targetMs} ms: ${coldMs <= targetMs ? 'met' : 'MISSED'}`);
console.log(`  sortLegs      ${round(sortMs)} ms (canonical leg order, once)`);

recordResult(new URL('results/netting.jsonl', import.meta.url).pathname, {
  bench: 'netting',
  legs: legCount,
  participants: participantCount + 2,
  positions: positions.length,
  figures: { net_positions_cold_ms: round(coldMs), net_positions_warm_median_ms: round(warmMs), net_positions_legs_per_s: Math.round(legsPerSecond), sort_legs_ms: round(sortMs) },
  target_ms: targetMs,
  target_met: coldMs <= targetMs,
});
