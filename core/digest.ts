import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

/*
 * Digests and byte encodings shared by the edge (workerd) and the regional backend (Node).
 * WebCrypto's digest is async and Buffer is Node-only, so hashing uses @noble/hashes (sync, both
 * runtimes) and the base64 codecs are written out here. The decoders are strict — exactly one
 * accepted text per byte string (no padding in base64url, mandatory padding in base64, zero
 * trailing bits, nothing outside the alphabet) — because these texts end up in signature bases
 * and digests, where a second spelling of the same bytes is a malleability hole.
 */

const textEncoder = new TextEncoder();

export function utf8(text: string): Uint8Array {
  return textEncoder.encode(text);
}

export function sha256(data: string | Uint8Array): Uint8Array {
  return nobleSha256(typeof data === 'string' ? utf8(data) : data);
}

/** Lowercase hex SHA-256; strings are hashed as their UTF-8 bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return bytesToHex(sha256(data));
}

const base64Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const base64urlAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function reverseTable(alphabet: string): Int16Array {
  const table = new Int16Array(128).fill(-1);
  for (let index = 0; index < alphabet.length; index++) table[alphabet.charCodeAt(index)] = index;
  return table;
}

const base64Table = reverseTable(base64Alphabet);
const base64urlTable = reverseTable(base64urlAlphabet);

function encodeWith(bytes: Uint8Array, alphabet: string, pad: boolean): string {
  let text = '';
  let index = 0;
  for (; index + 3 <= bytes.length; index += 3) {
    const triple = (bytes[index]! << 16) | (bytes[index + 1]! << 8) | bytes[index + 2]!;
    text += alphabet[(triple >> 18) & 63]! + alphabet[(triple >> 12) & 63]! + alphabet[(triple >> 6) & 63]! + alphabet[triple & 63]!;
  }
  const rest = bytes.length - index;
  if (rest === 1) {
    const single = bytes[index]!;
    text += alphabet[single >> 2]! + alphabet[(single & 3) << 4]! + (pad ? '==' : '');
  } else if (rest === 2) {
    const pair = (bytes[index]! << 8) | bytes[index + 1]!;
    text += alphabet[pair >> 10]! + alphabet[(pair >> 4) & 63]! + alphabet[(pair & 15) << 2]! + (pad ? '=' : '');
  }
  return text;
}

/** Decodes unpadded symbols; throws on a foreign character, an impossible length or non-zero trailing bits. */
function decodeSymbols(text: string, table: Int16Array, label: string): Uint8Array {
  if (text.length % 4 === 1) throw new Error(`${label}: impossible length ${text.length}`);
  const bytes = new Uint8Array(Math.floor((text.length * 3) / 4));
  let accumulator = 0;
  let bitCount = 0;
  let written = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    const value = code < 128 ? table[code]! : -1;
    if (value < 0) throw new Error(`${label}: invalid character at offset ${index}`);
    accumulator = ((accumulator << 6) | value) & 0xffffff;
    bitCount += 6;
    if (bitCount >= 8) {
      bitCount -= 8;
      bytes[written++] = (accumulator >> bitCount) & 0xff;
    }
  }
  if ((accumulator & ((1 << bitCount) - 1)) !== 0) throw new Error(`${label}: non-zero trailing bits`);
  return bytes;
}

export function base64urlEncode(bytes: Uint8Array): string {
  return encodeWith(bytes, base64urlAlphabet, false);
}

/** Strict RFC 4648 §5 without padding: '=' and characters outside A–Z a–z 0–9 - _ throw. */
export function base64urlDecode(text: string): Uint8Array {
  return decodeSymbols(text, base64urlTable, 'base64url');
}

export function base64Encode(bytes: Uint8Array): string {
  return encodeWith(bytes, base64Alphabet, true);
}

/** Strict RFC 4648 §4 with mandatory padding: length a multiple of 4, '=' only as 1–2 final characters. */
export function base64Decode(text: string): Uint8Array {
  if (text.length % 4 !== 0) throw new Error(`base64: length ${text.length} is not a multiple of 4`);
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return decodeSymbols(text.slice(0, text.length - padding), base64Table, 'base64');
}
