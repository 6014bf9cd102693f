/**
 * Witnessed checkpoints (regional/witness/, c2sp.org/tlog-witness + tlog-cosignature): a log
 * backend collects cosignatures from the backends of two other jurisdictions; each witness
 * verifies the log's signature and a consistency proof from what it cosigned last, persists that
 * in witness_checkpoints, and refuses a forked checkpoint (422 inconsistent, 409 at equal size),
 * also after a restart; the log keeps the cosignatures it collected in checkpoint_cosignatures, so
 * a restarted backend, or its sibling on the shared log, serves them without asking again. A
 * witness that is down never blocks a settlement, and a checkpoint without a quorum of
 * cosignatures does not pass the quorum check. Real apps, real PGlite (and PostgreSQL with
 * DATABASE_URL), requests routed between the apps in-process.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base64Encode } from '../../core/digest.ts';
import { formatCheckpoint, openNote, parseCheckpoint, parseNoteVerifier, signNote } from '../../core/signed-note.ts';
import { logOrigin } from '../../regional/log/checkpoint.ts';
import { loadOrCreateLocalSigner } from '../../regional/signer/local-signer.ts';
import type { Signer } from '../../regional/signer/signer.ts';
import { parseCosignerVerifier, verifyWitnessQuorum, type CosignerKey } from '../../regional/witness/cosignature.ts';
import type { Cosigning } from '../../regional/witness/cosigning.ts';
import { freshJurisdiction, sampleBatch } from './support/batches.ts';
import { openTestDatabase, testDatabaseKinds, type TestDatabase } from './support/databases.ts';
import { createTestEdge, type TestEdge } from './support/edge.ts';
import { startTestbed, type Testbed } from './support/testbed.ts';

describe.each(testDatabaseKinds())('witnessed checkpoints on %s', (kind) => {
  let database: TestDatabase;
  let edge: TestEdge;
  let scratch: string;
  const testbeds: Testbed[] = [];
  /** host → app, and hosts that are "down". */
  const apps = new Map<string, Testbed>();
  const down = new Set<string>();
  const route: typeof fetch = async (input, init) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input.toString() : input.url);
    if (down.has(url.host)) throw new TypeError(`fetch failed: ${url.host} is down`);
    const target = apps.get(url.host);
    if (target === undefined) throw new TypeError(`fetch failed: no host ${url.host}`);
    return target.app.request(`${url.pathname}${url.search}`, init);
  };

  beforeAll(async () => {
    database = await openTestDatabase(kind, 'witness');
    edge = await createTestEdge();
    scratch = await mkdtemp(join(tmpdir(), 'meridian-witness-'));
  });
  afterAll(async () => {
    for (const testbed of testbeds.splice(0)) await testbed.close();
    await database?.drop();
    await rm(scratch, { recursive: true, force: true });
  });

  async function witnessKey(region: string): Promise<Signer> {
    return loadOrCreateLocalSigner({ keyFile: join(scratch, `${region}.witness.json`) });
  }

  async function startWitness(host: string, region: string, logJurisdiction: string, logHost: string): Promise<Testbed> {
    const testbed = await startTestbed(database, {
      edge,
      region,
      jurisdiction: freshJurisdiction(),
      witness: { signer: await witnessKey(region), logs: [{ origin: logOrigin(logJurisdiction), keysUrls: [`http://${logHost}/v1/keys`] }], fetch: route },
    });
    testbeds.push(testbed);
    apps.set(host, testbed);
    return testbed;
  }

  async function cosignerKeyOf(testbed: Testbed): Promise<CosignerKey> {
    const body = (await (await testbed.app.request('/v1/keys')).json()) as { witness_verifiers?: string[] };
    expect(body.witness_verifiers).toHaveLength(1);
    const parsed = parseCosignerVerifier(body.witness_verifiers![0]!);
    if (!parsed.ok) throw new Error(parsed.reason.detail);
    return parsed.value;
  }

  async function settle(log: Testbed, count: number): Promise<void> {
    for (let index = 0; index < count; index++) expect((await log.deliver(sampleBatch({ jurisdiction: log.jurisdiction, payments: 2 }))).status).toBe(201);
  }

  async function checkpointOf(log: Testbed, path = '/v1/log/checkpoint'): Promise<{ status: number; note: string }> {
    const response = await log.app.request(path);
    return { status: response.status, note: await response.text() };
  }

  async function addCheckpoint(witness: Testbed, body: string): Promise<Response> {
    return await witness.app.request('/v1/witness/add-checkpoint', { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
  }

  it('cosigns a growing log, refuses a fork (also after a restart), and a checkpoint short of a quorum fails the quorum check', async () => {
    const logJurisdiction = freshJurisdiction();
    let cosigning: Cosigning | undefined;
    const log = await startTestbed(database, {
      edge,
      region: 'eu-1',
      jurisdiction: logJurisdiction,
      witnessing: { witnessUrls: ['http://us-1.test', 'http://ap-1.test'], fetch: route, onCosigning: (handle) => (cosigning = handle) },
    });
    testbeds.push(log);
    apps.set('eu-1.test', log);
    const us1 = await startWitness('us-1.test', 'us-1', logJurisdiction, 'eu-1.test');
    const ap1 = await startWitness('ap-1.test', 'ap-1', logJurisdiction, 'eu-1.test');
    const witnesses = [await cosignerKeyOf(us1), await cosignerKeyOf(ap1)];
    expect(cosigning!.quorum).toBe(2);
    expect((await us1.app.request('/v1/witness')).status).toBe(200);

    // The empty log is cosigned first (as at a fresh start); the first leaves extend it without a proof.
    expect(await cosigning!.collect()).toMatchObject({ treeSize: 0, failed: [] });
    await settle(log, 3);
    const first = await cosigning!.collect();
    expect(first).toMatchObject({ treeSize: 3, failed: [] });
    const cosigned = await checkpointOf(log);
    expect(cosigned.note.match(/^\u2014 /gm)).toHaveLength(3);
    expect(verifyWitnessQuorum(cosigned.note, witnesses, 2)).toMatchObject({ ok: true });
    expect((await checkpointOf(log, '/v1/log/witnessed-checkpoint')).note).toBe(cosigned.note);
    expect((await startTestbed(database, { edge, jurisdiction: freshJurisdiction(), witnessing: { witnessUrls: ['http://us-1.test'], fetch: route } }).then(async (idle) => {
      testbeds.push(idle);
      return idle.app.request('/v1/log/witnessed-checkpoint');
    })).status).toBe(404);

    // The log grows: the witnesses check a consistency proof from 3 to 5.
    await settle(log, 2);
    expect(await cosigning!.collect()).toMatchObject({ treeSize: 5, failed: [] });
    const atFive = await checkpointOf(log);
    expect(verifyWitnessQuorum(atFive.note, witnesses, 2)).toMatchObject({ ok: true });

    // A fork, signed with the log's real key: another root at size 6, and another root at size 5.
    const logVerifiers = ((await (await log.app.request('/v1/keys')).json()) as { note_verifiers: string[] }).note_verifiers.map((text) => {
      const parsed = parseNoteVerifier(text);
      if (!parsed.ok) throw new Error(parsed.reason.detail);
      return parsed.value;
    });
    const opened = openNote(atFive.note, logVerifiers);
    if (!opened.ok) throw new Error(opened.reason.detail);
    const five = parseCheckpoint(opened.value.text);
    if (!five.ok) throw new Error(five.reason.detail);
    const noteSigner = { name: logOrigin(logJurisdiction), publicKey: log.signer.publicKey, sign: (message: Uint8Array) => log.signer.sign(message) };
    const forged = (treeSize: number) => signNote(formatCheckpoint({ origin: five.value.origin, treeSize, rootHash: crypto.getRandomValues(new Uint8Array(32)), extensions: [] }), [noteSigner]);
    const proofFiveToSix = base64Encode(crypto.getRandomValues(new Uint8Array(32)));
    const fork = await addCheckpoint(us1, `old 5\n${proofFiveToSix}\n\n${await forged(6)}`);
    expect(fork.status).toBe(422);
    expect(((await fork.json()) as { type: string }).type).toBe('urn:meridian:problem:inconsistent-checkpoint');
    const sameSizeFork = await addCheckpoint(us1, `old 5\n\n${await forged(5)}`);
    expect(sameSizeFork.status).toBe(409);
    expect(sameSizeFork.headers.get('content-type')).toBe('text/x.tlog.size');
    expect(await sameSizeFork.text()).toBe('5\n');
    // The protocol's other refusals.
    const stale = await addCheckpoint(us1, `old 3\n\n${atFive.note}`);
    expect([stale.status, await stale.text()]).toEqual([409, '5\n']);
    expect((await addCheckpoint(us1, `old 9\n\n${atFive.note}`)).status).toBe(400);
    expect((await addCheckpoint(us1, 'not a request')).status).toBe(400);
    const stranger = await loadOrCreateLocalSigner({ keyFile: join(scratch, 'stranger.json') });
    const unsigned = await signNote(opened.value.text, [{ name: five.value.origin, publicKey: stranger.publicKey, sign: (message) => stranger.sign(message) }]);
    expect((await addCheckpoint(us1, `old 5\n\n${unsigned}`)).status).toBe(403);
    const elsewhere = await signNote(formatCheckpoint({ origin: 'meridian.example/log/nowhere', treeSize: 1, rootHash: new Uint8Array(32), extensions: [] }), [noteSigner]);
    expect((await addCheckpoint(us1, `old 0\n\n${elsewhere}`)).status).toBe(404);

    // The witness's memory is in its database: restarted (a new app on the same database, same key), it still refuses.
    const restarted = await startTestbed(database, {
      edge,
      region: 'us-1',
      jurisdiction: us1.jurisdiction,
      witness: { signer: await witnessKey('us-1'), logs: [{ origin: logOrigin(logJurisdiction), keysUrls: ['http://eu-1.test/v1/keys'] }], fetch: route },
    });
    testbeds.push(restarted);
    expect((await addCheckpoint(restarted, `old 5\n${proofFiveToSix}\n\n${await forged(6)}`)).status).toBe(422);
    const fresh = await addCheckpoint(restarted, `old 0\n\n${atFive.note}`);
    expect([fresh.status, await fresh.text()]).toEqual([409, '5\n']);

    // So are the cosignatures the log collected: a restarted log backend (a new app on the same
    // database that has collected nothing) and its sibling sharing the log (eu-2, its own key)
    // serve the checkpoint of 5 with both witnesses' cosignatures, witnessed, before any round.
    for (const region of ['eu-1', 'eu-2']) {
      const backend = await startTestbed(database, { edge, region, jurisdiction: logJurisdiction, witnessing: { witnessUrls: ['http://us-1.test', 'http://ap-1.test'], fetch: route } });
      testbeds.push(backend);
      const served = await checkpointOf(backend);
      expect(served.note.match(/^\u2014 meridian\.example\/witness\//gm)).toHaveLength(2);
      expect(verifyWitnessQuorum(served.note, witnesses, 2)).toMatchObject({ ok: true });
      const witnessedAfterRestart = await checkpointOf(backend, '/v1/log/witnessed-checkpoint');
      expect(witnessedAfterRestart.status).toBe(200);
      expect(witnessedAfterRestart.note).toBe(atFive.note);
    }

    // ap-1 goes down: settlement goes on, ap-1's cosignature is missing, the quorum check fails.
    down.add('ap-1.test');
    await settle(log, 1);
    const partial = await cosigning!.collect();
    expect(partial.treeSize).toBe(6);
    expect(partial.failed.map((failure) => failure.witness)).toEqual(['http://ap-1.test']);
    const atSix = await checkpointOf(log);
    expect(atSix.note.match(/^\u2014 /gm)).toHaveLength(2);
    expect(verifyWitnessQuorum(atSix.note, witnesses, 2)).toMatchObject({ ok: false, reason: { kind: 'no-quorum' } });
    // The witnessed checkpoint stays the last one with a quorum.
    expect((await checkpointOf(log, '/v1/log/witnessed-checkpoint')).note).toBe(atFive.note);
    // A tampered cosignature is named, not skipped.
    const tampered = atSix.note.replace(/(\u2014 meridian\.example\/witness\/us-1 \S{20})(\S)/, (_, head: string, next: string) => head + (next === 'A' ? 'B' : 'A'));
    expect(tampered).not.toBe(atSix.note);
    expect(verifyWitnessQuorum(tampered, witnesses, 1)).toMatchObject({ ok: false, reason: { kind: 'invalid-cosignature' } });

    // ap-1 is back: it cosigns 6 with a proof from the 5 it holds.
    down.delete('ap-1.test');
    expect(await cosigning!.collect()).toMatchObject({ treeSize: 6, failed: [] });
    expect(verifyWitnessQuorum((await checkpointOf(log)).note, witnesses, 2)).toMatchObject({ ok: true });
  });
});
