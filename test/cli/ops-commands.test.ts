/**
 * `meridian ops …` (cli/ops-commands.ts): dev Access tokens that the gateway's gate would accept,
 * and the audit-chain check, on a chain built here and served by a local HTTP server.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEntryHash, auditGenesisHash, type AuditEntry } from '../../core/ops-changes.ts';
import { loadDevAccess } from '../../dev/fixtures.ts';
import { devAccessToken, verifyAuditEntries } from '../../cli/ops-commands.ts';

const access = loadDevAccess();
const { d: _private, ...devPublicJwk } = access.private_jwk;
const devKeys = createLocalJWKSet({ keys: [devPublicJwk as JWK] });

/** A chain as Control writes it: seq from 1, each prev_hash the previous hash, the first 64 zeros. */
function auditChain(length: number): AuditEntry[] {
  const entries: AuditEntry[] = [];
  const actions = ['proposed', 'approved', 'applied'] as const;
  for (let index = 0; index < length; index++) {
    const changeId = `0000000${Math.floor(index / 3)}-0000-4000-8000-000000000000`;
    const unhashed: Omit<AuditEntry, 'hash'> = {
      seq: index + 1,
      at: new Date(Date.UTC(2026, 10, 20, 9, 0, index)).toISOString(),
      actor: index % 3 === 0 ? 'ana@meridian.example' : 'ben@meridian.example',
      action: actions[index % 3]!,
      change_id: changeId,
      kind: 'corridor-state',
      detail: { corridor: 'EUR-USD', state: 'paused', reason: `drill ${index}` },
      prev_hash: entries.at(-1)?.hash ?? auditGenesisHash,
    };
    entries.push({ ...unhashed, hash: auditEntryHash(unhashed) });
  }
  return entries;
}

describe('ops token', () => {
  it('mints a token that verifies against the dev public key with the dev issuer, aud and the email', async () => {
    const token = await devAccessToken('ben@meridian.example', { expiresInSeconds: 120 });
    const { payload, protectedHeader } = await jwtVerify(token, devKeys, { issuer: access.issuer, audience: access.aud, algorithms: ['EdDSA'], requiredClaims: ['exp', 'iat', 'email'] });
    expect(payload.email).toBe('ben@meridian.example');
    expect(protectedHeader.kid).toBe(access.private_jwk.kid);
    expect(payload.exp! - payload.iat!).toBe(120);
  });

  it('refuses an email that is not a dev operator unless --any', async () => {
    await expect(devAccessToken('mallory@meridian.example')).rejects.toThrow(/not a dev operator.*--any/);
    const token = await devAccessToken('mallory@meridian.example', { anyEmail: true });
    expect((await jwtVerify(token, devKeys, { issuer: access.issuer, audience: access.aud })).payload.email).toBe('mallory@meridian.example');
  });

  it('prints the token from the command line, and a readable refusal without a stack', async () => {
    const printed = await runMeridian(['ops', 'token', 'chidi@meridian.example', '--expires-in', '90']);
    expect(printed.code).toBe(0);
    const { payload } = await jwtVerify(printed.stdout.trim(), devKeys, { issuer: access.issuer, audience: access.aud });
    expect(payload).toMatchObject({ email: 'chidi@meridian.example' });
    expect(payload.exp! - payload.iat!).toBe(90);
    const refused = await runMeridian(['ops', 'token', 'mallory@meridian.example']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('mallory@meridian.example is not a dev operator');
    expect(refused.stderr).not.toMatch(/\n\s+at /);
  });

  it('lists its commands under ops --help, and token --help prints its own usage', async () => {
    const help = await runMeridian(['ops', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^ {2}token +print a dev Cloudflare Access token/m);
    expect(help.stdout).toMatch(/^ {4}verify +fetch the ops audit log/m);
    expect(help.stdout).toMatch(/^ {2}changes +list two-person changes/m);
    const tokenHelp = await runMeridian(['ops', 'token', '--help']);
    expect(tokenHelp.code).toBe(0);
    expect(tokenHelp.stdout).toMatch(/^usage: meridian ops token <email> \[options\]$/m);
    expect(tokenHelp.stdout).toContain('--expires-in <seconds>');
  });

  it('refuses a lifetime that is not whole seconds, naming the flag (exit 2)', async () => {
    const refused = await runMeridian(['ops', 'token', 'ana@meridian.example', '--expires-in', '1h']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('meridian ops token: --expires-in must be a whole number of seconds, not "1h"');
    expect(refused.stdout).toBe('');
  });
});

describe('verifyAuditEntries', () => {
  it('accepts an intact chain and reports its length and head', () => {
    const chain = auditChain(7);
    expect(verifyAuditEntries(chain)).toEqual({ ok: true, value: { entries: 7, head: chain[6]!.hash } });
    expect(verifyAuditEntries([])).toEqual({ ok: true, value: { entries: 0, head: auditGenesisHash } });
  });

  it('names the seq of the entry in which any one byte was flipped', () => {
    const chain = auditChain(5);
    let flips = 0;
    for (const [index, entry] of chain.entries()) {
      const text = JSON.stringify(entry);
      for (let position = 0; position < text.length; position++) {
        const flipped = text.slice(0, position) + String.fromCharCode(text.charCodeAt(position) ^ 0x01) + text.slice(position + 1);
        let altered: AuditEntry;
        try {
          altered = JSON.parse(flipped) as AuditEntry;
        } catch {
          continue; // no longer JSON: the command refuses such a page before verifying
        }
        const tampered = chain.map((original, at) => (at === index ? altered : original));
        const verified = verifyAuditEntries(tampered);
        expect(verified.ok, `flip at ${position} of seq ${index + 1}: ${flipped}`).toBe(false);
        if (!verified.ok) expect(verified.reason.seq, `flip at ${position} of seq ${index + 1}: ${flipped}`).toBe(index + 1);
        flips++;
      }
    }
    expect(flips).toBeGreaterThan(1_000);
  });

  it('names the first broken seq when an entry is dropped or two are swapped', () => {
    const chain = auditChain(6);
    const dropped = verifyAuditEntries([...chain.slice(0, 2), ...chain.slice(3)]);
    expect(dropped.ok ? null : dropped.reason.seq).toBe(3);
    const swapped = verifyAuditEntries([chain[0]!, chain[2]!, chain[1]!, ...chain.slice(3)]);
    expect(swapped.ok ? null : swapped.reason.seq).toBe(2);
  });
});

describe('ops audit verify', () => {
  let server: Server;
  let gateway: string;
  let served: AuditEntry[] = [];
  const pageSize = 3;
  const seenAfter: number[] = [];
  const servedChanges = [
    { id: '11111111-1111-4111-8111-111111111111', kind: 'corridor-state', status: 'applied', proposal: { kind: 'corridor-state' }, proposed_by: 'ana@meridian.example', proposed_at: '2026-11-20T09:00:00.000Z', expires_at: '2026-11-21T09:00:00.000Z', decided_by: 'ben@meridian.example', decided_at: '2026-11-20T09:05:00.000Z', effect: null },
    { id: '22222222-2222-4222-8222-222222222222', kind: 'partner-revocation', status: 'proposed', proposal: { kind: 'partner-revocation' }, proposed_by: 'chidi@meridian.example', proposed_at: '2026-11-20T10:00:00.000Z', expires_at: '2026-11-21T10:00:00.000Z', decided_by: null, decided_at: null, effect: null },
  ];

  beforeAll(async () => {
    // Serves GET /ops/api/audit like the gateway: only with a dev token, pages of `pageSize` after `after`.
    server = createServer((request, response) => {
      void (async () => {
        const url = new URL(request.url ?? '/', 'http://localhost');
        const token = request.headers['cf-access-jwt-assertion'];
        try {
          await jwtVerify(String(token), devKeys, { issuer: access.issuer, audience: access.aud });
        } catch {
          response.writeHead(401, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ type: 'urn:meridian:problem:unauthenticated', detail: 'no valid token' }));
          return;
        }
        if (url.pathname === '/ops/api/changes') {
          const status = url.searchParams.get('status');
          response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ changes: servedChanges.filter((change) => status === null || change.status === status) }));
          return;
        }
        if (url.pathname !== '/ops/api/audit') {
          response.writeHead(404).end('{}');
          return;
        }
        const after = Number(url.searchParams.get('after') ?? '0');
        seenAfter.push(after);
        const page = served.filter((entry) => entry.seq > after).slice(0, pageSize);
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ entries: page }));
      })();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    gateway = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('fetches every page with a dev token and exits 0 with the entry count and head hash', async () => {
    served = auditChain(8);
    seenAfter.length = 0;
    const result = await runMeridian(['ops', 'audit', 'verify', '--gateway', gateway, '--as', 'ben@meridian.example']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`8 entries, head ${served[7]!.hash}`);
    expect(seenAfter).toEqual([0, 3, 6, 8]);
  });

  it('--json prints one JSON document: ok with count and head, or the broken seq (exit 1)', async () => {
    served = auditChain(4);
    const intact = await runMeridian(['ops', 'audit', 'verify', '--gateway', gateway, '--json']);
    expect(intact.code).toBe(0);
    expect(JSON.parse(intact.stdout)).toEqual({ ok: true, entries: 4, head: served[3]!.hash });
    const chain = auditChain(4);
    chain[2] = { ...chain[2]!, detail: { corridor: 'EUR-USD', state: 'active', reason: 'edited' } };
    served = chain;
    const broken = await runMeridian(['ops', 'audit', 'verify', '--gateway', gateway, '--json']);
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.stdout)).toMatchObject({ ok: false, kind: 'audit-chain-broken', seq: 3 });
    expect(broken.stderr).toContain('audit chain broken at seq 3');
  });

  it('exits 1 naming the seq of a tampered entry', async () => {
    const chain = auditChain(8);
    chain[4] = { ...chain[4]!, actor: 'mallory@meridian.example' };
    served = chain;
    const result = await runMeridian(['ops', 'audit', 'verify', '--gateway', gateway]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('audit chain broken at seq 5');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('ops changes lists the changes, one line each or as JSON, and filters by --status', async () => {
    const listed = await runMeridian(['ops', 'changes', '--gateway', gateway]);
    expect(listed.code).toBe(0);
    expect(listed.stdout.trim().split('\n')).toEqual([
      '11111111-1111-4111-8111-111111111111  applied  corridor-state         proposed by ana@meridian.example at 2026-11-20T09:00:00.000Z; applied by ben@meridian.example at 2026-11-20T09:05:00.000Z',
      '22222222-2222-4222-8222-222222222222  proposed partner-revocation     proposed by chidi@meridian.example at 2026-11-20T10:00:00.000Z',
    ]);
    const proposed = await runMeridian(['ops', 'changes', '--gateway', gateway, '--status', 'proposed', '--json']);
    expect(proposed.code).toBe(0);
    expect((JSON.parse(proposed.stdout) as { changes: Array<{ id: string }> }).changes.map((change) => change.id)).toEqual(['22222222-2222-4222-8222-222222222222']);
    const refused = await runMeridian(['ops', 'changes', '--gateway', gateway, '--status', 'done']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--status must be one of proposed, applied, rejected, expired');
  });

  it('exits 1 with a readable line when the gateway cannot be reached', async () => {
    const dead = await deadPortUrl();
    const result = await runMeridian(['ops', 'audit', 'verify', '--gateway', dead]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`meridian ops audit verify: cannot reach the gateway at ${dead} (ECONNREFUSED); is \`npm start\` running? (--gateway ${dead})\n`);
  });
});

/** A URL on a port that was just free: nothing listens there. */
async function deadPortUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

function runMeridian(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['cli/meridian.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MERIDIAN_GATEWAY: 'http://127.0.0.1:1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
