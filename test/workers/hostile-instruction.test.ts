/**
 * Hostile instructions: every request here is honestly signed at the HTTP layer (RFC 9421 +
 * Content-Digest, fresh nonce), so what is refused is the instruction JWS or the instruction
 * itself. Each case must get a 4xx problem+json with its exact slug: never a 5xx, never a 202.
 *
 * Principle for JWS slugs: a body that is not a well-formed JWS, or whose payload is not the
 * instruction, is `invalid-instruction`; a well-formed JWS whose algorithm, key or signature is
 * not acceptable is `bad-signature`.
 */
import { describe, expect, it } from 'vitest';
import { SELF } from 'cloudflare:test';
import { signInstruction } from '../../packages/partner-sdk/src/partner-client.ts';
import { base64urlEncode, utf8 } from '../../core/digest.ts';
import { craftRequest, jwsOfText, jwsWith, publicKeyBytes, segment, runHostileCases, type HostileCase } from './hostile-support.ts';
import { alpha, charlie, eurPayment } from './support.ts';

type Instruction = ReturnType<typeof eurPayment>;
type Json = Record<string, unknown>;


const submitJws = async (jws: string | Promise<string>): Promise<Request> => craftRequest({ body: await jws });
const submitInstruction = (instruction: unknown, signer = alpha): Promise<Request> => submitJws(signInstruction(signer, instruction));
const submitText = (payloadText: string): Promise<Request> => submitJws(jwsOfText(payloadText));

/** An honest EUR→EUR instruction with one change applied to a deep copy. */
function changed(change: (instruction: Json) => void): () => Promise<Request> {
  return () => {
    const instruction = structuredClone(eurPayment()) as unknown as Json;
    change(instruction);
    return submitInstruction(instruction);
  };
}

/** Sets (or, with `undefined`, removes) a field by dotted path. */
function withField(path: string, value: unknown): () => Promise<Request> {
  return changed((instruction) => {
    const parts = path.split('.');
    const leaf = parts.pop()!;
    let node = instruction;
    for (const part of parts) node = node[part] as Json;
    if (value === undefined) delete node[leaf];
    else node[leaf] = value;
  });
}

const withAmount = (value: unknown, currency = 'EUR') => withField('amount', { value, currency });

function hostile(name: string, slug: HostileCase['slug'], request: () => Promise<Request>, bug?: string): HostileCase {
  return bug === undefined ? { name, slug, request } : { name, slug, request, bug };
}


const honestHeader = { alg: 'EdDSA', kid: alpha.keyid };
const honestPayload = (): Instruction => eurPayment();

async function hmacSha256(key: Uint8Array, message: string): Promise<Uint8Array> {
  const hmacKey = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', hmacKey, utf8(message)));
}

async function hs256Jws(key: Uint8Array): Promise<string> {
  const signingInput = `${segment({ alg: 'HS256', kid: alpha.keyid })}.${segment(honestPayload())}`;
  return `${signingInput}.${base64urlEncode(await hmacSha256(key, signingInput))}`;
}

/** A JWS whose segment `index` is replaced, then re-signed over the new signing input when the signature is not the one replaced. */
async function jwsWithSegment(index: 0 | 1 | 2, replacement: string): Promise<string> {
  const headerSegment = index === 0 ? replacement : segment(honestHeader);
  const payloadSegment = index === 1 ? replacement : segment(honestPayload());
  if (index === 2) return `${headerSegment}.${payloadSegment}.${replacement}`;
  return jwsWith({ headerSegment, payloadSegment });
}

/** Pads a base64url segment with 'A' to a length ≡ 1 (mod 4), which no byte string encodes to. */
function impossibleLength(base64url: string): string {
  let text = base64url;
  while (text.length % 4 !== 1) text += 'A';
  return text;
}

const jwsCases: HostileCase[] = [
  hostile('alg none with an empty signature (Unsecured JWS)', 'bad-signature', () => submitJws(`${segment({ alg: 'none', kid: alpha.keyid })}.${segment(honestPayload())}.`)),
  hostile('EdDSA header with an empty signature segment', 'bad-signature', () => submitJws(`${segment(honestHeader)}.${segment(honestPayload())}.`)),
  hostile('alg none with a signature segment', 'bad-signature', () => submitJws(jwsWith({ header: { alg: 'none', kid: alpha.keyid }, payload: honestPayload() }))),
  hostile('alg None (case variant)', 'bad-signature', () => submitJws(jwsWith({ header: { alg: 'None', kid: alpha.keyid }, payload: honestPayload() }))),
  hostile('alg HS256 keyed with the partner public key (key confusion)', 'bad-signature', () => submitJws(hs256Jws(publicKeyBytes(alpha)))),
  hostile('alg HS256 keyed with a guessable secret', 'bad-signature', () => submitJws(hs256Jws(utf8('secret')))),
  hostile('alg ES256', 'bad-signature', () => submitJws(jwsWith({ header: { alg: 'ES256', kid: alpha.keyid }, payload: honestPayload() }))),
  hostile('alg RS256', 'bad-signature', () => submitJws(jwsWith({ header: { alg: 'RS256', kid: alpha.keyid }, payload: honestPayload() }))),
  hostile('alg eddsa (lowercase)', 'bad-signature', () => submitJws(jwsWith({ header: { alg: 'eddsa', kid: alpha.keyid }, payload: honestPayload() }))),
  hostile('alg Ed25519 (fully-specified name, not the contract)', 'bad-signature', () => submitJws(jwsWith({ header: { alg: 'Ed25519', kid: alpha.keyid }, payload: honestPayload() }))),
  hostile('alg ML-DSA-65 in a compact JWS', 'bad-signature', () => submitJws(jwsWith({ header: { alg: 'ML-DSA-65', kid: alpha.keyid }, payload: honestPayload() }))),
  hostile('alg missing', 'bad-signature', () => submitJws(jwsWith({ header: { kid: alpha.keyid }, payload: honestPayload() }))),
  hostile('alg as an array', 'bad-signature', () => submitJws(jwsWith({ header: { alg: ['EdDSA'], kid: alpha.keyid }, payload: honestPayload() }))),
  hostile('kid missing', 'bad-signature', () => submitJws(jwsWith({ header: { alg: 'EdDSA' }, payload: honestPayload() }))),
  hostile('kid unknown', 'bad-signature', () => submitJws(jwsWith({ header: { alg: 'EdDSA', kid: 'alpha-bank-2020-01' }, payload: honestPayload() }))),
  hostile('kid as a number', 'bad-signature', () => submitJws(jwsWith({ header: { alg: 'EdDSA', kid: 2026 }, payload: honestPayload() }))),
  hostile("kid of another partner, signed with the sender's key", 'bad-signature', () => submitJws(jwsWith({ header: { alg: 'EdDSA', kid: charlie.keyid }, payload: honestPayload() }))),
  hostile("another partner's JWS under its own kid", 'bad-signature', () => submitInstruction(honestPayload(), charlie)),
  hostile("the sender's kid, signed with another partner's key", 'bad-signature', () => submitJws(jwsWith({ header: honestHeader, payload: honestPayload(), signer: charlie }))),
  hostile('an embedded attacker jwk next to the sender kid', 'bad-signature', () =>
    submitJws(jwsWith({ header: { ...honestHeader, jwk: { kty: 'OKP', crv: 'Ed25519', x: charlie.private_jwk.x } }, payload: honestPayload(), signer: charlie }))),
  hostile('a jku pointing at an attacker JWKS, signed by the attacker', 'bad-signature', () =>
    submitJws(jwsWith({ header: { ...honestHeader, jku: 'https://evil.example/jwks.json' }, payload: honestPayload(), signer: charlie }))),
  hostile('an unknown critical header parameter', 'bad-signature', () => submitJws(jwsWith({ header: { ...honestHeader, crit: ['exp'], exp: 1 }, payload: honestPayload() }))),
  hostile('crit naming an absent parameter', 'bad-signature', () => submitJws(jwsWith({ header: { ...honestHeader, crit: ['b64'] }, payload: honestPayload() }))),
  hostile('signature with one bit flipped', 'bad-signature', async () => {
    const jws = await signInstruction(alpha, honestPayload());
    const signature = jws.slice(jws.lastIndexOf('.') + 1);
    return submitJws(`${jws.slice(0, jws.lastIndexOf('.') + 1)}${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`);
  }),
  hostile('signature of another instruction (payload swapped)', 'bad-signature', async () => {
    const jws = await signInstruction(alpha, honestPayload());
    const [header, , signature] = jws.split('.');
    return submitJws(`${header}.${segment(honestPayload())}.${signature}`);
  }),
  hostile('signature segment of impossible base64url length', 'bad-signature', () => jwsWithSegment(2, 'A'.repeat(85)).then(submitJws)),
  hostile('signature segment of 63 bytes', 'bad-signature', () => jwsWithSegment(2, base64urlEncode(new Uint8Array(63))).then(submitJws)),
  hostile('signature segment of 64 zero bytes', 'bad-signature', () => jwsWithSegment(2, base64urlEncode(new Uint8Array(64))).then(submitJws)),
  hostile('protected header repeats alg (none first, EdDSA last)', 'invalid-instruction', () => jwsWithSegment(0, segment(`{"alg":"none","alg":"EdDSA","kid":"${alpha.keyid}"}`)).then(submitJws)),
  hostile('protected header repeats kid', 'invalid-instruction', () => jwsWithSegment(0, segment(`{"alg":"EdDSA","kid":"${charlie.keyid}","kid":"${alpha.keyid}"}`)).then(submitJws)),
  hostile('header segment not JSON', 'invalid-instruction', () => jwsWithSegment(0, segment('not json')).then(submitJws)),
  hostile('header segment of impossible base64url length', 'invalid-instruction', () => jwsWithSegment(0, impossibleLength(segment(honestHeader))).then(submitJws)),
  hostile('header segment with non-zero trailing bits', 'invalid-instruction', () => {
    const honest = segment({ alg: 'EdDSA', kid: alpha.keyid, x: 'a' });
    const last = honest.at(-1)!;
    return jwsWithSegment(0, honest.slice(0, -1) + String.fromCharCode(last.charCodeAt(0) + 1)).then(submitJws);
  }),
  hostile('header segment JSON null', 'bad-signature', () => jwsWithSegment(0, segment('null')).then(submitJws)),
  hostile('header segment JSON array', 'bad-signature', () => jwsWithSegment(0, segment('[]')).then(submitJws)),
  hostile('header segment JSON string', 'bad-signature', () => jwsWithSegment(0, segment('"EdDSA"')).then(submitJws)),
  hostile('payload segment of impossible base64url length, validly signed', 'invalid-instruction', () => jwsWithSegment(1, impossibleLength(segment(honestPayload()))).then(submitJws)),
  hostile('header segment with base64 padding', 'invalid-instruction', () => jwsWithSegment(0, `${segment(honestHeader)}==`).then(submitJws)),
  hostile('payload segment in standard base64 (+ and /)', 'invalid-instruction', () => jwsWithSegment(1, `${segment(honestPayload())}+/`).then(submitJws)),
  hostile('two segments', 'invalid-instruction', async () => submitJws((await signInstruction(alpha, honestPayload())).split('.').slice(0, 2).join('.'))),
  hostile('four segments', 'invalid-instruction', async () => submitJws(`${await signInstruction(alpha, honestPayload())}.AAAA`)),
  hostile('detached payload (empty payload segment)', 'invalid-instruction', async () => {
    const [header, , signature] = (await signInstruction(alpha, honestPayload())).split('.');
    return submitJws(`${header}..${signature}`);
  }),
  hostile('whitespace inside the JWS', 'invalid-instruction', async () => {
    const jws = await signInstruction(alpha, honestPayload());
    return submitJws(`${jws.slice(0, 20)} ${jws.slice(20)}`);
  }),
  hostile('two JWS on two lines', 'invalid-instruction', async () => submitJws(`${await signInstruction(alpha, honestPayload())}\n${await signInstruction(alpha, honestPayload())}`)),
  hostile('flattened JWS JSON sent as application/jose', 'invalid-instruction', async () => {
    const [protectedHeader, payload, signature] = (await signInstruction(alpha, honestPayload())).split('.');
    return submitJws(JSON.stringify({ protected: protectedHeader, payload, signature }));
  }),
  hostile('the instruction as plain JSON, unsigned', 'invalid-instruction', () => submitJws(JSON.stringify(honestPayload()))),
  hostile('a JWS whose payload is another JWS', 'invalid-instruction', async () => submitJws(jwsOfText(JSON.stringify(await signInstruction(alpha, honestPayload()))))),
];

const malformedJsonCases: HostileCase[] = [
  hostile('payload `{`', 'invalid-instruction', () => submitText('{')),
  hostile('payload truncated mid-instruction', 'invalid-instruction', () => {
    const text = JSON.stringify(honestPayload());
    return submitText(text.slice(0, Math.floor(text.length / 2)));
  }),
  hostile('payload truncated by one byte', 'invalid-instruction', () => submitText(JSON.stringify(honestPayload()).slice(0, -1))),
  hostile('payload with a trailing comma', 'invalid-instruction', () => submitText(JSON.stringify(honestPayload()).replace(/}$/, ',}'))),
  hostile('payload with single-quoted strings', 'invalid-instruction', () => submitText(JSON.stringify(honestPayload()).replaceAll('"', "'"))),
  hostile('payload with a comment', 'invalid-instruction', () => submitText(`/* hi */${JSON.stringify(honestPayload())}`)),
  hostile('payload with NaN', 'invalid-instruction', () => submitText(JSON.stringify(honestPayload()).replace(/^\{/, '{"n":NaN,'))),
  hostile('payload with unquoted keys', 'invalid-instruction', () => submitText(JSON.stringify(honestPayload()).replace('"uetr"', 'uetr'))),
  hostile('payload followed by garbage', 'invalid-instruction', () => submitText(`${JSON.stringify(honestPayload())}x`)),
  hostile('two JSON objects back to back', 'invalid-instruction', () => submitText(`${JSON.stringify(honestPayload())}${JSON.stringify(honestPayload())}`)),
  hostile('payload not UTF-8 (0xff)', 'invalid-instruction', () => submitJws(jwsWith({ payloadSegment: base64urlEncode(new Uint8Array([0x7b, 0xff, 0x7d])) }))),
  hostile('payload with an overlong UTF-8 encoding', 'invalid-instruction', () => submitJws(jwsWith({ payloadSegment: base64urlEncode(new Uint8Array([...utf8('{"uetr":"'), 0xc0, 0xaf, ...utf8('"}')])) }))),
  hostile('payload with a UTF-8-encoded lone surrogate', 'invalid-instruction', () => submitJws(jwsWith({ payloadSegment: base64urlEncode(new Uint8Array([...utf8('{"uetr":"'), 0xed, 0xa0, 0x80, ...utf8('"}')])) }))),
  hostile('payload in UTF-16', 'invalid-instruction', () => {
    const text = JSON.stringify(honestPayload());
    const bytes = new Uint8Array(text.length * 2);
    for (let index = 0; index < text.length; index += 1) bytes[index * 2] = text.charCodeAt(index);
    return submitJws(jwsWith({ payloadSegment: base64urlEncode(bytes) }));
  }),
  hostile('payload null', 'invalid-instruction', () => submitText('null')),
  hostile('payload an array', 'invalid-instruction', () => submitText(`[${JSON.stringify(honestPayload())}]`)),
  hostile('payload a string', 'invalid-instruction', () => submitText('"pay me"')),
  hostile('payload a number', 'invalid-instruction', () => submitText('12540')),
  hostile('payload true', 'invalid-instruction', () => submitText('true')),
  hostile('payload an empty object', 'invalid-instruction', () => submitText('{}')),
  hostile('payload nested 10,000 arrays deep', 'invalid-instruction', () => submitText(`${'['.repeat(10_000)}${']'.repeat(10_000)}`)),
  hostile('payload with 2,000 unknown keys', 'invalid-instruction', () => submitText(JSON.stringify({ ...honestPayload(), ...Object.fromEntries(Array.from({ length: 2_000 }, (_, index) => [`k${index}`, 0])) }))),
  hostile('duplicate member in debtor (name twice)', 'invalid-instruction', () => submitText(JSON.stringify(honestPayload()).replace('"name":"Ordering Customer GmbH"', '"name":"Sanctioned Person","name":"Ordering Customer GmbH"'))),
  hostile('duplicate member spelled with an escape (uetr and \\u0075etr)', 'invalid-instruction', () => submitText(JSON.stringify(honestPayload()).replace(/^\{/, `{"\\u0075etr":"${crypto.randomUUID()}",`))),
  hostile('duplicate member amount.value (small first, large last)', 'invalid-instruction', () => {
    const text = JSON.stringify(honestPayload()).replace('"value":"125.40"', '"value":"1.00","value":"125.40"');
    expect(text).toContain('"value":"1.00","value":"125.40"');
    return submitText(text);
  }),
  hostile('duplicate member uetr', 'invalid-instruction', () => {
    const payload = honestPayload();
    return submitText(JSON.stringify(payload).replace(/^\{/, `{"uetr":"${crypto.randomUUID()}",`));
  }),
];

const uetrCases: HostileCase[] = [
  hostile('uetr v1 UUID', 'invalid-instruction', withField('uetr', 'c232ab00-9414-11ec-b3c8-9f6bdeced846')),
  hostile('uetr v7 UUID', 'invalid-instruction', withField('uetr', '01932c07-209c-7c4e-a1e6-3b6b8f4d2e10')),
  hostile('uetr uppercase v4', 'invalid-instruction', withField('uetr', crypto.randomUUID().toUpperCase())),
  hostile('uetr 35 characters', 'invalid-instruction', withField('uetr', crypto.randomUUID().slice(0, 35))),
  hostile('uetr 37 characters', 'invalid-instruction', withField('uetr', `${crypto.randomUUID()}0`)),
  hostile('uetr without hyphens', 'invalid-instruction', withField('uetr', crypto.randomUUID().replaceAll('-', ''))),
  hostile('uetr in braces', 'invalid-instruction', withField('uetr', `{${crypto.randomUUID()}}`)),
  hostile('uetr as a URN', 'invalid-instruction', withField('uetr', `urn:uuid:${crypto.randomUUID()}`)),
  hostile('uetr nil UUID', 'invalid-instruction', withField('uetr', '00000000-0000-0000-0000-000000000000')),
  hostile('uetr v4 with a non-RFC variant', 'invalid-instruction', withField('uetr', '7c1e7d6a-2f43-4c1e-ca55-0d3f1b2c4e5f')),
  hostile('uetr with a trailing space', 'invalid-instruction', withField('uetr', `${crypto.randomUUID()} `)),
  hostile('uetr empty', 'invalid-instruction', withField('uetr', '')),
  hostile('uetr a number', 'invalid-instruction', withField('uetr', 42)),
  hostile('uetr missing', 'invalid-instruction', withField('uetr', undefined)),
];

const textFieldCases: HostileCase[] = [
  hostile('end_to_end_id 36 characters', 'invalid-instruction', withField('end_to_end_id', 'E'.repeat(36))),
  hostile('end_to_end_id empty', 'invalid-instruction', withField('end_to_end_id', '')),
  hostile('end_to_end_id non-ASCII', 'invalid-instruction', withField('end_to_end_id', 'E2E-Zürich')),
  hostile('end_to_end_id leading space', 'invalid-instruction', withField('end_to_end_id', ' E2E-1')),
  hostile('end_to_end_id with a tab', 'invalid-instruction', withField('end_to_end_id', 'E2E\t1')),
  hostile('end_to_end_id a number', 'invalid-instruction', withField('end_to_end_id', 12345)),
  hostile('end_to_end_id missing', 'invalid-instruction', withField('end_to_end_id', undefined)),
  hostile('remittance_info 141 characters', 'invalid-instruction', withField('remittance_info', 'R'.repeat(141))),
  hostile('remittance_info 141 emoji (code points, not UTF-16 units)', 'invalid-instruction', withField('remittance_info', '💶'.repeat(141))),
  hostile('remittance_info empty', 'invalid-instruction', withField('remittance_info', '')),
  hostile('remittance_info only spaces', 'invalid-instruction', withField('remittance_info', '   ')),
  hostile('remittance_info with a newline', 'invalid-instruction', withField('remittance_info', 'invoice\n42')),
  hostile('remittance_info with a zero-width space', 'invalid-instruction', withField('remittance_info', 'invoice\u200b42')),
  hostile('remittance_info with a right-to-left override', 'invalid-instruction', withField('remittance_info', 'invoice \u202e24')),
  hostile('remittance_info with NUL', 'invalid-instruction', withField('remittance_info', 'invoice\u000042')),
  hostile('remittance_info an array', 'invalid-instruction', withField('remittance_info', ['invoice 42'])),
  hostile('remittance_info null', 'invalid-instruction', withField('remittance_info', null)),
  hostile('debtor.name empty', 'invalid-instruction', withField('debtor.name', '')),
  hostile('debtor.name 141 characters', 'invalid-instruction', withField('debtor.name', 'N'.repeat(141))),
  hostile('debtor.name with a zero-width joiner', 'invalid-instruction', withField('debtor.name', 'Ordering\u200dCustomer')),
  hostile('creditor.name with a private-use character', 'invalid-instruction', withField('creditor.name', 'Beneficiary \ue000')),
  hostile('creditor.name trailing space', 'invalid-instruction', withField('creditor.name', 'Beneficiary Ltd ')),
  hostile('debtor.account with spaces', 'invalid-instruction', withField('debtor.account', 'DE00 1234 5678')),
  hostile('debtor.account 35 characters', 'invalid-instruction', withField('debtor.account', 'A'.repeat(35))),
  hostile('creditor.account empty', 'invalid-instruction', withField('creditor.account', '')),
  hostile('creditor.account with a hyphen', 'invalid-instruction', withField('creditor.account', 'FR00-1234')),
  hostile('purpose lowercase', 'invalid-instruction', withField('purpose', 'cash')),
  hostile('purpose five letters', 'invalid-instruction', withField('purpose', 'CASHX')),
  hostile('purpose with a digit', 'invalid-instruction', withField('purpose', 'CAS1')),
  hostile('charge_bearer lowercase', 'invalid-instruction', withField('charge_bearer', 'shar')),
  hostile('charge_bearer SLEV (not in the contract)', 'invalid-instruction', withField('charge_bearer', 'SLEV')),
  hostile('charge_bearer missing', 'invalid-instruction', withField('charge_bearer', undefined)),
];

const dateCases: HostileCase[] = [
  hostile('instructed_at without an offset', 'invalid-instruction', withField('instructed_at', '2026-11-22T10:00:00')),
  hostile('instructed_at lowercase t and z', 'invalid-instruction', withField('instructed_at', '2026-11-22t10:00:00z')),
  hostile('instructed_at date only', 'invalid-instruction', withField('instructed_at', '2026-11-22')),
  hostile('instructed_at on 29 February of a common year', 'invalid-instruction', withField('instructed_at', '2026-02-29T10:00:00Z')),
  hostile('instructed_at hour 24', 'invalid-instruction', withField('instructed_at', '2026-11-22T24:00:00Z')),
  hostile('instructed_at leap second', 'invalid-instruction', withField('instructed_at', '2026-12-31T23:59:60Z')),
  hostile('instructed_at offset +24:00', 'invalid-instruction', withField('instructed_at', '2026-11-22T10:00:00+24:00')),
  hostile('instructed_at as epoch milliseconds', 'invalid-instruction', withField('instructed_at', Date.now())),
  hostile('settlement_date month 13', 'invalid-instruction', withField('settlement_date', '2026-13-01')),
  hostile('settlement_date 29 February 2026', 'invalid-instruction', withField('settlement_date', '2026-02-29')),
  hostile('settlement_date a date-time', 'invalid-instruction', withField('settlement_date', '2026-11-22T00:00:00Z')),
  hostile('settlement_date day first', 'invalid-instruction', withField('settlement_date', '22/11/2026')),
  hostile('settlement_date year 0000', 'invalid-instruction', withField('settlement_date', '0000-01-01')),
];

const amountCases: HostileCase[] = [
  hostile('amount negative', 'invalid-instruction', withAmount('-125.40')),
  hostile('amount zero', 'invalid-instruction', withAmount('0')),
  hostile('amount zero with decimals', 'invalid-instruction', withAmount('0.00')),
  hostile('amount exponent notation', 'invalid-instruction', withAmount('1e5')),
  hostile('amount exponent notation, uppercase and signed', 'invalid-instruction', withAmount('1.2E+2')),
  hostile('amount three decimals in EUR', 'invalid-instruction', withAmount('125.401')),
  hostile('amount with decimals in JPY', 'invalid-instruction', withAmount('1.5', 'JPY')),
  hostile('amount four decimals in BHD', 'invalid-instruction', withAmount('1.0001', 'BHD')),
  hostile('amount 19 digits', 'invalid-instruction', withAmount('1234567890123456789')),
  hostile('amount 10^16 EUR (19 digits in minor units)', 'invalid-instruction', withAmount('10000000000000000.00')),
  hostile('amount 10^18 JPY', 'invalid-instruction', withAmount('1000000000000000000', 'JPY')),
  hostile('amount of 1,000 digits', 'invalid-instruction', withAmount('9'.repeat(1_000))),
  hostile('amount with a leading space', 'invalid-instruction', withAmount(' 125.40')),
  hostile('amount with a trailing newline', 'invalid-instruction', withAmount('125.40\n')),
  hostile('amount with a leading +', 'invalid-instruction', withAmount('+125.40')),
  hostile('amount with a leading zero', 'invalid-instruction', withAmount('0125.40')),
  hostile('amount 00', 'invalid-instruction', withAmount('00')),
  hostile('amount with a trailing point', 'invalid-instruction', withAmount('125.')),
  hostile('amount with a leading point', 'invalid-instruction', withAmount('.40')),
  hostile('amount with a decimal comma', 'invalid-instruction', withAmount('125,40')),
  hostile('amount with a thousands separator', 'invalid-instruction', withAmount('1,125.40')),
  hostile('amount with an underscore separator', 'invalid-instruction', withAmount('1_125.40')),
  hostile('amount hexadecimal', 'invalid-instruction', withAmount('0x7d')),
  hostile('amount Infinity', 'invalid-instruction', withAmount('Infinity')),
  hostile('amount NaN', 'invalid-instruction', withAmount('NaN')),
  hostile('amount in Arabic-Indic digits', 'invalid-instruction', withAmount('١٢٥')),
  hostile('amount in full-width digits', 'invalid-instruction', withAmount('１２５')),
  hostile('amount a JSON number', 'invalid-instruction', withAmount(125.4)),
  hostile('amount empty', 'invalid-instruction', withAmount('')),
  hostile('amount value missing', 'invalid-instruction', withField('amount', { currency: 'EUR' })),
  hostile('amount a string', 'invalid-instruction', withField('amount', '125.40 EUR')),
  hostile('amount an array', 'invalid-instruction', withField('amount', ['125.40', 'EUR'])),
];

const currencyAndCountryCases: HostileCase[] = [
  hostile('currency lowercase', 'invalid-instruction', withAmount('125.40', 'eur')),
  hostile('currency four letters', 'invalid-instruction', withAmount('125.40', 'EURO')),
  hostile('currency two letters', 'invalid-instruction', withAmount('125.40', 'EU')),
  hostile('currency unknown (ABC)', 'invalid-instruction', withAmount('125.40', 'ABC')),
  hostile('currency XXX (no currency)', 'invalid-instruction', withAmount('125', 'XXX')),
  hostile('currency XTS (testing code)', 'invalid-instruction', withAmount('125', 'XTS')),
  hostile('currency XAU (gold, no minor unit)', 'invalid-instruction', withAmount('1', 'XAU')),
  hostile('currency XDR (SDR)', 'invalid-instruction', withAmount('1', 'XDR')),
  hostile('currency HRK (withdrawn 2023)', 'invalid-instruction', withAmount('125.40', 'HRK')),
  hostile('currency CUC (withdrawn, amendment 178)', 'invalid-instruction', withAmount('125.40', 'CUC')),
  hostile('currency numeric code 978', 'invalid-instruction', withAmount('125.40', '978')),
  hostile('currency with a trailing space', 'invalid-instruction', withAmount('125.40', 'EUR ')),
  hostile('currency missing', 'invalid-instruction', withField('amount', { value: '125.40' })),
  // Fund codes have a minor unit (DESIGN.md cites CLF's 4), so they pass the schema; no corridor carries them.
  hostile('fund currency CLF (4 decimals) has no corridor', 'corridor-closed', withAmount('1.2345', 'CLF')),
  hostile('fund currency BOV has no corridor', 'corridor-closed', withAmount('125.40', 'BOV')),
  hostile('fund currency USN has no corridor', 'corridor-closed', withAmount('125.40', 'USN')),
  hostile('target_currency lowercase', 'invalid-instruction', withField('target_currency', 'eur')),
  hostile('target_currency XXX', 'invalid-instruction', withField('target_currency', 'XXX')),
  hostile('target_currency a number', 'invalid-instruction', withField('target_currency', 978)),
  hostile('target_currency missing', 'invalid-instruction', withField('target_currency', undefined)),
  hostile('debtor.country lowercase', 'invalid-instruction', withField('debtor.country', 'de')),
  hostile('debtor.country alpha-3', 'invalid-instruction', withField('debtor.country', 'DEU')),
  hostile('debtor.country XK (user-assigned)', 'invalid-instruction', withField('debtor.country', 'XK')),
  hostile('debtor.country UK (reserved, not GB)', 'invalid-instruction', withField('debtor.country', 'UK')),
  hostile('creditor.country EU', 'invalid-instruction', withField('creditor.country', 'EU')),
  hostile('creditor.country ZZ', 'invalid-instruction', withField('creditor.country', 'ZZ')),
  hostile('creditor.country numeric 250', 'invalid-instruction', withField('creditor.country', 250)),
  hostile('creditor.country missing', 'invalid-instruction', withField('creditor.country', undefined)),
];

const bicCases: HostileCase[] = [
  hostile('debtor_agent.bic lowercase', 'invalid-instruction', withField('debtor_agent.bic', 'alphdeffxxx')),
  hostile('debtor_agent.bic 10 characters', 'invalid-instruction', withField('debtor_agent.bic', 'ALPHDEFFXX')),
  hostile('debtor_agent.bic 12 characters', 'invalid-instruction', withField('debtor_agent.bic', 'ALPHDEFFXXXX')),
  hostile('debtor_agent.bic with a space', 'invalid-instruction', withField('debtor_agent.bic', 'ALPH DEFFXXX')),
  hostile("debtor_agent.bic another partner's BIC", 'invalid-instruction', withField('debtor_agent.bic', charlie.bic)),
  hostile("debtor_agent.bic the sender's BIC8 (not the registered BIC11)", 'invalid-instruction', withField('debtor_agent.bic', 'ALPHDEFF')),
  hostile('creditor_agent.bic country XX', 'invalid-instruction', withField('creditor_agent.bic', 'BRAVXXPPXXX')),
  hostile('creditor_agent.bic digit in the institution code', 'invalid-instruction', withField('creditor_agent.bic', 'BR4VFRPPXXX')),
  hostile('creditor_agent.bic 7 characters', 'invalid-instruction', withField('creditor_agent.bic', 'BRAVFRP')),
  hostile('creditor_agent.bic with a lowercase branch', 'invalid-instruction', withField('creditor_agent.bic', 'BRAVFRPPxxx')),
  hostile('creditor_agent.bic empty', 'invalid-instruction', withField('creditor_agent.bic', '')),
  hostile('creditor_agent.bic missing', 'invalid-instruction', withField('creditor_agent', {})),
  hostile('creditor_agent a string', 'invalid-instruction', withField('creditor_agent', 'BRAVFRPPXXX')),
  hostile('debtor_agent null', 'invalid-instruction', withField('debtor_agent', null)),
];

const unknownFieldCases: HostileCase[] = [
  hostile('unknown top-level field', 'invalid-instruction', withField('priority', 'HIGH')),
  hostile('top-level field in another case (UETR)', 'invalid-instruction', withField('UETR', crypto.randomUUID())),
  hostile('top-level __proto__ member', 'invalid-instruction', () => submitText(JSON.stringify(honestPayload()).replace(/^\{/, '{"__proto__":{"admin":true},'))),
  hostile('top-level constructor member', 'invalid-instruction', withField('constructor', { prototype: {} })),
  hostile('unknown field in amount', 'invalid-instruction', withField('amount.minor_units', '12540')),
  hostile('unknown field in debtor', 'invalid-instruction', withField('debtor.address', 'Hauptstr. 1')),
  hostile('unknown field in creditor', 'invalid-instruction', withField('creditor.lei', '5493001KJTIIGC8Y1R12')),
  hostile('unknown field in debtor_agent', 'invalid-instruction', withField('debtor_agent.name', 'Alpha Bank AG')),
  hostile('unknown field in creditor_agent', 'invalid-instruction', withField('creditor_agent.clearing_system', 'TARGET2')),
  hostile('debtor a string', 'invalid-instruction', withField('debtor', 'Ordering Customer GmbH')),
  hostile('creditor an array', 'invalid-instruction', withField('creditor', [])),
  hostile('purpose null', 'invalid-instruction', withField('purpose', null)),
  hostile('debtor missing', 'invalid-instruction', withField('debtor', undefined)),
  hostile('creditor_agent missing', 'invalid-instruction', withField('creditor_agent', undefined)),
  hostile('instructed_at missing', 'invalid-instruction', withField('instructed_at', undefined)),
  hostile('settlement_date missing', 'invalid-instruction', withField('settlement_date', undefined)),
];

const admissionCases: HostileCase[] = [
  hostile('a corridor that does not exist (EUR-MNT)', 'corridor-closed', withField('target_currency', 'MNT')),
  hostile('a corridor outside the partner jurisdiction (USD-USD from eu)', 'residency-denied', changed((instruction) => {
    instruction.amount = { value: '5.00', currency: 'USD' };
    instruction.target_currency = 'USD';
  })),
  hostile('a corridor outside the partner jurisdiction (charlie, us, on EUR-EUR)', 'residency-denied', async () => {
    const instruction = { ...honestPayload(), debtor_agent: { bic: charlie.bic } };
    return craftRequest({ body: await signInstruction(charlie, instruction), signer: charlie });
  }),
  hostile('a used UETR with a different instruction', 'duplicate-uetr-mismatch', async () => {
    const instruction = honestPayload();
    const first = await SELF.fetch(await submitInstruction(instruction));
    if (first.status !== 202) throw new Error(`setup: the first submission was not accepted (${first.status})`);
    return submitInstruction({ ...instruction, remittance_info: 'changed after acceptance' });
  }),
];

describe('hostile instruction: controls', () => {
  it('accepts an instruction built by every helper below when nothing is changed', async () => {
    const viaField = await SELF.fetch(await withField('remittance_info', 'invoice 42')());
    expect(viaField.status, await viaField.clone().text()).toBe(202);
    const viaText = await SELF.fetch(await submitText(JSON.stringify(honestPayload())));
    expect(viaText.status, await viaText.clone().text()).toBe(202);
    const viaHandBuiltJws = await SELF.fetch(await submitJws(jwsWith({ header: honestHeader, payload: honestPayload() })));
    expect(viaHandBuiltJws.status, await viaHandBuiltJws.clone().text()).toBe(202);
    const viaSegment = await SELF.fetch(await submitJws(jwsWithSegment(1, segment(honestPayload()))));
    expect(viaSegment.status, await viaSegment.clone().text()).toBe(202);
  });
});

describe('hostile instruction: JWS', () => runHostileCases(jwsCases, it));
describe('hostile instruction: malformed JSON payload', () => runHostileCases(malformedJsonCases, it));
describe('hostile instruction: uetr', () => runHostileCases(uetrCases, it));
describe('hostile instruction: text fields and codes', () => runHostileCases(textFieldCases, it));
describe('hostile instruction: dates', () => runHostileCases(dateCases, it));
describe('hostile instruction: amounts', () => runHostileCases(amountCases, it));
describe('hostile instruction: currencies and countries', () => runHostileCases(currencyAndCountryCases, it));
describe('hostile instruction: BICs', () => runHostileCases(bicCases, it));
describe('hostile instruction: unknown fields and wrong shapes', () => runHostileCases(unknownFieldCases, it));
describe('hostile instruction: admission', () => runHostileCases(admissionCases, it));
