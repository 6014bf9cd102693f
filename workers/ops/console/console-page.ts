/**
 * The console's one HTML document. Static except for two values, both escaped here: the CSP nonce
 * (hex from crypto.getRandomValues) and the signed-in operator's email (from the verified Access
 * token). Everything the API returns is inserted by the inline script with textContent only.
 */
import { consoleScript } from './console-script.ts';
import { holdsSectionHtml } from './console-holds.ts';
import { residencySectionHtml } from './console-residency.ts';
import { consoleStyles } from './console-styles.ts';

/** How often the page re-reads corridors, pending changes, held payments, residency exceptions and the audit log, in ms. */
export const consoleRefreshIntervalMs = 2_000;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** `devSignInPath`: local-dev only, a link to switch operator through the dev sign-in page. */
export function consolePage(options: { nonce: string; operatorEmail: string; devSignInPath?: string }): string {
  const nonce = escapeHtml(options.nonce);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Meridian ops console</title>
<style nonce="${nonce}">${consoleStyles}</style>
</head>
<body data-refresh-ms="${consoleRefreshIntervalMs}" data-operator="${escapeHtml(options.operatorEmail)}">
<header>
  <h1>Meridian ops console</h1>
  <p>Signed in as <strong id="operator">${escapeHtml(options.operatorEmail)}</strong>. Every change needs a second operator's approval.${options.devSignInPath === undefined ? '' : ` <a href="${escapeHtml(options.devSignInPath)}">Switch operator (dev sign-in)</a>`}</p>
  <p id="refreshed" class="muted">Not refreshed yet.</p>
</header>
<p id="announcer" role="status" aria-live="polite" aria-atomic="true"></p>
<main>
  <section aria-labelledby="corridors-heading">
    <h2 id="corridors-heading" tabindex="-1">Corridors</h2>
    <form id="proposal" novalidate>
      <label for="reason">Reason</label>
      <input id="reason" name="reason" type="text" maxlength="500" autocomplete="off" aria-describedby="proposal-hint">
      <button type="submit" id="propose">Propose</button>
      <p id="proposal-hint" class="muted">Type a reason, then press Pause, Drain or Open on a corridor; or press one first and then Propose.</p>
    </form>
    <table>
      <thead><tr><th scope="col">Corridor</th><th scope="col">State</th><th scope="col">Jurisdictions</th><th scope="col">Pending</th><th scope="col">Propose</th></tr></thead>
      <tbody id="corridor-rows"></tbody>
    </table>
  </section>
  <section aria-labelledby="changes-heading">
    <h2 id="changes-heading" tabindex="-1">Pending changes</h2>
    <p id="changes-empty" class="muted">No change is waiting for approval.</p>
    <table>
      <thead><tr><th scope="col">Change</th><th scope="col">What</th><th scope="col">Reason</th><th scope="col">Proposed by</th><th scope="col">Proposed at</th><th scope="col">Expires</th><th scope="col">Decide</th></tr></thead>
      <tbody id="change-rows"></tbody>
    </table>
  </section>
  ${holdsSectionHtml}
  ${residencySectionHtml}
  <section aria-labelledby="audit-heading">
    <h2 id="audit-heading">Audit log</h2>
    <p id="audit-chain" class="muted">Chain not checked yet.</p>
    <table>
      <thead><tr><th scope="col">Seq</th><th scope="col">At</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Change</th><th scope="col">Kind</th><th scope="col">Hash</th></tr></thead>
      <tbody id="audit-rows"></tbody>
    </table>
  </section>
  <div id="views"></div>
</main>
<script nonce="${nonce}">${consoleScript}</script>
</body>
</html>`;
}
