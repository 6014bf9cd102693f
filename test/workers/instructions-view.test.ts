/**
 * GET /ops/api/instructions (workers/ops/views/instructions-view.ts), the evidence export's read
 * of the partners' instruction JWSs: a payment submitted through the real pipeline shows up with
 * the exact JWS it was signed as, its SHA-256, the acceptance receipt, and its batch once
 * settled; pages continue through `next_cursor`; bad queries are problems; Access is required.
 */
import { describe, expect, it } from 'vitest';
import { sha256Hex, utf8 } from '../../core/digest.ts';
import { clientFor as partnerClientFor } from './support.ts';
import { ana, opsJson } from './ops-support.ts';
import { alpha, eurPayment } from './support.ts';
import { waitForStatus } from './window-support.ts';

interface InstructionsPage {
  instructions: Array<{ partner_id: string; uetr: string; jws: string; instruction_sha256: string; status: string; batch_id: string | null; receipt: string | null }>;
  partner_keys: Array<{ partner_id: string; keys: Array<{ keyid: string }> }>;
  next_cursor: string | null;
}

async function allInstructions(from: string, to: string): Promise<InstructionsPage['instructions']> {
  const rows: InstructionsPage['instructions'] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 100; page++) {
    const answer: { status: number; body: InstructionsPage } = await opsJson<InstructionsPage>(ana, `/api/instructions?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
    expect(answer.status).toBe(200);
    expect(answer.body.partner_keys.find((partner) => partner.partner_id === alpha.partner_id)?.keys.map((key) => key.keyid)).toContain(alpha.keyid);
    rows.push(...answer.body.instructions);
    cursor = answer.body.next_cursor;
    if (cursor === null) return rows;
  }
  throw new Error('more than 100 pages');
}

describe('GET /ops/api/instructions', () => {
  it('lists a submitted payment with its exact JWS, receipt and, once settled, its batch', async () => {
    const from = new Date(Date.now() - 1_000).toISOString();
    const instruction = eurPayment('7.25');
    const submitted = await partnerClientFor(alpha).submitPayment(instruction);
    expect(submitted.status).toBe(202);
    const settled = await waitForStatus(alpha, instruction.uetr, 'settled');
    const rows = await allInstructions(from, new Date(Date.now() + 1_000).toISOString());
    const row = rows.find((candidate) => candidate.uetr === instruction.uetr);
    expect(row).toMatchObject({ partner_id: alpha.partner_id, status: 'settled', batch_id: settled.batch_id, receipt: (submitted.body as { receipt: string }).receipt });
    expect(sha256Hex(utf8(row!.jws))).toBe(row!.instruction_sha256);
    expect(JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(row!.jws.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)))).uetr).toBe(instruction.uetr);
    // Outside the period: not listed.
    expect((await allInstructions(new Date(Date.now() + 60_000).toISOString(), new Date(Date.now() + 120_000).toISOString())).some((candidate) => candidate.uetr === instruction.uetr)).toBe(false);
  });

  it('answers 400 naming the parameter, and 401 without Access', async () => {
    for (const query of ['', '?from=yesterday&to=2026-01-01T00:00:00Z', '?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', '?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&cursor=%21%21']) {
      const answer = await opsJson<{ type: string; parameter: string }>(ana, `/api/instructions${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.body.type).toBe('urn:meridian:problem:invalid-request');
    }
    expect((await opsJson(null, '/api/instructions?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z')).status).toBe(401);
  });
});
