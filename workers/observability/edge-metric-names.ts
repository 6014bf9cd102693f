/**
 * Every metric GET /ops/api/metrics serves, with its type and help (edge-metrics-exposition.ts
 * renders them in this order). No runtime-specific imports (core/ only), so Node code checks alert
 * rules against `edgeMetricNames` (test/infra/observability.test.ts).
 */
import { settlementRefusalsMetric } from '../../core/netting-window.ts';

export const paymentsAdmittedMetric = 'meridian_edge_payments_admitted_total';
export const paymentsRefusedMetric = 'meridian_edge_payments_refused_total';
export const downgradeEventsMetric = 'meridian_edge_downgrade_events_total';
/** Counted by the CorridorWindow (durable-objects/ may not import workers/, so the name lives in core). */
export { settlementRefusalsMetric };

export type MetricType = 'counter' | 'gauge';
export const metricDefinitions: ReadonlyArray<{ name: string; type: MetricType; help: string }> = [
  { name: paymentsAdmittedMetric, type: 'counter', help: 'New payment admissions at the edge, by status (accepted, held).' },
  { name: paymentsRefusedMetric, type: 'counter', help: 'POST /v1/payments answered with a problem, by problem slug.' },
  { name: downgradeEventsMetric, type: 'counter', help: 'Downgrade refusals (downgrade-detected, pq-required), by slug and route.' },
  { name: settlementRefusalsMetric, type: 'counter', help: 'Netting windows whose batch the regional backends refused for good (their payments rejected), by jurisdiction and slug.' },
  { name: 'meridian_edge_window_open_payments', type: 'gauge', help: 'Payments in netting window parts still open, per corridor and jurisdiction.' },
  { name: 'meridian_edge_window_last_legs', type: 'gauge', help: 'Legs of the newest sealed or settled netting window, per corridor and jurisdiction.' },
  { name: 'meridian_edge_outbox_depth', type: 'gauge', help: 'Sealed settlement batches not yet settled, per corridor and jurisdiction.' },
  { name: 'meridian_edge_outbox_oldest_seconds', type: 'gauge', help: 'Seconds since the oldest unsettled sealed batch was due, per corridor and jurisdiction.' },
  { name: 'meridian_edge_scrape_errors', type: 'gauge', help: 'Objects that did not answer this scrape, by source.' },
];

/** Every metric name GET /ops/api/metrics can serve (infra/observability's rules are checked against it). */
export const edgeMetricNames: readonly string[] = metricDefinitions.map((definition) => definition.name);
