/**
 * infra/observability/: the Prometheus alert rules and the Grafana dashboard name only metrics the
 * code serves, every rule is complete (expr, for, severity, summary, runbook_url), and every
 * runbook link lands on a heading of infra/RUNBOOK.md. Metric names come from the code itself: a
 * regional registry built by createRegionalMetrics, and the edge's exported edgeMetricNames.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createRegionalMetrics } from '../../regional/metrics.ts';
import { edgeMetricNames } from '../../workers/observability/edge-metric-names.ts';

interface AlertRule {
  alert?: unknown;
  expr?: unknown;
  for?: unknown;
  labels?: { severity?: unknown };
  annotations?: { summary?: unknown; runbook_url?: unknown };
}

const rulesFile = new URL('../../infra/observability/alert-rules.yaml', import.meta.url);
const dashboardFile = new URL('../../infra/observability/grafana-dashboard.json', import.meta.url);
const runbookFile = new URL('../../infra/RUNBOOK.md', import.meta.url);

/** Series Prometheus itself provides for every target. */
const prometheusBuiltins = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);
/** PromQL words that look like identifiers: functions, aggregations, keywords, and the `le` label. */
const promqlWords = new Set([
  'sum', 'min', 'max', 'avg', 'count', 'stddev', 'topk', 'bottomk', 'quantile', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right',
  'and', 'or', 'unless', 'bool', 'offset', 'rate', 'irate', 'increase', 'delta', 'idelta', 'deriv', 'histogram_quantile', 'abs', 'clamp_min',
  'clamp_max', 'absent', 'changes', 'resets', 'time', 'vector', 'scalar', 'label_replace', 'max_over_time', 'min_over_time', 'avg_over_time',
]);

/** Every metric name an expression selects: identifiers that are not PromQL words, labels, label values, durations or template text. */
function metricNamesIn(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\{[^}]*\}/g, '{}').replace(/\[[^\]]*\]/g, '[]');
  const withoutGrouping = withoutStrings.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '$1()');
  return [...withoutGrouping.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)].map((match) => match[0]).filter((word) => !promqlWords.has(word) && !/^\d/.test(word));
}

/** Names a registry serves, with the series a histogram and a summary expose. */
async function regionalMetricNames(): Promise<Set<string>> {
  const metrics = createRegionalMetrics({ region: 'eu-1', jurisdiction: 'eu', logTreeSize: async () => 0 });
  const names = new Set<string>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
    if (String(metric.type) === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${metric.name}${suffix}`);
  }
  return names;
}

/** GitHub's heading anchors: lowercase, punctuation dropped, spaces to hyphens. */
function runbookAnchors(): Set<string> {
  const anchors = new Set<string>();
  for (const line of readFileSync(runbookFile, 'utf8').split('\n')) {
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading !== null) anchors.add(heading[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N}\s-]/gu, '').replace(/\s/g, '-'));
  }
  return anchors;
}

function rules(): AlertRule[] {
  const document = parse(readFileSync(rulesFile, 'utf8')) as { groups?: Array<{ name?: unknown; rules?: AlertRule[] }> };
  expect(Array.isArray(document.groups) && document.groups.length > 0).toBe(true);
  return document.groups!.flatMap((group) => {
    expect(typeof group.name).toBe('string');
    return group.rules ?? [];
  });
}

function dashboardQueries(): string[] {
  const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as { title?: unknown; uid?: unknown; panels?: Array<{ title?: unknown; targets?: Array<{ expr?: unknown }> }> };
  expect(typeof dashboard.title).toBe('string');
  expect(typeof dashboard.uid).toBe('string');
  return (dashboard.panels ?? []).flatMap((panel) => {
    expect(typeof panel.title).toBe('string');
    expect(panel.targets?.length ?? 0, String(panel.title)).toBeGreaterThan(0);
    return (panel.targets ?? []).map((target) => String(target.expr));
  });
}

describe('infra/observability', () => {
  it('every alert rule has expr, for, a severity, a summary and a runbook link to an existing RUNBOOK heading', () => {
    const anchors = runbookAnchors();
    const all = rules();
    expect(all.length).toBeGreaterThanOrEqual(10);
    const names = new Set<string>();
    for (const rule of all) {
      const name = String(rule.alert);
      expect(typeof rule.alert, name).toBe('string');
      expect(names.has(name), `duplicate alert ${name}`).toBe(false);
      names.add(name);
      expect(typeof rule.expr === 'string' && rule.expr.length > 0, name).toBe(true);
      expect(String(rule.for), name).toMatch(/^\d+[smh]$/);
      expect(['critical', 'warning', 'info'], name).toContain(rule.labels?.severity);
      expect(typeof rule.annotations?.summary === 'string' && rule.annotations.summary.length > 0, name).toBe(true);
      const runbook = /^infra\/RUNBOOK\.md#([a-z0-9-]+)$/.exec(String(rule.annotations?.runbook_url));
      expect(runbook, `${name}: runbook_url ${String(rule.annotations?.runbook_url)}`).not.toBeNull();
      expect(anchors.has(runbook![1]!), `${name}: no RUNBOOK heading #${runbook![1]}`).toBe(true);
    }
  });

  it('every metric in a rule or a dashboard query is one the code serves', async () => {
    const served = new Set([...(await regionalMetricNames()), ...edgeMetricNames, ...prometheusBuiltins]);
    const expressions = [...rules().map((rule) => String(rule.expr)), ...dashboardQueries()];
    const used = new Set<string>();
    for (const expr of expressions) {
      const names = metricNamesIn(expr);
      expect(names.length, `no metric in ${expr}`).toBeGreaterThan(0);
      for (const name of names) {
        expect(served.has(name), `${name} (in ${expr}) is not served`).toBe(true);
        used.add(name);
      }
    }
    // The panels and rules cover what the contract asks for.
    for (const required of [
      'meridian_settlement_commit_seconds_bucket', 'meridian_settlement_commit_retries_total', 'meridian_signer_sign_seconds_bucket', 'meridian_log_tree_size',
      'meridian_auditor_reads_refused_total', 'meridian_edge_payments_admitted_total', 'meridian_edge_payments_refused_total', 'meridian_edge_downgrade_events_total',
      'meridian_edge_window_open_payments', 'meridian_edge_outbox_depth',
    ]) {
      expect(used.has(required), required).toBe(true);
    }
  });

  it('the metric-name check can fail: a misspelt name and a grouping label are told apart', () => {
    expect(metricNamesIn('sum by (region, sqlstate) (rate(meridian_settlement_commit_retrys_total{reason="x"}[5m])) > 1')).toEqual(['meridian_settlement_commit_retrys_total']);
    expect(metricNamesIn('histogram_quantile(0.99, sum by (le) (rate(a_bucket[5m]))) and on (region) b')).toEqual(['a_bucket', 'b']);
  });
});
