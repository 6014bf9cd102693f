/**
 * The installable package: `npm pack` builds it, the tarball holds the build and not the sources,
 * and a project that installed only the tarball (and the dependencies it declares) imports it with
 * plain Node — no type stripping, no workspace — signs with it, and type-checks against its
 * declarations.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packAndInstallSdk, packTimeoutMs, type PackedSdk } from './packed-sdk.ts';

let packed: PackedSdk;

beforeAll(() => {
  packed = packAndInstallSdk();
}, packTimeoutMs);

afterAll(() => packed?.remove());

describe('npm pack', () => {
  it('ships the build, its declarations and the README; no TypeScript sources, no tests', () => {
    expect(packed.files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/packages/partner-sdk/src/index.js', 'dist/packages/partner-sdk/src/index.d.ts', 'dist/packages/partner-sdk/src/node.js', 'dist/core/message-signature.js']));
    expect(packed.files.filter((path) => path.endsWith('.ts') && !path.endsWith('.d.ts'))).toEqual([]);
    expect(packed.files.filter((path) => /test|bench|regional|workers/.test(path))).toEqual([]);
  });
});

describe('a project that installed the tarball', () => {
  it('imports it with plain node and signs an instruction that verifies under the generated public key', () => {
    const script = `
      import { compactVerify, importJWK } from 'jose';
      import { buildInstruction, generatePartnerKeys, signedRequest, signInstructionFor, retryDecision, MeridianClient } from '@meridian/partner-sdk';
      import { negotiatedTlsVersion } from '@meridian/partner-sdk/node';
      const { credentials, registryKeys } = await generatePartnerKeys('zulu-bank', { hybrid: true });
      const instruction = buildInstruction({ debtorBic: 'ALPHDEFFXXX', debtorCountry: 'DE', creditorBic: 'BRAVFRPPXXX', creditorCountry: 'FR', amount: '1.00', currency: 'EUR', targetCurrency: 'EUR' });
      const jws = JSON.parse(await signInstructionFor(credentials, instruction));
      const edKey = await importJWK({ ...registryKeys[0].public_jwk, alg: 'EdDSA' }, 'EdDSA');
      const { payload } = await compactVerify(jws.signatures[0].protected + '.' + jws.payload + '.' + jws.signatures[0].signature, edKey);
      const request = await signedRequest(credentials, { method: 'POST', url: 'http://127.0.0.1:1/v1/payments', body: 'x', contentType: 'application/jose' });
      console.log(JSON.stringify({
        uetr: JSON.parse(new TextDecoder().decode(payload)).uetr === instruction.uetr,
        signatures: jws.signatures.length,
        signatureInput: request.headers.get('signature-input'),
        noRetryOn409: retryDecision({ kind: 'answer', status: 409, retryAfter: null }, 1).retry,
        tls: await negotiatedTlsVersion('http://127.0.0.1:1'),
        client: typeof new MeridianClient({ gateway: 'http://127.0.0.1:1', credentials }).pay,
      }));`;
    writeFileSync(join(packed.project, 'check.mjs'), script);
    const output = execFileSync(process.execPath, ['--no-experimental-strip-types', 'check.mjs'], { cwd: packed.project, encoding: 'utf8', timeout: 30_000 });
    const result = JSON.parse(output) as Record<string, unknown>;
    expect(result).toMatchObject({ uetr: true, signatures: 2, noRetryOn409: false, tls: 'none', client: 'function' });
    expect(result.signatureInput).toMatch(/^sig1=\("@method" "@target-uri" "content-digest" "content-type"\);created=\d+;nonce="[^"]+";keyid="zulu-bank-[^"]+";alg="ed25519", sig2=/);
  });

  it("type-checks a consumer against the package's declarations, and catches a wrong call", () => {
    const tsconfig = { compilerOptions: { target: 'ES2023', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, lib: ['ES2023', 'DOM'], types: [] }, files: ['consumer.ts'] };
    writeFileSync(join(packed.project, 'tsconfig.json'), JSON.stringify(tsconfig));
    writeFileSync(join(packed.project, 'package.json'), JSON.stringify({ type: 'module' }));
    const tsc = resolve('node_modules/typescript/bin/tsc');
    const consumer = (body: string) => writeFileSync(join(packed.project, 'consumer.ts'), `import { MeridianClient, MeridianError, buildInstruction, generatePartnerKeys, type AcceptedPayment, type PaymentInstruction, type RetriedAnswer, type SettledPayment, type SignedInstruction, type WaitForSettlementOptions } from '@meridian/partner-sdk';\n${body}\n`);
    // Every public return has a type a partner can name in their own signatures.
    consumer(`const { credentials } = await generatePartnerKeys('zulu-bank');
const meridian = new MeridianClient({ gateway: 'http://127.0.0.1:8787', credentials, attemptTimeoutMs: 5_000, retryElapsedMsMax: 30_000 });
const waiting: WaitForSettlementOptions = { timeoutMs: 1_000, signal: AbortSignal.timeout(2_000) };
export const settle = async (uetr: string): Promise<SettledPayment> => meridian.waitForSettlement(uetr, waiting);
export const instruction: PaymentInstruction = buildInstruction({ debtorBic: 'ALPHDEFFXXX', debtorCountry: 'DE', creditorBic: 'BRAVFRPPXXX', creditorCountry: 'FR', amount: '1.00', currency: 'EUR', targetCurrency: 'EUR' });
export const submit = async (signed: SignedInstruction): Promise<RetriedAnswer> => meridian.submit(signed, { signal: AbortSignal.timeout(1_000) });
export const pay = async (): Promise<AcceptedPayment> => meridian.pay(instruction);
export const slugOf = (error: unknown): string | undefined => (error instanceof MeridianError ? error.slug : undefined);`);
    expect(() => execFileSync(process.execPath, [tsc, '-p', '.'], { cwd: packed.project, encoding: 'utf8' })).not.toThrow();
    consumer(`const meridian = new MeridianClient({ gateway: 'http://127.0.0.1:8787' });`);
    let diagnostics = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', '.'], { cwd: packed.project, encoding: 'utf8' });
    } catch (error) {
      diagnostics = String((error as { stdout?: string }).stdout);
    }
    expect(diagnostics).toContain("Property 'credentials' is missing");
  });
});
