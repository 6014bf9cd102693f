/**
 * One partner's PartnerState over several objects (durable-objects/partner-state/partner-shards.ts),
 * through SELF.fetch with signed requests: each payment lives in exactly the shard its UETR names;
 * the same UETR from many concurrent requests is admitted once; a byte-for-byte replay, or one
 * nonce on another payment, is refused whichever shards the payments live in; the ops views list across shards; partner-level pushes
 * (residency exceptions) reach every shard.
 */
import { env, runInDurableObject, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { signedRequest, signInstruction } from '../../packages/partner-sdk/src/partner-client.ts';
import { buildInstruction } from '../../packages/partner-sdk/src/instruction-builder.ts';
import { allPartnerStateShards, nonceShardOf, partnerStateShard, partnerStateShardOf, partnerStateShards } from '../../durable-objects/partner-state/partner-shards.ts';
import { ana, ben, chidi, opsJson, proposeAndApprove } from './ops-support.ts';
import { alpha, bravo, client, expectProblem } from './partner-trust-support.ts';
import { gatewayUrl } from './support.ts';

const paymentsUrl = `${gatewayUrl}/v1/payments`;

/** A nonce of alpha's key that is claimed in `shard` of its PartnerState. */
function nonceInShard(shard: number): string {
  for (;;) {
    const nonce = `shard-nonce-${crypto.randomUUID()}`;
    if (nonceShardOf({ keyid: alpha.keyid, nonce }) === shard) return nonce;
  }
}

/** A UETR whose payment lives in `shard` of the partner's PartnerState. */
function uetrInShard(shard: number): string {
  for (;;) {
    const uetr = crypto.randomUUID();
    if (partnerStateShardOf(uetr) === shard) return uetr;
  }
}

function eurPayment(uetr: string, overrides: { debtorName?: string; debtorCountry?: string; amount?: string } = {}) {
  const instruction = buildInstruction({
    debtorBic: alpha.bic, debtorCountry: overrides.debtorCountry ?? 'DE', creditorBic: bravo.bic, creditorCountry: 'FR', amount: overrides.amount ?? '21.50', currency: 'EUR', targetCurrency: 'EUR', uetr,
  });
  return overrides.debtorName === undefined ? instruction : { ...instruction, debtor: { ...instruction.debtor, name: overrides.debtorName } };
}

/** The shards whose storage holds a payment row for `uetr`. */
async function shardsHolding(uetr: string): Promise<number[]> {
  const holding: number[] = [];
  for (const { shard, stub } of allPartnerStateShards(env, 'eu', 'alpha-bank')) {
    const count = await runInDurableObject(stub, (_instance, state) => state.storage.sql.exec<{ count: number }>(`SELECT count(*) AS count FROM payments WHERE uetr = ?`, uetr).one().count);
    if (count > 0) holding.push(shard);
  }
  return holding;
}

describe('a partner over several PartnerState objects', () => {
  it('has more than one shard by default, and keeps each payment in exactly the shard its UETR names', async () => {
    expect(partnerStateShards).toBeGreaterThan(1);
    const uetrs = Array.from({ length: partnerStateShards }, (_, shard) => uetrInShard(shard));
    const answers = await Promise.all(uetrs.map((uetr) => client(alpha).submitPayment(eurPayment(uetr))));
    for (const answer of answers) expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    for (const [shard, uetr] of uetrs.entries()) {
      expect(await shardsHolding(uetr)).toEqual([shard]);
      const status = await client(alpha).paymentStatus(uetr);
      expect(status.status).toBe(200);
      expect(status.body).toMatchObject({ uetr, status: expect.stringMatching(/^(accepted|settled)$/) });
    }
  });

  it('admits the same UETR submitted by many concurrent requests once, in one shard', async () => {
    const uetr = uetrInShard(partnerStateShards - 1);
    const jws = await signInstruction(alpha, eurPayment(uetr, { amount: '33.10' }));
    const requests = await Promise.all(Array.from({ length: 12 }, () => signedRequest(alpha, { method: 'POST', url: paymentsUrl, body: jws })));
    const responses = await Promise.all(requests.map((request) => SELF.fetch(request)));
    const bodies = await Promise.all(responses.map(async (response) => ({ status: response.status, body: (await response.json()) as Record<string, unknown> })));
    expect(bodies.map((answer) => answer.status)).toEqual(Array(12).fill(202));
    expect(new Set(bodies.map((answer) => answer.body.receipt)).size).toBe(1);
    expect(await shardsHolding(uetr)).toEqual([partnerStateShards - 1]);
    const placed = await runInDurableObject(partnerStateShard(env, 'eu', 'alpha-bank', partnerStateShards - 1), (_instance, state) =>
      state.storage.sql.exec<{ count: number }>(`SELECT count(*) AS count FROM policy_decisions WHERE uetr = ?`, uetr).one().count);
    expect(placed).toBe(1);
  });

  it('refuses a byte-for-byte replay whichever shard the payment lives in, and a replayed status read and undecodable body too', async () => {
    for (let shard = 0; shard < partnerStateShards; shard++) {
      const original = await signedRequest(alpha, { method: 'POST', url: paymentsUrl, body: await signInstruction(alpha, eurPayment(uetrInShard(shard))) });
      const body = await original.clone().text();
      expect((await SELF.fetch(original)).status).toBe(202);
      await expectProblem(await SELF.fetch(new Request(original.url, { method: 'POST', headers: original.headers, body })), 'replayed-nonce');
    }
    const uetr = uetrInShard(1);
    expect((await client(alpha).submitPayment(eurPayment(uetr))).status).toBe(202);
    const read = await signedRequest(alpha, { method: 'GET', url: `${paymentsUrl}/${uetr}` });
    expect((await SELF.fetch(read.clone())).status).toBe(200);
    await expectProblem(await SELF.fetch(read), 'replayed-nonce');
    // A request that names no payment (an instruction that does not open, a malformed UETR): its
    // nonce is claimed all the same, in whichever shard the nonce falls, and its replay is refused.
    for (let shard = 0; shard < partnerStateShards; shard++) {
      const garbage = await signedRequest(alpha, { method: 'POST', url: paymentsUrl, body: 'not.a.jws', nonce: nonceInShard(shard) });
      const garbageBody = await garbage.clone().text();
      await expectProblem(await SELF.fetch(garbage), 'invalid-instruction');
      await expectProblem(await SELF.fetch(new Request(garbage.url, { method: 'POST', headers: garbage.headers, body: garbageBody })), 'replayed-nonce');
      const badRead = await signedRequest(alpha, { method: 'GET', url: `${paymentsUrl}/not-a-uetr`, nonce: nonceInShard(shard) });
      await expectProblem(await SELF.fetch(badRead.clone()), 'not-found');
      await expectProblem(await SELF.fetch(badRead), 'replayed-nonce');
    }
  });

  it('refuses one nonce on a second, different payment, whichever shards the two payments live in', async () => {
    for (const [first, second] of [[0, 1], [partnerStateShards - 1, 0]] as const) {
      const nonce = `shard-nonce-${crypto.randomUUID()}`;
      const used = await signedRequest(alpha, { method: 'POST', url: paymentsUrl, body: await signInstruction(alpha, eurPayment(uetrInShard(first))), nonce });
      expect((await SELF.fetch(used)).status).toBe(202);
      const again = await signedRequest(alpha, { method: 'POST', url: paymentsUrl, body: await signInstruction(alpha, eurPayment(uetrInShard(second))), nonce });
      await expectProblem(await SELF.fetch(again), 'replayed-nonce');
    }
  });

  it('lists holds, screening results, policy decisions and instructions across every shard', async () => {
    const fromMs = Date.now() - 1_000;
    const held = Array.from({ length: partnerStateShards }, (_, shard) => uetrInShard(shard));
    for (const uetr of held) {
      const answer = await client(alpha).submitPayment(eurPayment(uetr, { debtorName: 'Usama bin Laden' }));
      expect(answer.body).toMatchObject({ uetr, status: 'held' });
    }
    const holds = await opsJson<{ holds: Array<{ uetr: string; partner_id: string }> }>(chidi, '/api/holds');
    expect(holds.status).toBe(200);
    expect(holds.body.holds.filter((hold) => held.includes(hold.uetr)).map((hold) => hold.uetr).sort()).toEqual([...held].sort());

    const from = new Date(fromMs).toISOString();
    for (const [path, field] of [['/api/screening-results', 'results'], ['/api/policy-decisions', 'decisions']] as const) {
      const seen: string[] = [];
      const ids = new Set<number>();
      let afterId = 0;
      for (let pages = 0; pages < 100; pages++) {
        const page = await opsJson<Record<string, unknown>>(ana, `${path}?partner_id=alpha-bank&from=${from}&limit=2&after_id=${afterId}`);
        expect(page.status, JSON.stringify(page.body)).toBe(200);
        const records = page.body[field] as Array<{ id: number; uetr: string }>;
        for (const record of records) {
          expect(ids.has(record.id), `${path} id ${record.id} twice`).toBe(false);
          ids.add(record.id);
          seen.push(record.uetr);
        }
        if (page.body.next_after_id === null) break;
        afterId = page.body.next_after_id as number;
      }
      expect(held.filter((uetr) => !seen.includes(uetr)), path).toEqual([]);
    }

    const instructions: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 100; pages++) {
      const query: string = `/api/instructions?from=${from}&to=${new Date(Date.now() + 60_000).toISOString()}${cursor === null ? '' : `&cursor=${cursor}`}`;
      const page = await opsJson<{ instructions: Array<{ uetr: string }>; next_cursor: string | null }>(ben, query);
      expect(page.status).toBe(200);
      instructions.push(...page.body.instructions.map((row) => row.uetr));
      cursor = page.body.next_cursor;
      if (cursor === null) break;
    }
    expect(held.filter((uetr) => !instructions.includes(uetr))).toEqual([]);
  });

  it('pushes a residency exception to every shard, so a payment in any shard is admitted under it', async () => {
    const applied = await proposeAndApprove(ana, ben, {
      kind: 'residency-exception', partner_id: 'alpha-bank', debtor_country: 'UY', owner: 'Compliance: partner-shards test',
      reason: 'Uruguayan debtors of the Montevideo branch (test)', expires_at: new Date(Date.now() + 60 * 60_000).toISOString(),
    });
    for (const { shard, stub } of allPartnerStateShards(env, 'eu', 'alpha-bank')) {
      expect((await stub.listResidencyExceptions()).map((entry) => entry.change_id), `shard ${shard}`).toContain(applied.id);
    }
    for (let shard = 0; shard < partnerStateShards; shard++) {
      const uetr = uetrInShard(shard);
      const answer = await client(alpha).submitPayment(eurPayment(uetr, { debtorCountry: 'UY' }));
      expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    }
  });
});
