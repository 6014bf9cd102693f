/**
 * What the exporter gathers from the edge, through the ops API behind Access (an operator's
 * token in Cf-Access-Jwt-Assertion) and its public discovery:
 *   instruction        GET /ops/api/instructions?from=&to=&cursor=  each payment's partner JWS with
 *                      its acceptance receipt and batch (workers/ops/views/instructions-view.ts)
 *   partner-keys       the same view's partner_keys (public profiles: what verifies the JWSs)
 *   gateway-keys       GET /.well-known/jwks.json (verifies acceptance receipts)
 *   security-events    GET /ops/api/security-events
 *   ops-audit          GET /ops/api/audit (the hash chain)
 *   policy-decisions   GET /ops/api/policy-decisions?partner_id=&from=&to=&after_id= for every partner
 *                      (served ⇔ the route answers a query without partner_id with 400, not 404)
 *   screening-results  GET /ops/api/screening-results, else GET /ops/api/holds
 * Sections are feature-detected: an endpoint this gateway does not serve (404) is recorded in the
 * manifest as "not served by this gateway", one that fails otherwise as "unreachable" — a section
 * is never silently missing.
 */
import type { BundleItem, BundleSection, InstructionItem, ItemKind, PartnerKeysItem } from './bundle-format.ts';
import { ExportFailure, type HttpSource } from './http-source.ts';
import type { ExportProgress } from './regional-export.ts';

/** Pages of the instructions view one export reads at most (× the view's page size). */
export const instructionPagesMax = 10_000;
/**
 * Instructions are read from this long before the period: a payment accepted just before `from`
 * settles in a batch committed inside it, and every leg of a bundled batch needs its instruction.
 */
export const instructionLookbackMs = 60 * 60 * 1000;

export interface GatewayOptions {
  url: string;
  /** An Access JWT of an operator. */
  token: string;
}

interface SectionOutcome {
  section: BundleSection;
  items: BundleItem[];
}

type Fetched = { served: true; body: unknown } | { served: false; status: 'not served by this gateway' | 'unreachable'; detail: string };

async function fetchSection(source: HttpSource, gateway: GatewayOptions, path: string): Promise<Fetched> {
  let answer;
  try {
    answer = await source.get(gateway.url, path, { 'cf-access-jwt-assertion': gateway.token });
  } catch (error) {
    return { served: false, status: 'unreachable', detail: (error as Error).message };
  }
  if (answer.status === 404) return { served: false, status: 'not served by this gateway', detail: `GET ${path}: 404` };
  if (answer.status !== 200) return { served: false, status: 'unreachable', detail: `GET ${path}: HTTP ${answer.status} ${answer.text.slice(0, 200)}` };
  try {
    return { served: true, body: JSON.parse(answer.text) as unknown };
  } catch {
    return { served: false, status: 'unreachable', detail: `GET ${path}: not JSON` };
  }
}

async function singleSection(source: HttpSource, gateway: GatewayOptions, name: ItemKind, paths: readonly string[]): Promise<SectionOutcome> {
  let last: Fetched | undefined;
  for (const path of paths) {
    last = await fetchSection(source, gateway, path);
    if (last.served) return { section: { name, status: 'included', detail: `GET ${path}` }, items: [{ id: name, kind: name, body: last.body }] };
    if (last.status === 'unreachable') break;
  }
  const failed = last as Exclude<Fetched, { served: true }>;
  return { section: { name, status: failed.status, detail: failed.detail }, items: [] };
}

/** Per partner, every page of its policy decision records in the period. */
async function policyDecisionSection(source: HttpSource, gateway: GatewayOptions, period: { from: string; to: string }, partnerIds: readonly string[]): Promise<SectionOutcome> {
  let probe;
  try {
    probe = await source.get(gateway.url, 'ops/api/policy-decisions', { 'cf-access-jwt-assertion': gateway.token });
  } catch (error) {
    return { section: { name: 'policy-decisions', status: 'unreachable', detail: (error as Error).message }, items: [] };
  }
  // Served, the route refuses a query without partner_id (400); a gateway without it answers 404.
  if (probe.status === 404) return { section: { name: 'policy-decisions', status: 'not served by this gateway', detail: 'GET /ops/api/policy-decisions: 404' }, items: [] };
  if (probe.status !== 400) return { section: { name: 'policy-decisions', status: 'unreachable', detail: `GET /ops/api/policy-decisions: HTTP ${probe.status}` }, items: [] };
  const items: BundleItem[] = [];
  for (const partnerId of partnerIds) {
    const decisions: unknown[] = [];
    let afterId: number | null = 0;
    for (let page = 0; page < instructionPagesMax && afterId !== null; page++) {
      const fetched = await fetchSection(source, gateway, `ops/api/policy-decisions?partner_id=${encodeURIComponent(partnerId)}&from=${encodeURIComponent(period.from)}&to=${encodeURIComponent(period.to)}&after_id=${afterId}`);
      if (!fetched.served) return { section: { name: 'policy-decisions', status: 'unreachable', detail: `${partnerId}: ${fetched.detail}` }, items: [] };
      const body = fetched.body as { decisions?: unknown[]; next_after_id?: number | null };
      decisions.push(...(body.decisions ?? []));
      afterId = body.next_after_id ?? null;
    }
    items.push({ id: `policy-decisions/${partnerId}`, kind: 'policy-decisions', body: { partner_id: partnerId, decisions } });
  }
  return { section: { name: 'policy-decisions', status: 'included' }, items };
}

async function instructionSections(source: HttpSource, gateway: GatewayOptions, period: { from: string; to: string }, progress: ExportProgress): Promise<SectionOutcome[]> {
  const items: BundleItem[] = [];
  let partnerKeys: PartnerKeysItem | undefined;
  let cursor: string | undefined;
  for (let page = 0; page < instructionPagesMax; page++) {
    const since = new Date(Date.parse(period.from) - instructionLookbackMs).toISOString();
    const path = `ops/api/instructions?from=${encodeURIComponent(since)}&to=${encodeURIComponent(period.to)}${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
    const fetched = await fetchSection(source, gateway, path);
    if (!fetched.served) {
      const section = { status: fetched.status, detail: fetched.detail };
      return [{ section: { name: 'instruction', ...section }, items: [] }, { section: { name: 'partner-keys', ...section }, items: [] }];
    }
    const body = fetched.body as { instructions?: InstructionItem[]; partner_keys?: PartnerKeysItem['partners']; next_cursor?: string | null };
    if (!Array.isArray(body.instructions)) throw new ExportFailure('GET /ops/api/instructions: no instructions array');
    partnerKeys ??= { partners: body.partner_keys ?? [] };
    for (const instruction of body.instructions) items.push({ id: `instruction/${instruction.partner_id}/${instruction.uetr}`, kind: 'instruction', body: instruction });
    if (items.length > 0 && page % 10 === 9) progress(`gateway: ${items.length} instructions`);
    if (body.next_cursor === undefined || body.next_cursor === null) break;
    cursor = body.next_cursor;
  }
  progress(`gateway: ${items.length} instructions in the period`);
  return [
    { section: { name: 'instruction', status: 'included' }, items },
    { section: { name: 'partner-keys', status: 'included' }, items: [{ id: 'partner-keys', kind: 'partner-keys', body: partnerKeys ?? { partners: [] } }] },
  ];
}

export async function exportGateway(source: HttpSource, gateway: GatewayOptions | undefined, period: { from: string; to: string }, progress: ExportProgress): Promise<SectionOutcome[]> {
  const names: ItemKind[] = ['instruction', 'partner-keys', 'gateway-keys', 'security-events', 'ops-audit', 'policy-decisions', 'screening-results'];
  if (gateway === undefined) return names.map((name) => ({ section: { name, status: 'not requested', detail: 'no --gateway given' }, items: [] }));
  const outcomes = await instructionSections(source, gateway, period, progress);
  const jwks = await fetchSection(source, { ...gateway, token: '' }, '.well-known/jwks.json');
  outcomes.push(jwks.served ? { section: { name: 'gateway-keys', status: 'included' }, items: [{ id: 'gateway-keys', kind: 'gateway-keys', body: jwks.body }] } : { section: { name: 'gateway-keys', status: jwks.status, detail: jwks.detail }, items: [] });
  outcomes.push(await singleSection(source, gateway, 'security-events', ['ops/api/security-events']));
  outcomes.push(await singleSection(source, gateway, 'ops-audit', ['ops/api/audit']));
  const partnerIds = ((outcomes.find((outcome) => outcome.section.name === 'partner-keys')?.items[0]?.body as PartnerKeysItem | undefined)?.partners ?? []).map((partner) => partner.partner_id);
  outcomes.push(await policyDecisionSection(source, gateway, period, partnerIds));
  outcomes.push(await singleSection(source, gateway, 'screening-results', ['ops/api/screening-results', 'ops/api/holds']));
  for (const outcome of outcomes) progress(`gateway: ${outcome.section.name}: ${outcome.section.status}`);
  return outcomes;
}
