/**
 * GET /ops/api/windows: per corridor × jurisdiction, the windows open now and the most recent
 * netting windows with their figures (batch-figures.ts).
 *
 * Where it reads: Control's corridor directory; per corridor × jurisdiction, every shard's intake
 * (`describeIntake`, for the parts still open and the payments not yet at the coordinator) and the
 * coordinator's netting windows (`describeWindows`, shard 0); the sealed batch bytes
 * (`sealedBatch`) only for the windows shown, and only within the leg limits below, because one
 * batch may hold 200,000 legs (tens of MB) and a view must not cost what a settlement costs.
 * A window object that does not answer is reported `unreachable` for its corridor; the rest of the
 * view still answers.
 *
 * A `refused` window (the regional backends refused its batch for good and its payments were
 * rejected: durable-objects/corridor-window/deliver-batch.ts) carries `refusal`: the backend's slug
 * and reason, the first refusing backend's detail (which names the offending legs, so it is for
 * operators: partners see only the slug), the regions that refused, and when.
 */
import { corridorWindowName } from '../../../core/corridor-window-contract.ts';
import type { CorridorConfig } from '../../../core/corridor-config.ts';
import { coordinatorShard, nettingWindowBatchId } from '../../../core/netting-window.ts';
import type { SettlementBatch } from '../../../core/settlement-batch.ts';
import { controlObjectName } from '../../../durable-objects/control/control.ts';
import type { Env } from '../../env.ts';
import { batchFigures, type CurrencyFigures } from './batch-figures.ts';
import { errorText, mapBounded } from './bounded-work.ts';
import { durableObjectFor } from '../../../durable-objects/jurisdiction.ts';

/** Netting windows shown per corridor × jurisdiction, newest first. */
export const windowsShownPerCorridorMax = 20;
/** Older windows still in the outbox or refused, shown per corridor × jurisdiction after the newest. */
export const attentionShownPerCorridorMax = 20;
/** Newest windows (and intake parts per shard) read per corridor to count states: in-flight windows are the newest. */
export const windowsDescribedMax = 200;
/** A batch with more legs is shown without figures (`figures: "too-large"`). */
export const figuresLegsPerBatchMax = 20_000;
/** Legs whose bytes one view reads in total; windows past it are shown without figures (`figures: "budget-exhausted"`). */
export const figuresLegsPerViewMax = 100_000;
/** Corridor × jurisdiction pairs described at once (each asks up to 1 + shards objects). */
const corridorsConcurrencyMax = 4;
/** Shards of one corridor × jurisdiction asked at once. */
const shardsConcurrencyMax = 8;
/** Batches read at once. */
const batchReadsConcurrencyMax = 4;

type FiguresStatus = 'computed' | 'not-sealed' | 'too-large' | 'budget-exhausted' | 'unreadable';

export interface WindowView {
  batch_id: string;
  starts_at: string;
  ends_at: string;
  state: string;
  shards: number;
  parts_received: number;
  payment_count: number | null;
  leg_count: number | null;
  region: string | null;
  log_index: number | null;
  settled_at: string | null;
  delivery_attempts: number;
  last_error: string | null;
  refusal: WindowRefusalView | null;
  figures: FiguresStatus;
  figures_error?: string;
  /** Per currency: gross, net and netting efficiency (empty unless `figures` is `computed`). */
  currencies: CurrencyFigures[];
}

export interface WindowRefusalView {
  slug: string;
  reason: string | null;
  detail: string;
  regions: string[];
  refused_at: string;
  /** Whether every payment of the window has been marked rejected to its partner yet. */
  partners_notified: boolean;
}

export interface CorridorWindowsView {
  corridor: string;
  jurisdiction: string;
  corridor_state: string;
  shards: number;
  status: 'ok' | 'unreachable';
  error?: string;
  /** Slices with a part still open (taking payments) on some shard. */
  open_windows: number;
  /** Payments in those open parts. */
  open_payments: number;
  /** Coordinator windows still collecting parts. */
  collecting_windows: number;
  /** Coordinator windows by state (everything it still holds, within its retention). */
  windows_by_state: Record<string, number>;
  windows: WindowView[];
}

type WindowStub = ReturnType<Env['CORRIDOR_WINDOW']['get']>;
type NettingSummary = Awaited<ReturnType<WindowStub['describeWindows']>>[number];
type IntakeRow = Awaited<ReturnType<WindowStub['describeIntake']>>[number];

/** A shared allowance of legs whose batch bytes this view may still read. */
class LegsBudget {
  private remaining: number;
  constructor(legs: number) {
    this.remaining = legs;
  }
  take(legs: number): boolean {
    if (legs > this.remaining) return false;
    this.remaining -= legs;
    return true;
  }
}

function windowStub(env: Env, corridorId: string, jurisdiction: string, shard: number): WindowStub {
  return durableObjectFor(env, env.CORRIDOR_WINDOW, jurisdiction, corridorWindowName(corridorId, jurisdiction, shard));
}

export async function windowsView(env: Env): Promise<{ corridors: CorridorWindowsView[]; limits: Record<string, number> }> {
  const directory = await env.CONTROL.get(env.CONTROL.idFromName(controlObjectName)).corridorDirectory();
  const pairs = directory.corridors.flatMap((corridor) => corridor.jurisdictions.map((jurisdiction) => ({ corridor: corridor as CorridorConfig, jurisdiction })));
  const budget = new LegsBudget(figuresLegsPerViewMax);
  const corridors = await mapBounded(pairs, corridorsConcurrencyMax, ({ corridor, jurisdiction }) => corridorWindows(env, corridor, jurisdiction, budget));
  return {
    corridors,
    limits: { windows_shown_per_corridor_max: windowsShownPerCorridorMax, attention_shown_per_corridor_max: attentionShownPerCorridorMax, figures_legs_per_batch_max: figuresLegsPerBatchMax, figures_legs_per_view_max: figuresLegsPerViewMax },
  };
}

async function corridorWindows(env: Env, corridor: CorridorConfig, jurisdiction: string, budget: LegsBudget): Promise<CorridorWindowsView> {
  const base = { corridor: corridor.id, jurisdiction, corridor_state: corridor.state, shards: corridor.shards };
  let summaries: NettingSummary[];
  let intake: IntakeRow[];
  try {
    const shards = Array.from({ length: corridor.shards }, (_, shard) => shard);
    [summaries, intake] = await Promise.all([
      windowStub(env, corridor.id, jurisdiction, coordinatorShard).describeWindows(windowsDescribedMax),
      mapBounded(shards, shardsConcurrencyMax, (shard) => windowStub(env, corridor.id, jurisdiction, shard).describeIntake(windowsDescribedMax)).then((rows) => rows.flat()),
    ]);
  } catch (cause) {
    return { ...base, status: 'unreachable', error: errorText(cause), open_windows: 0, open_payments: 0, collecting_windows: 0, windows_by_state: {}, windows: [] };
  }
  const openRows = intake.filter((row) => row.state === 'open');
  const windowsByState: Record<string, number> = {};
  for (const summary of summaries) windowsByState[summary.state] = (windowsByState[summary.state] ?? 0) + 1;
  // The newest, then older ones still in the outbox or refused (describeWindows lists them too): they need an operator.
  const shown = [...summaries.slice(0, windowsShownPerCorridorMax), ...summaries.slice(windowsShownPerCorridorMax).filter((summary) => summary.state === 'sealed' || summary.state === 'refused').slice(0, attentionShownPerCorridorMax)];
  const windows = await mapBounded(shown, batchReadsConcurrencyMax, (summary) => windowView(env, corridor.id, jurisdiction, summary, intake, budget));
  return {
    ...base,
    status: 'ok',
    open_windows: new Set(openRows.map((row) => row.start_ms)).size,
    open_payments: openRows.reduce((sum, row) => sum + row.payment_count, 0),
    collecting_windows: windowsByState.collecting ?? 0,
    windows_by_state: windowsByState,
    windows,
  };
}

async function windowView(env: Env, corridorId: string, jurisdiction: string, summary: NettingSummary, intake: readonly IntakeRow[], budget: LegsBudget): Promise<WindowView> {
  // Before sealing the coordinator knows no legs yet; the shards know how many payments they took.
  const parts = intake.filter((row) => row.start_ms === summary.start_ms);
  const intakePayments = parts.length === 0 ? null : parts.reduce((sum, row) => sum + row.payment_count - row.rejected_count, 0);
  const view: WindowView = {
    batch_id: summary.batch_id ?? nettingWindowBatchId(corridorId, jurisdiction, summary.start_ms),
    starts_at: new Date(summary.start_ms).toISOString(),
    ends_at: new Date(summary.end_ms).toISOString(),
    state: summary.state,
    shards: summary.shards,
    parts_received: summary.parts_received,
    payment_count: intakePayments,
    leg_count: summary.leg_count,
    region: summary.region,
    log_index: summary.log_index,
    settled_at: summary.settled_at_ms === null ? null : new Date(summary.settled_at_ms).toISOString(),
    delivery_attempts: summary.attempts,
    last_error: summary.last_error === null ? null : summary.last_error.slice(0, 300),
    refusal: refusalView(summary),
    figures: 'not-sealed',
    currencies: [],
  };
  if (summary.state !== 'sealed' && summary.state !== 'settled' && summary.state !== 'refused') return view;
  const legCount = summary.leg_count ?? 0;
  if (legCount > figuresLegsPerBatchMax) return { ...view, figures: 'too-large' };
  if (!budget.take(legCount)) return { ...view, figures: 'budget-exhausted' };
  try {
    const canonical = await windowStub(env, corridorId, jurisdiction, coordinatorShard).sealedBatch(summary.start_ms);
    if (canonical === null) return { ...view, figures: 'unreadable', figures_error: 'the coordinator holds no batch bytes for a sealed window' };
    const figures = batchFigures(JSON.parse(canonical) as SettlementBatch);
    return { ...view, payment_count: figures.payment_count, leg_count: figures.leg_count, figures: 'computed', currencies: figures.currencies };
  } catch (cause) {
    return { ...view, figures: 'unreadable', figures_error: errorText(cause) };
  }
}

function refusalView(summary: NettingSummary): WindowRefusalView | null {
  if (summary.state !== 'refused' || summary.refusal_slug === null || summary.refused_at_ms === null) return null;
  return {
    slug: summary.refusal_slug,
    reason: summary.refusal_reason,
    detail: summary.refusal_detail ?? '',
    regions: summary.refused_by ?? [],
    refused_at: new Date(summary.refused_at_ms).toISOString(),
    partners_notified: summary.partners_notified === 1,
  };
}
