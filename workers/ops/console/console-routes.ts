/**
 * GET /ops: the ops console (DESIGN.md "Ops console and ops API"), one HTML page whose inline
 * script drives the JSON API under /ops/api. Registered after the Access gate (ops-routes.ts), so
 * `c.var.operator` is the verified operator.
 *
 * The page holds the Access session, so it is locked down: a per-response CSP nonce is the only way
 * a script or style runs (no inline handlers, no third-party origin), fetches go to this origin
 * only, it cannot be framed (clickjacking an Approve button), and it is never cached.
 */
import type { Hono } from 'hono';
import type { OpsApp } from '../ops-routes.ts';
import { isLocalDev } from '../../../core/gateway-key.ts';
import { consolePage } from './console-page.ts';

const nonceBytes = 16;

function freshNonce(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(nonceBytes)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** Headers for every console document: the CSP admits only what carries this response's nonce. */
export function consoleSecurityHeaders(nonce: string): Record<string, string> {
  return {
    'content-security-policy': [
      "default-src 'none'",
      `script-src 'nonce-${nonce}'`,
      `style-src 'nonce-${nonce}'`,
      "connect-src 'self'",
      "img-src 'self'",
      "form-action 'self'",
      "base-uri 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  };
}

export function consoleRoutes(ops: Hono<OpsApp>): void {
  ops.get('/', (c) => {
    const nonce = freshNonce();
    return c.html(consolePage({ nonce, operatorEmail: c.var.operator.email, ...(isLocalDev(c.env.MERIDIAN_POSTURE) ? { devSignInPath: '/ops/dev-sign-in' } : {}) }), 200, consoleSecurityHeaders(nonce));
  });
}
