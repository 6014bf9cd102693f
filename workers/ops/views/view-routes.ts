/**
 * Read-only views of the ops console, all behind the Access gate that ops-routes.ts installs first:
 *
 *   GET /ops/api/windows          per corridor × jurisdiction: open windows, recent netting windows with gross, net, efficiency
 *   GET /ops/api/security-events  newest security events across partners, per-partner per-kind counts
 *   GET /ops/api/backends         regional backends in preference order with health, and the one in use
 *   GET /ops/api/keys             every backend's signing keys and the gateway's own public keys
 *   GET /ops/api/policy-decisions one partner's Cedar decision records by time range (policy-decisions-view.ts)
 *   GET /ops/api/instructions     instruction JWSs with receipts by acceptance time, for the evidence export (instructions-view.ts)
 *   GET /ops/api/holds            payments held by sanctions screening across partners, with their screening results (holds-view.ts)
 *   GET /ops/api/screening-results one partner's screening results, clear and held, by time range (screening-results-view.ts)
 *
 * Every view answers JSON; a regional backend or a Durable Object that does not answer is reported
 * `unreachable` with the error inside the view, never a 5xx.
 */
import type { Hono } from 'hono';
import type { OpsApp } from '../ops-routes.ts';
import { backendsView, keysView } from './backends-view.ts';
import { holdsView } from './holds-view.ts';
import { instructionsRoute } from './instructions-view.ts';
import { policyDecisionsRoute } from './policy-decisions-view.ts';
import { screeningResultsRoute } from './screening-results-view.ts';
import { securityEventsView } from './security-events-view.ts';
import { windowsView } from './windows-view.ts';

export function viewRoutes(ops: Hono<OpsApp>): void {
  ops.get('/api/windows', async (c) => c.json({ generated_at: new Date().toISOString(), ...(await windowsView(c.env)) }));
  ops.get('/api/security-events', async (c) => c.json({ generated_at: new Date().toISOString(), ...(await securityEventsView(c.env)) }));
  ops.get('/api/backends', async (c) => c.json({ generated_at: new Date().toISOString(), ...(await backendsView(c.env)) }));
  ops.get('/api/keys', async (c) => c.json({ generated_at: new Date().toISOString(), ...(await keysView(c.env)) }));
  ops.get('/api/policy-decisions', policyDecisionsRoute);
  ops.get('/api/instructions', instructionsRoute);
  ops.get('/api/holds', async (c) => c.json({ generated_at: new Date().toISOString(), ...(await holdsView(c.env)) }));
  ops.get('/api/screening-results', screeningResultsRoute);
}
