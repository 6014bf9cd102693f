/**
 * RFC 9421 HTTP Message Signatures: parsing `Signature-Input`/`Signature` and building the
 * signature base. Pure and runtime-neutral; the crypto (Ed25519, ML-DSA-65) lives with the caller.
 *
 * RFC 8941 structured-field parsing and serialization come from `structured-headers`. The
 * signature base itself is written here because no maintained library builds it over a
 * WebCrypto-only runtime for both signer and verifier; we support the derived components the
 * partner protocol needs and refuse the rest (component parameters such as `;sf`, `;req`, `;bs`)
 * rather than guess.
 */
import { isInnerList, parseDictionary, serializeInnerList, type InnerList, type Parameters } from 'structured-headers';
import { err, ok, type Result } from './result.ts';

export interface SignedMessage {
  method: string;
  url: string;
  headers: { get(name: string): string | null };
}

export interface SignatureParams {
  created?: number;
  expires?: number;
  nonce?: string;
  keyid?: string;
  alg?: string;
  tag?: string;
}

export interface MessageSignature {
  label: string;
  components: string[];
  params: SignatureParams;
  /** The `@signature-params` line value, re-serialized canonically. */
  signatureParams: string;
  signature: Uint8Array;
}

export type SignatureFailure =
  | { kind: 'malformed-signature'; detail: string }
  | { kind: 'missing-component'; detail: string }
  | { kind: 'unsupported-component'; detail: string };

const derivedComponents = new Set(['@method', '@target-uri', '@authority', '@scheme', '@request-target', '@path', '@query']);
export const signatureHeaderBytesMax = 8_192;
const componentsMax = 32;

/** Parses both headers and pairs each `Signature-Input` label with its `Signature` bytes. */
export function parseMessageSignatures(
  signatureInput: string | null,
  signature: string | null,
): Result<Map<string, MessageSignature>, SignatureFailure> {
  if (signatureInput === null || signature === null) {
    return err({ kind: 'malformed-signature', detail: 'Signature-Input and Signature headers are both required' });
  }
  if (signatureInput.length > signatureHeaderBytesMax || signature.length > signatureHeaderBytesMax) {
    return err({ kind: 'malformed-signature', detail: `signature headers exceed ${signatureHeaderBytesMax} bytes` });
  }
  let inputs;
  let signatures;
  try {
    inputs = parseDictionary(signatureInput);
    signatures = parseDictionary(signature);
  } catch (cause) {
    return err({ kind: 'malformed-signature', detail: `not an RFC 8941 dictionary: ${(cause as Error).message}` });
  }
  const duplicate = duplicateDictionaryKey(signatureInput) ?? duplicateDictionaryKey(signature);
  if (duplicate !== null) return err({ kind: 'malformed-signature', detail: `${duplicate} appears twice in a signature header` });
  const parsed = new Map<string, MessageSignature>();
  for (const [label, member] of inputs) {
    if (!isInnerList(member)) return err({ kind: 'malformed-signature', detail: `Signature-Input ${label} is not an inner list` });
    const signed = signatures.get(label);
    if (signed === undefined || isInnerList(signed) || !(signed[0] instanceof ArrayBuffer)) {
      return err({ kind: 'malformed-signature', detail: `Signature ${label} is missing or not a byte sequence` });
    }
    const entry = parseSignatureEntry(label, member, new Uint8Array(signed[0]));
    if (!entry.ok) return entry;
    parsed.set(label, entry.value);
  }
  return ok(parsed);
}

function parseSignatureEntry(label: string, member: InnerList, signature: Uint8Array): Result<MessageSignature, SignatureFailure> {
  const [items, parameters] = member;
  if (items.length > componentsMax) return err({ kind: 'malformed-signature', detail: `${label} covers more than ${componentsMax} components` });
  const components: string[] = [];
  for (const [value, itemParams] of items) {
    if (typeof value !== 'string') return err({ kind: 'malformed-signature', detail: `${label}: component identifiers must be strings` });
    if (itemParams.size > 0) return err({ kind: 'unsupported-component', detail: `${label}: component parameters are not supported (${value})` });
    if (value !== value.toLowerCase()) return err({ kind: 'malformed-signature', detail: `${label}: component ${value} must be lowercase` });
    if (components.includes(value)) return err({ kind: 'malformed-signature', detail: `${label}: component ${value} appears twice` });
    components.push(value);
  }
  const params = signatureParamsFrom(parameters);
  if (!params.ok) return err({ kind: 'malformed-signature', detail: `${label}: ${params.reason.detail}` });
  return ok({ label, components, params: params.value, signatureParams: serializeInnerList(member), signature });
}

function signatureParamsFrom(parameters: Parameters): Result<SignatureParams, { kind: 'bad-params'; detail: string }> {
  const params: SignatureParams = {};
  for (const [name, value] of parameters) {
    switch (name) {
      case 'created':
      case 'expires':
        if (typeof value !== 'number' || !Number.isSafeInteger(value)) return err({ kind: 'bad-params', detail: `${name} must be an integer` });
        params[name] = value;
        break;
      case 'nonce':
      case 'keyid':
      case 'alg':
      case 'tag':
        if (typeof value !== 'string') return err({ kind: 'bad-params', detail: `${name} must be a string` });
        params[name] = value;
        break;
      default:
        return err({ kind: 'bad-params', detail: `unknown signature parameter ${name}` });
    }
  }
  return ok(params);
}

/**
 * RFC 8941 lets the last of duplicate dictionary keys (and parameter keys) win, so
 * `sig1=<garbage>, sig1=<honest>` would parse as the honest label alone. An ambiguous signature
 * header is refused instead: this names the first key that repeats — a member key, or a parameter
 * key within one item or inner list — or returns null. It runs only on text the RFC 8941 parser
 * accepted, so it can follow the grammar loosely; it is a linear scan without recursion.
 */
export function duplicateDictionaryKey(header: string): string | null {
  let index = 0;
  const keyChar = /[a-z0-9_\-.*]/;
  const readKey = (): string => {
    const start = index;
    while (index < header.length && keyChar.test(header[index] as string)) index++;
    return header.slice(start, index);
  };
  const skipSpaces = (): void => {
    while (header[index] === ' ' || header[index] === '\t') index++;
  };
  const skipBareItem = (): void => {
    const first = header[index];
    if (first === '"' || (first === '%' && header[index + 1] === '"')) {
      index += first === '"' ? 1 : 2;
      while (index < header.length && header[index] !== '"') index += header[index] === '\\' ? 2 : 1;
      index++;
    } else if (first === ':') {
      index = header.indexOf(':', index + 1) + 1;
    } else {
      while (index < header.length && !/[\s;,()]/.test(header[index] as string)) index++;
    }
  };
  const duplicateParameter = (): string | null => {
    const names = new Set<string>();
    while (header[index] === ';') {
      index++;
      skipSpaces();
      const name = readKey();
      if (names.has(name)) return `parameter ${name}`;
      names.add(name);
      if (header[index] === '=') {
        index++;
        skipBareItem();
      }
    }
    return null;
  };
  const members = new Set<string>();
  while (index < header.length) {
    skipSpaces();
    const key = readKey();
    if (members.has(key)) return `label ${key}`;
    members.add(key);
    if (header[index] === '=') {
      index++;
      if (header[index] === '(') {
        index++;
        for (skipSpaces(); header[index] !== ')' && index < header.length; skipSpaces()) {
          const before = index;
          skipBareItem();
          const parameter = duplicateParameter();
          if (parameter !== null) return `${parameter} of ${key}`;
          if (index === before) return null; // not RFC 8941 after all: leave it to the parser's verdict
        }
        index++;
      } else {
        skipBareItem();
      }
    }
    const parameter = duplicateParameter();
    if (parameter !== null) return `${parameter} of ${key}`;
    skipSpaces();
    if (header[index] !== ',') break;
    index++;
  }
  return null;
}

/** The signature base of RFC 9421 §2.5: one line per covered component, then `@signature-params`. */
export function signatureBase(message: SignedMessage, components: string[], signatureParams: string): Result<string, SignatureFailure> {
  const url = new URL(message.url);
  const lines: string[] = [];
  for (const component of components) {
    const value = componentValue(message, url, component);
    if (!value.ok) return value;
    lines.push(`"${component}": ${value.value}`);
  }
  lines.push(`"@signature-params": ${signatureParams}`);
  return ok(lines.join('\n'));
}

function componentValue(message: SignedMessage, url: URL, component: string): Result<string, SignatureFailure> {
  if (component.startsWith('@')) {
    if (!derivedComponents.has(component)) return err({ kind: 'unsupported-component', detail: `derived component ${component} is not supported` });
    return ok(derivedValue(message, url, component));
  }
  const header = message.headers.get(component);
  if (header === null) return err({ kind: 'missing-component', detail: `covered header ${component} is absent` });
  // RFC 9421 §2.1: strip leading/trailing whitespace; multiple values were already joined by ", ".
  return ok(header.trim());
}

function derivedValue(message: SignedMessage, url: URL, component: string): string {
  switch (component) {
    case '@method':
      return message.method.toUpperCase();
    case '@target-uri':
      return url.href;
    case '@authority':
      return url.host.toLowerCase();
    case '@scheme':
      return url.protocol.slice(0, -1).toLowerCase();
    case '@request-target':
      return url.pathname + url.search;
    case '@path':
      return url.pathname;
    case '@query':
      return url.search === '' ? '?' : url.search;
    default:
      throw new Error(`unreachable: ${component} passed the derived-component check`);
  }
}

/** Serializes the `@signature-params` value for a signer: the same bytes a verifier re-derives. */
export function serializeSignatureParams(components: string[], params: SignatureParams): string {
  const parameters: Parameters = new Map();
  for (const name of ['created', 'expires', 'nonce', 'keyid', 'alg', 'tag'] as const) {
    const value = params[name];
    if (value !== undefined) parameters.set(name, value);
  }
  return serializeInnerList([components.map((component) => [component, new Map()]), parameters]);
}
