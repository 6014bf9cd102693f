/**
 * Window close → batch sealed, in-process, with the code the CorridorWindow runs at close:
 * each shard's part (core `buildNettingWindowPart`: legs and FX residue from the payments, as
 * intake-store.ts does when a part closes), then the coordinator's merge and seal (core
 * `sealNettingWindow`: canonical order, netting, RFC 8785 JSON, SHA-256, and the full
 * self-verification the regional backend will repeat). SQLite reads and writes are not counted.
 *
 *   node_modules/.bin/node bench/window-seal.ts [legs, default 10000] [shards, default 2] [runs, default 10]
 *
 * Payments are FX (two legs each, EUR → USD through a provider) so the residue path is
 * included. Appends one JSON line to bench/results/window-seal.jsonl.
 *
 * Since 2026-12 a seal serializes once, with the shape-specific RFC 8785 serializer
 * (core/canonical-settlement-json.ts); before, it ran the generic `canonicalize` twice (seal and
 * self-verification), about 45% of a seal. `figures.serializer` times both serializers side by
 * side on the sealed batch in the same run, so the before/after holds whatever the machine's load.
 */
import { canonicalJson } from '../core/canonical-json.ts';
import { canonicalSettlementBatchJson } from '../core/canonical-settlement-json.ts';
import { buildNettingWindowPart, sealNettingWindow, type NettingWindowPart } from '../core/netting-window.ts';
import type { SettlementBatch } from '../core/settlement-batch.ts';
import type { PaymentForLegs } from '../core/payment-legs.ts';
import { median, recordResult, round, uuidFrom, xorshift } from './machine.ts';

const legCount = Number(process.argv[2] ?? 10_000);
const shards = Number(process.argv[3] ?? 2);
const runs = Number(process.argv[4] ?? 10);
const corridor = { fx_provider: 'LQPRDEFFXXX', fx_rate_scaled: 108_420_123n, fx_rate_scale: 8 };
const banks = ['ALPHDEFFXXX', 'BRAVFRPPXXX', 'DEUTDEFFXXX', 'BNPAFRPPXXX', 'INGBNL2AXXX', 'COBADEFFXXX', 'SOGEFRPPXXX', 'UNCRITMMXXX'];

const next = xorshift(0xc105e);
const payments: PaymentForLegs[] = Array.from({ length: Math.ceil(legCount / 2) }, () => {
  const debtorAgent = banks[next() % banks.length]!;
  return {
    uetr: uuidFrom(next),
    instructing_agent: debtorAgent,
    amount_minor: BigInt(1 + (next() % 100_000_000)),
    source_currency: 'EUR',
    target_currency: 'USD',
    debtor_agent_bic: debtorAgent,
    creditor_agent_bic: banks[next() % banks.length]!,
    debtor_country: 'DE',
    residency_exception: null,
  };
});
const byShard: PaymentForLegs[][] = Array.from({ length: shards }, () => []);
payments.forEach((payment, index) => byShard[index % shards]!.push(payment));
const header = { corridor: 'EUR-USD', jurisdiction: 'eu', startMs: 1_795_000_000_000, endMs: 1_795_000_002_000, shards };

function closeWindow(): { partsMs: number; sealMs: number; bytes: number; digest: string; batch: SettlementBatch } {
  const startedAt = performance.now();
  const parts: NettingWindowPart[] = byShard.map((group, shard) => buildNettingWindowPart(shard, group, corridor));
  const partsDoneAt = performance.now();
  const { sealed } = sealNettingWindow(header, parts);
  const sealedAt = performance.now();
  return { partsMs: partsDoneAt - startedAt, sealMs: sealedAt - partsDoneAt, bytes: sealed.canonical.length, digest: sealed.digest, batch: sealed.batch };
}

const cold = closeWindow();
const warm = Array.from({ length: runs }, () => closeWindow());
if (warm.some((run) => run.digest !== cold.digest)) throw new Error('window-seal: the same payments sealed to different digests');
const warmTotals = warm.map((run) => run.partsMs + run.sealMs);

/** Both serializers on the same sealed batch, alternating so load drifts hit both alike. */
function serializerTimes(batch: SettlementBatch): { genericMs: number[]; shapeSpecificMs: number[] } {
  const genericMs: number[] = [];
  const shapeSpecificMs: number[] = [];
  for (let run = 0; run < runs; run++) {
    const genericStartedAt = performance.now();
    const generic = canonicalJson(batch);
    const shapeStartedAt = performance.now();
    const shapeSpecific = canonicalSettlementBatchJson(batch);
    const doneAt = performance.now();
    if (generic !== shapeSpecific) throw new Error('window-seal: the shape-specific serializer and canonicalize disagree');
    genericMs.push(shapeStartedAt - genericStartedAt);
    shapeSpecificMs.push(doneAt - shapeStartedAt);
  }
  return { genericMs, shapeSpecificMs };
}
const serializer = serializerTimes(cold.batch);
const serializerFigures = {
  generic_canonicalize_ms_median: round(median(serializer.genericMs)),
  shape_specific_ms_median: round(median(serializer.shapeSpecificMs)),
  speedup: round(median(serializer.genericMs) / median(serializer.shapeSpecificMs), 2),
};

console.log(`window close → batch sealed: ${payments.length * 2} legs (${payments.length} FX payments) over ${shards} shards, ${(cold.bytes / 1024).toFixed(0)} KiB canonical`);
console.log(`  cold   parts ${round(cold.partsMs)} ms + merge/seal ${round(cold.sealMs)} ms = ${round(cold.partsMs + cold.sealMs)} ms`);
console.log(`  warm   median ${round(median(warmTotals))} ms (parts ${round(median(warm.map((run) => run.partsMs)))} ms, merge/seal ${round(median(warm.map((run) => run.sealMs)))} ms) of ${runs}`);
console.log(
  `  RFC 8785 serializer on the sealed batch: canonicalize ${serializerFigures.generic_canonicalize_ms_median} ms, shape-specific ${serializerFigures.shape_specific_ms_median} ms (×${serializerFigures.speedup}; a seal now serializes once, it used to run canonicalize twice)`,
);

recordResult(new URL('results/window-seal.jsonl', import.meta.url).pathname, {
  bench: 'window-seal',
  legs: payments.length * 2,
  shards,
  canonical_bytes: cold.bytes,
  figures: {
    cold_total_ms: round(cold.partsMs + cold.sealMs),
    cold_parts_ms: round(cold.partsMs),
    cold_seal_ms: round(cold.sealMs),
    warm_median_total_ms: round(median(warmTotals)),
    warm_median_parts_ms: round(median(warm.map((run) => run.partsMs))),
    warm_median_seal_ms: round(median(warm.map((run) => run.sealMs))),
    serializer: serializerFigures,
  },
  runs,
});
