/**
 * Partner keys under two-person control: an operator proposes adding or revoking a key, a second
 * one approves, and the edge verifies against Control's partner directory. A new key works once the
 * edge's two-second directory cache turns over; a revoked key is refused by the very next request,
 * whatever any cache says. The dev partners' own keys are never revoked here (other suites sign
 * with them): each test adds keys of its own first.
 */
import { env, runInDurableObject, SELF } from 'cloudflare:test';
import { compactVerify, createLocalJWKSet, exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { signInstruction, type PartnerCredentials } from '../../packages/partner-sdk/src/partner-client.ts';
import type { PartnerProfile } from '../../core/partner-profile.ts';
import { PartnerDirectory } from '../../durable-objects/control/partner-directory.ts';
import { partnerDirectoryTtlMs } from '../../workers/message-signature/partner-directory.ts';
import { ana, ben, chidi, opsJson, proposeAndApprove } from './ops-support.ts';
import { alpha, clientFor, eurPayment, gatewayUrl } from './support.ts';
import { sleep } from './window-support.ts';

const dayMs = 24 * 60 * 60 * 1000;

interface NewKey {
  key: { keyid: string; alg: 'ed25519'; public_jwk: Record<string, unknown>; not_before: string; not_after: string };
  credentials: PartnerCredentials;
}

/** A fresh Ed25519 key for alpha-bank: the profile entry to propose, and the credentials that sign with it. */
async function newAlphaKey(): Promise<NewKey> {
  const { privateKey } = await generateKeyPair('Ed25519', { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const { d: _private, ...publicJwk } = privateJwk;
  const keyid = `alpha-bank-ops-${crypto.randomUUID().slice(0, 8)}`;
  const now = Date.now();
  return {
    key: { keyid, alg: 'ed25519', public_jwk: publicJwk, not_before: new Date(now - 60_000).toISOString(), not_after: new Date(now + 30 * dayMs).toISOString() },
    credentials: { partner_id: 'alpha-bank', keyid, private_jwk: privateJwk, pq: 'optional' },
  };
}

function addKey(key: NewKey['key'], partnerId = 'alpha-bank') {
  return { kind: 'partner-key', partner_id: partnerId, action: 'add', key, reason: 'rotation: the bank sent its next key' };
}

function revokeKey(keyid: string, partnerId = 'alpha-bank') {
  return { kind: 'partner-key', partner_id: partnerId, action: 'revoke', keyid, reason: 'the bank reports the key compromised' };
}

function control() {
  return env.CONTROL.get(env.CONTROL.idFromName('control'));
}

function partnerState(partnerId: string) {
  return env.PARTNER_STATE.get(env.PARTNER_STATE.idFromName(partnerId));
}

async function alphaKeyids(): Promise<string[]> {
  const directory = (await control().partnerDirectory()) as PartnerProfile[];
  return directory.find((profile) => profile.partner_id === 'alpha-bank')!.keys.map((listed) => listed.keyid);
}

function problem(answer: { status: number; body: Record<string, unknown> }) {
  return { status: answer.status, type: answer.body.type as string, detail: answer.body.detail as string };
}

describe('partner keys under two-person control', () => {
  it('a key ana proposes and ben approves signs payments once the directory cache turns over; ana alone cannot approve it', async () => {
    const { key, credentials } = await newAlphaKey();
    const proposed = await opsJson<{ id: string; status: string }>(ana, '/api/changes', { method: 'POST', json: addKey(key) });
    expect(proposed.status).toBe(201);
    expect(proposed.body).toMatchObject({ kind: 'partner-key', status: 'proposed' });

    const own = await opsJson<{ type: string }>(ana, `/api/changes/${proposed.body.id}/approve`, { method: 'POST' });
    expect(own.status).toBe(403);
    expect(own.body.type).toBe('urn:meridian:problem:four-eyes-required');
    await sleep(partnerDirectoryTtlMs + 100);
    const early = await clientFor(credentials).submitPayment(eurPayment('3.00'));
    expect(early.status, 'an unapproved key signs nothing').toBe(401);
    expect(early.body.type).toBe('urn:meridian:problem:unknown-partner');

    const approved = await opsJson(ben, `/api/changes/${proposed.body.id}/approve`, { method: 'POST' });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'applied', approved_by: ben, effect: { partner_id: 'alpha-bank', action: 'add', keyid: key.keyid, alg: 'ed25519' } });

    await sleep(partnerDirectoryTtlMs + 100);
    const instruction = eurPayment('3.10');
    const answer = await clientFor(credentials).submitPayment(instruction);
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    const jwks = (await (await SELF.fetch(`${gatewayUrl}/.well-known/jwks.json`)).json()) as { keys: [] };
    const { payload } = await compactVerify(answer.body.receipt as string, createLocalJWKSet(jwks));
    expect(JSON.parse(new TextDecoder().decode(payload))).toMatchObject({ uetr: instruction.uetr, partner_id: 'alpha-bank' });
    // The dev key keeps working beside it.
    expect((await clientFor(alpha).submitPayment(eurPayment('3.20'))).status).toBe(202);

    await proposeAndApprove(chidi, ana, revokeKey(key.keyid));
  });

  it('a key revoked by two operators is refused on the very next request, and so is an instruction it signed', async () => {
    const { key, credentials } = await newAlphaKey();
    await proposeAndApprove(ana, ben, addKey(key));
    await sleep(partnerDirectoryTtlMs + 100);
    // This isolate's directory now lists the key, and keeps listing it for up to two seconds.
    expect((await clientFor(credentials).submitPayment(eurPayment('4.00'))).status).toBe(202);
    const listedSinceMs = Date.now();

    const revoked = await proposeAndApprove(ana, ben, revokeKey(key.keyid));
    expect(revoked).toMatchObject({ status: 'applied', effect: { partner_id: 'alpha-bank', action: 'revoke', keyid: key.keyid } });

    const refused = await problem(await clientFor(credentials).submitPayment(eurPayment('4.10')));
    const answeredWithinCacheLifetime = Date.now() - listedSinceMs < partnerDirectoryTtlMs;
    expect(refused.status).toBe(401);
    expect(refused.type).toBe('urn:meridian:problem:unknown-partner');
    // Still inside the cache's lifetime, the edge found the key listed: PartnerState refused it.
    if (answeredWithinCacheLifetime) expect(refused.detail).toContain('revoked');

    // A valid message signature does not carry an instruction the revoked key signed.
    const smuggled = await problem(await clientFor(alpha).submitJws(await signInstruction(credentials, eurPayment('4.20'))));
    expect(smuggled).toMatchObject({ status: 401, type: 'urn:meridian:problem:bad-signature' });
    expect((await partnerState('alpha-bank').revokedKeys()).map((revocation) => revocation.keyid)).toContain(key.keyid);

    // Once the cache turned over the directory no longer lists it: the same answer.
    await sleep(partnerDirectoryTtlMs + 100);
    expect(await problem(await clientFor(credentials).submitPayment(eurPayment('4.30')))).toMatchObject({ status: 401, type: 'urn:meridian:problem:unknown-partner' });
    expect((await clientFor(alpha).submitPayment(eurPayment('4.40'))).status).toBe(202);
    expect(await alphaKeyids()).not.toContain(key.keyid);
  });

  it('PartnerState refuses a revoked keyid in the nonce claim itself, before writing any nonce', async () => {
    const keyid = `alpha-bank-gone-${crypto.randomUUID().slice(0, 8)}`;
    const state = partnerState('alpha-bank');
    const first = await state.revokeKey(keyid, Date.now() - 1_000);
    expect(await state.revokeKey(keyid, Date.now()), 'revoking again keeps the first revocation').toEqual(first);
    const claim = { keyid, nonce: `nonce-${crypto.randomUUID()}` };
    expect(await state.claimRequest({ claims: [claim], expiresAtMs: Date.now() + 60_000, profileKeyids: [] })).toMatchObject({ kind: 'revoked-key', keyid });
    expect(await state.claimNonces([claim], Date.now() + 60_000)).toBe(false);
    const other = { keyid: alpha.keyid, nonce: `nonce-${crypto.randomUUID()}` };
    expect(await state.claimRequest({ claims: [other], expiresAtMs: Date.now() + 60_000, profileKeyids: [alpha.keyid, keyid] })).toEqual({ kind: 'claimed', revokedProfileKeyids: [keyid] });
  });

  it('refuses invalid key changes with 422 invalid-change', async () => {
    const { key } = await newAlphaKey();
    const gone = await newAlphaKey();
    await proposeAndApprove(ana, ben, addKey(gone.key));
    await proposeAndApprove(ben, chidi, revokeKey(gone.key.keyid));
    const [bravoKeyid, deltaMlDsaKeyid] = ['banque-bravo-2026-11', 'delta-sg-2026-11-mldsa'];
    const invalid: Array<[string, Record<string, unknown>, RegExp]> = [
      ['an unknown partner', addKey(key, 'zulu-bank'), /no partner zulu-bank/],
      ['a keyid the partner already has', addKey({ ...key, keyid: alpha.keyid }), /already registered/],
      ['a keyid another partner has', addKey({ ...key, keyid: bravoKeyid }), /already registered to another partner/],
      ['the keyid of a revoked key', addKey({ ...key, keyid: gone.key.keyid }), /never reused/],
      ['an unknown algorithm', addKey({ ...key, alg: 'rsa' } as unknown as NewKey['key']), /key\.alg/],
      ['a key without not_after', addKey({ ...key, not_after: undefined } as unknown as NewKey['key']), /key\.not_after/],
      ['an x that is not 32 bytes', addKey({ ...key, public_jwk: { ...key.public_jwk, x: 'AAAA' } }), /key\.public_jwk\.x/],
      ['a private JWK', addKey({ ...key, public_jwk: { ...key.public_jwk, d: gone.credentials.private_jwk.d } }), /private member d/],
      ['an unknown key field', addKey({ ...key, use: 'sig' } as unknown as NewKey['key']), /key: unknown field/],
      ['an expired key', addKey({ ...key, not_before: '2020-01-01T00:00:00Z', not_after: '2021-01-01T00:00:00Z' }), /expired/],
      ['an inverted validity period', addKey({ ...key, not_before: key.not_after, not_after: key.not_before }), /not_before must lie before not_after/],
      ['revoking an unknown key', revokeKey('alpha-bank-no-such-key'), /has no key/],
      ['revoking another partner’s key', revokeKey(bravoKeyid), /has no key/],
      ['revoking a revoked key', revokeKey(gone.key.keyid), /already revoked/],
      ['revoking the partner’s last valid Ed25519 key', revokeKey(bravoKeyid, 'banque-bravo'), /last valid Ed25519 key/],
      ['revoking a hybrid partner’s last ML-DSA-65 key', revokeKey(deltaMlDsaKeyid, 'delta-sg'), /last valid ML-DSA-65 key/],
    ];
    const wronglyProposed: string[] = [];
    try {
      for (const [name, proposal, detail] of invalid) {
        const answer = await opsJson<{ id?: string; type?: string; detail?: string }>(ana, '/api/changes', { method: 'POST', json: proposal });
        if (answer.status === 201) wronglyProposed.push(answer.body.id!);
        expect(answer.status, name).toBe(422);
        expect(answer.body.type, name).toBe('urn:meridian:problem:invalid-change');
        expect(answer.body.detail, name).toMatch(detail);
      }
    } finally {
      // Never leave an approvable revocation of a dev key behind.
      for (const id of wronglyProposed) await opsJson(ben, `/api/changes/${id}/reject`, { method: 'POST' });
    }
    expect(await alphaKeyids()).not.toContain(key.keyid);
  });

  it('checks again at approval: of two proposals adding the same key, the second cannot be approved', async () => {
    const { key } = await newAlphaKey();
    const first = await opsJson<{ id: string }>(ana, '/api/changes', { method: 'POST', json: addKey(key) });
    const second = await opsJson<{ id: string }>(chidi, '/api/changes', { method: 'POST', json: addKey(key) });
    expect([first.status, second.status]).toEqual([201, 201]);
    expect((await opsJson(ben, `/api/changes/${first.body.id}/approve`, { method: 'POST' })).status).toBe(200);
    const late = await opsJson<{ type: string; detail: string }>(ben, `/api/changes/${second.body.id}/approve`, { method: 'POST' });
    expect(late.status).toBe(422);
    expect(late.body).toMatchObject({ type: 'urn:meridian:problem:invalid-change', detail: expect.stringContaining('already registered') });
    const { body } = await opsJson<{ changes: Array<{ id: string; status: string }> }>(ana, '/api/changes');
    expect(body.changes.find((change) => change.id === second.body.id)!.status).toBe('proposed');
    await opsJson(ana, `/api/changes/${second.body.id}/reject`, { method: 'POST' });
    await proposeAndApprove(ana, ben, revokeKey(key.keyid));
  });

  it('re-seeding from PARTNERS keeps what changes did: a revoked seed key stays revoked, an added key stays, static fields follow the seed', async () => {
    const added = await newAlphaKey();
    const seeded = await newAlphaKey();
    const seed = JSON.parse(env.PARTNERS) as PartnerProfile[];
    // A deployment whose seed lists one more alpha-bank key, then one that also renames the bank.
    const seedWith = (name?: string) => JSON.stringify(seed.map((profile) => (profile.partner_id === 'alpha-bank' ? { ...profile, ...(name === undefined ? {} : { name }), keys: [...profile.keys, seeded.key] } : profile)));
    const reseed = (source: string) => runInDurableObject(control(), (_instance, state) => new PartnerDirectory(state.storage, { ...env, PARTNERS: source }).profiles());
    try {
      await proposeAndApprove(ana, ben, addKey(added.key));
      const first = (await reseed(seedWith())).find((profile) => profile.partner_id === 'alpha-bank')!;
      expect(first.keys.map((listed) => listed.keyid)).toEqual(expect.arrayContaining([alpha.keyid, added.key.keyid, seeded.key.keyid]));
      await proposeAndApprove(ben, ana, revokeKey(seeded.key.keyid));

      const next = (await reseed(seedWith('Alpha Bank SE'))).find((profile) => profile.partner_id === 'alpha-bank')!;
      expect(next.name).toBe('Alpha Bank SE');
      expect(next.keys.map((listed) => listed.keyid)).toContain(added.key.keyid);
      expect(next.keys.map((listed) => listed.keyid), 'the seed still lists it, the change revoked it').not.toContain(seeded.key.keyid);
    } finally {
      // Back to the deployment's own seed, as the next start of Control would do.
      await reseed(env.PARTNERS);
    }
    const restored = ((await control().partnerDirectory()) as PartnerProfile[]).find((profile) => profile.partner_id === 'alpha-bank')!;
    expect(restored.name).toBe(seed.find((profile) => profile.partner_id === 'alpha-bank')!.name);
    expect(restored.keys.map((listed) => listed.keyid)).toContain(added.key.keyid);
    expect(restored.keys.map((listed) => listed.keyid)).not.toContain(seeded.key.keyid);
    await proposeAndApprove(ana, ben, revokeKey(added.key.keyid));
  });
});
