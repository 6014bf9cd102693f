/**
 * /ops/dev-sign-in: local development only. In production Cloudflare Access signs the operator in
 * and sets the CF_Authorization cookie itself; locally there is no Access, so a developer pastes a
 * dev token (`npm run meridian -- ops token <email>`) here and this page sets that cookie.
 *
 * It is mounted BEFORE the Access gate (workers/app.ts), so it must not become a way in:
 *   - outside MERIDIAN_POSTURE=local-dev every path under it is 404, as if it did not exist;
 *   - it stores the token without trusting it: the gate verifies it on every /ops request
 *     (issuer, audience, expiry, operator), exactly as it verifies a cookie Access set;
 *   - a cross-site form post could sign the developer in as someone else (login CSRF), so the
 *     POST must come from this origin (Sec-Fetch-Site / Origin);
 *   - the cookie is HttpOnly (the console's script never reads it), SameSite=Strict, Path=/ops,
 *     and lives no longer than the token.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { setCookie } from 'hono/cookie';
import { decodeJwt } from 'jose';
import { isLocalDev } from '../../../core/gateway-key.ts';
import { ProblemError } from '../../../core/problem.ts';
import type { Env } from '../../env.ts';
import { accessCookieName, accessTokenCharsMax } from '../access/require-operator.ts';
import { escapeHtml } from './console-page.ts';
import { consoleSecurityHeaders } from './console-routes.ts';

export const devSignInPath = '/ops/dev-sign-in';
const signInBodyBytesMax = 16 * 1024;
/** The cookie never outlives the token, and never a day. */
const cookieMaxAgeSecondsMax = 24 * 60 * 60;
const compactJwsPattern = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

type TokenCheck = { ok: true; maxAgeSeconds: number } | { ok: false; message: string };

function checkTokenShape(token: string, nowSeconds: number): TokenCheck {
  if (token === '') return { ok: false, message: 'Paste a token first.' };
  if (token.length > accessTokenCharsMax) return { ok: false, message: `That is longer than an Access token can be (${accessTokenCharsMax} characters).` };
  if (!compactJwsPattern.test(token)) return { ok: false, message: 'That is not a JWT (three base64url parts joined by dots).' };
  let exp: unknown;
  try {
    exp = decodeJwt(token).exp;
  } catch {
    return { ok: false, message: 'That is not a JWT: its claims do not decode.' };
  }
  if (typeof exp !== 'number') return { ok: false, message: 'That token has no expiry (exp); Access tokens always have one.' };
  if (exp <= nowSeconds) return { ok: false, message: `That token expired at ${new Date(exp * 1000).toISOString()}; print a new one.` };
  return { ok: true, maxAgeSeconds: Math.min(Math.floor(exp - nowSeconds), cookieMaxAgeSecondsMax) };
}

function signInPage(nonce: string, message: string | undefined): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Meridian ops: dev sign-in</title>
<style nonce="${escapeHtml(nonce)}">
body { font-family: system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; color: #1b1f24; }
label { display: block; font-weight: 600; margin: 1rem 0 0.25rem; }
input { font: inherit; width: 100%; padding: 0.3rem; box-sizing: border-box; }
button { font: inherit; margin-top: 0.75rem; padding: 0.3rem 1rem; }
:focus-visible { outline: 3px solid #0969da; outline-offset: 2px; }
#sign-in-status:not(:empty) { border-left: 4px solid #cf222e; background: #ffebe9; padding: 0.4rem 0.6rem; }
code { font-size: 0.9rem; }
</style>
</head>
<body>
<h1>Dev sign-in (local development only)</h1>
<p>In production Cloudflare Access signs you in. Locally, print a dev token for an operator and paste it here:</p>
<p><code>npm run meridian -- ops token ana@meridian.example</code></p>
<p id="sign-in-status" role="status" aria-live="polite">${message === undefined ? '' : escapeHtml(message)}</p>
<form method="post" action="${devSignInPath}">
  <label for="token">Access token</label>
  <input id="token" name="token" type="password" required autocomplete="off" spellcheck="false" maxlength="${accessTokenCharsMax}" autofocus>
  <button type="submit">Sign in</button>
</form>
<p>Signing in again with another operator's token switches operator. The token is kept in the <code>${accessCookieName}</code> cookie (HttpOnly, SameSite=Strict, Path=/ops) until it expires.</p>
</body>
</html>`;
}

function freshNonce(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** Whether a form post comes from this origin (browsers send Sec-Fetch-Site, and Origin on every POST). */
function isSameOrigin(request: Request): boolean {
  const site = request.headers.get('sec-fetch-site');
  if (site !== null) return site === 'same-origin';
  const origin = request.headers.get('origin');
  return origin !== null && origin === new URL(request.url).origin;
}

/** Mount at `/ops/dev-sign-in`, before `/ops` and its Access gate. */
export function devSignInRoutes(): Hono<{ Bindings: Env }> {
  const signIn = new Hono<{ Bindings: Env }>();
  signIn.use('*', async (c, next) => {
    if (!isLocalDev(c.env.MERIDIAN_POSTURE)) throw new ProblemError('not-found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`);
    await next();
  });

  signIn.get('/', (c) => {
    const nonce = freshNonce();
    return c.html(signInPage(nonce, undefined), 200, consoleSecurityHeaders(nonce));
  });

  signIn.post('/', bodyLimit({ maxSize: signInBodyBytesMax }), async (c) => {
    if (!isSameOrigin(c.req.raw)) throw new ProblemError('forbidden', 'dev sign-in accepts a form posted from this page only');
    const form = await c.req.parseBody();
    const token = typeof form.token === 'string' ? form.token.trim() : '';
    const checked = checkTokenShape(token, Math.floor(Date.now() / 1000));
    const nonce = freshNonce();
    if (!checked.ok) return c.html(signInPage(nonce, checked.message), 400, consoleSecurityHeaders(nonce));
    setCookie(c, accessCookieName, token, {
      path: '/ops', sameSite: 'Strict', httpOnly: true, secure: new URL(c.req.url).protocol === 'https:', maxAge: checked.maxAgeSeconds,
    });
    return c.redirect('/ops', 303);
  });
  return signIn;
}
