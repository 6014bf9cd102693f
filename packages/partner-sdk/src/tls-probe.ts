/**
 * Node only: the TLS version this machine's stack negotiates with the gateway, for the session
 * offer's `tls` (downgrade case 4 compares it with what Cloudflare observed). fetch() does not
 * expose the negotiated version, so we open one TLS connection with Node's defaults — the same
 * defaults undici's fetch uses — and read `getProtocol()`. Plain http reports "none".
 */
import { connect } from 'node:tls';

export const tlsProbeTimeoutMs = 5_000;

export function negotiatedTlsVersion(gateway: string | URL, timeoutMs = tlsProbeTimeoutMs): Promise<string> {
  const url = new URL(gateway);
  if (url.protocol === 'http:') return Promise.resolve('none');
  if (url.protocol !== 'https:') return Promise.reject(new Error(`cannot probe TLS for ${url.protocol} URLs`));
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port || 443), servername: url.hostname, ALPNProtocols: ['http/1.1'] });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TLS probe to ${url.host} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const protocol = socket.getProtocol();
      socket.end();
      if (protocol === null) reject(new Error(`TLS probe to ${url.host}: no protocol negotiated`));
      else resolve(protocol);
    });
    socket.once('error', (cause) => {
      clearTimeout(timer);
      reject(cause);
    });
  });
}
