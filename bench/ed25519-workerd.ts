/**
 * The Ed25519 floor inside workerd: the same three operations a payment needs (two verifications,
 * one signature), and one native ML-DSA-65 verification (the hybrid path makes two), on keys imported once, through WebCrypto (crypto.subtle: BoringSSL, synchronous
 * inside workerd, returning a settled promise) and through node:crypto under nodejs_compat
 * (KeyObject + crypto.verify / crypto.sign, also BoringSSL). Measured as workerd's own process CPU
 * (/proc, bench/edge/workerd-cpu.ts) around one request that runs `operations` of each, so the
 * figure carries no HTTP or Node cost. Read from outside because a Worker cannot time itself:
 * production workerd's clock stands still while JavaScript runs (local workerd's moves, in whole
 * milliseconds).
 */
import { readFileSync } from 'node:fs';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import { cpuMsOf, workerdPids } from './edge/workerd-cpu.ts';

/** µs of workerd CPU per (2 verify + 1 sign): median and minimum over the rounds. */
export interface FloorFigure {
  medianUs: number;
  minUs: number;
}

export interface WorkerdFloor {
  webcrypto: FloorFigure;
  /** null when node:crypto sign/verify with Ed25519 KeyObjects does not work (or disagrees with WebCrypto) in this workerd. */
  nodeCrypto: FloorFigure | null;
  /** One ML-DSA-65 verification through node:crypto (BoringSSL); null when this workerd has none. */
  mlDsa65Verify: FloorFigure | null;
  operations: number;
  rounds: number;
  workerdVersion: string;
}

const floorWorker = `
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
const message = new TextEncoder().encode('x'.repeat(1000));
let keys;
const fromBase64 = (text) => Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
async function setUp({ jwk, mlDsa }) {
  const { d, ...publicJwk } = jwk;
  const publicKey = await crypto.subtle.importKey('jwk', publicJwk, { name: 'Ed25519' }, false, ['verify']);
  const privateKey = await crypto.subtle.importKey('jwk', jwk, { name: 'Ed25519' }, false, ['sign']);
  const signature = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, privateKey, message));
  let node = null;
  try {
    const nodePublic = createPublicKey({ key: publicJwk, format: 'jwk' });
    const nodePrivate = createPrivateKey({ key: jwk, format: 'jwk' });
    if (verify(null, message, nodePublic, signature) && !verify(null, message, nodePublic, signature.map((byte, index) => (index === 0 ? byte ^ 1 : byte)))
        && verify(null, message, nodePublic, sign(null, message, nodePrivate))) node = { nodePublic, nodePrivate };
  } catch (error) {
    node = null;
  }
  let mlDsaKey = null;
  const mlDsaMessage = fromBase64(mlDsa.message);
  const mlDsaSignature = fromBase64(mlDsa.signature);
  try {
    const candidate = createPublicKey({ key: fromBase64(mlDsa.spki), format: 'der', type: 'spki' });
    if (verify(null, mlDsaMessage, candidate, mlDsaSignature) && !verify(null, mlDsaMessage, candidate, mlDsaSignature.map((byte, index) => (index === 0 ? byte ^ 1 : byte)))) mlDsaKey = candidate;
  } catch (error) {
    mlDsaKey = null;
  }
  keys = { publicKey, privateKey, signature, node, mlDsa: mlDsaKey === null ? null : { key: mlDsaKey, message: mlDsaMessage, signature: mlDsaSignature } };
}
export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/setup') { await setUp(await request.json()); return Response.json({ node: keys.node !== null, mlDsa: keys.mlDsa !== null }); }
    const operations = Number(url.searchParams.get('n'));
    const { publicKey, privateKey, signature, node } = keys;
    if (url.pathname === '/webcrypto') {
      for (let index = 0; index < operations; index++) {
        const ok = (await crypto.subtle.verify({ name: 'Ed25519' }, publicKey, signature, message)) && (await crypto.subtle.verify({ name: 'Ed25519' }, publicKey, signature, message));
        if (!ok) throw new Error('does not verify');
        await crypto.subtle.sign({ name: 'Ed25519' }, privateKey, message);
      }
    } else if (url.pathname === '/node-crypto') {
      for (let index = 0; index < operations; index++) {
        if (!(verify(null, message, node.nodePublic, signature) && verify(null, message, node.nodePublic, signature))) throw new Error('does not verify');
        sign(null, message, node.nodePrivate);
      }
    } else if (url.pathname === '/ml-dsa-65') {
      for (let index = 0; index < operations; index++) {
        if (!verify(null, keys.mlDsa.message, keys.mlDsa.key, keys.mlDsa.signature)) throw new Error('does not verify');
      }
    } else if (url.pathname !== '/empty') return new Response('not found', { status: 404 });
    return new Response('done');
  },
};
`;

/** An ML-DSA-65 public key (DER SPKI), a message and its signature, base64. */
export interface MlDsa65Sample {
  spki: string;
  message: string;
  signature: string;
}

/**
 * Per implementation, over `rounds` requests: (workerd CPU of a request running `operations` of
 * them − that of an empty request) / operations. The clock is /proc's (10 ms ticks), hence many
 * operations per request.
 */
export async function workerdEd25519Floor(privateJwk: Record<string, unknown>, mlDsa: MlDsa65Sample, operations = 2_000, rounds = 5): Promise<WorkerdFloor> {
  const before = new Set(workerdPids(process.pid));
  const miniflare = new Miniflare(convertV4MiniflareOptions({ host: '127.0.0.1', port: 0, workers: [{ name: 'ed25519-floor', modules: true, script: floorWorker, compatibilityDate: '2026-11-01', compatibilityFlags: ['nodejs_compat'] }] }));
  try {
    const url = await miniflare.ready;
    const pids = workerdPids(process.pid).filter((pid) => !before.has(pid));
    if (pids.length === 0) throw new Error('workerd floor: Miniflare is ready but no new workerd process is found under this process');
    const setUp = (await (await miniflare.dispatchFetch(new URL('/setup', url), { method: 'POST', body: JSON.stringify({ jwk: privateJwk, mlDsa }) })).json()) as { node: boolean; mlDsa: boolean };
    const cpuMsOfRequest = async (path: string): Promise<number> => {
      const startMs = cpuMsOf(pids);
      const response = await miniflare.dispatchFetch(new URL(`${path}?n=${operations}`, url));
      if (!response.ok) throw new Error(`workerd floor ${path}: ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
      return cpuMsOf(pids) - startMs;
    };
    const floorOf = async (path: string): Promise<FloorFigure> => {
      await cpuMsOfRequest(path); // warm-up
      const samples: number[] = [];
      for (let round = 0; round < rounds; round++) samples.push((((await cpuMsOfRequest(path)) - (await cpuMsOfRequest('/empty'))) * 1000) / operations);
      samples.sort((left, right) => left - right);
      const round1 = (value: number) => Math.round(value * 10) / 10;
      return { medianUs: round1(samples[Math.floor(samples.length / 2)]!), minUs: round1(samples[0]!) };
    };
    const webcrypto = await floorOf('/webcrypto');
    const nodeCrypto = setUp.node ? await floorOf('/node-crypto') : null;
    const mlDsa65Verify = setUp.mlDsa ? await floorOf('/ml-dsa-65') : null;
    return { webcrypto, nodeCrypto, mlDsa65Verify, operations, rounds, workerdVersion: workerdVersion() };
  } finally {
    await miniflare.dispose();
  }
}

function workerdVersion(): string {
  return (JSON.parse(readFileSync(new URL('../node_modules/workerd/package.json', import.meta.url), 'utf8')) as { version: string }).version;
}
