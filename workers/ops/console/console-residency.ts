/**
 * The console's residency-exceptions section: the form that proposes a `residency-exception`
 * change (approved or rejected, like every change, in Pending changes) and the list of granted
 * exceptions with owner, reason and time left, counting down on every refresh; a lapsed one says so.
 *
 * `residencySectionHtml` is static markup (console-page.ts places it); `residencyScript` is a
 * fragment of the console's inline script (console-script.ts splices it into its one closure, so
 * it uses that closure's el/setText/callApi/announce/refreshSoon). Like the rest of the script it
 * inserts API data as text only, and is String.raw: no backtick, no dollar-brace.
 *
 * The reason field is labelled "Exception reason": the corridor form's field is "Reason", and two
 * fields of one name would leave a screen reader user guessing which one they are in.
 */
import { residencyExceptionDurationMaxMs } from '../../../core/ops-changes.ts';

const durationMaxDays = residencyExceptionDurationMaxMs / 86_400_000;

export const residencySectionHtml = `<section aria-labelledby="residency-heading">
    <h2 id="residency-heading" tabindex="-1">Residency exceptions</h2>
    <form id="residency-proposal" novalidate>
      <fieldset>
        <legend>Propose a residency exception</legend>
        <label for="residency-partner">Partner</label>
        <input id="residency-partner" name="partner_id" type="text" maxlength="64" autocomplete="off" spellcheck="false">
        <label for="residency-country">Debtor country</label>
        <input id="residency-country" name="debtor_country" type="text" maxlength="2" autocomplete="off" spellcheck="false" aria-describedby="residency-hint">
        <label for="residency-owner">Owner</label>
        <input id="residency-owner" name="owner" type="text" maxlength="200" autocomplete="off">
        <label for="residency-reason">Exception reason</label>
        <input id="residency-reason" name="reason" type="text" maxlength="1000" autocomplete="off">
        <label for="residency-expires">Expires at</label>
        <input id="residency-expires" name="expires_at" type="text" maxlength="40" autocomplete="off" spellcheck="false" placeholder="2026-12-31T17:00:00Z" aria-describedby="residency-hint">
        <button type="submit" id="residency-propose">Propose exception</button>
        <p id="residency-hint" class="muted">Debtor country: the ISO 3166 code (US, GB…) of a country outside the partner's jurisdiction. Expires at: RFC 3339 with a zone, at most ${durationMaxDays} days ahead. A second operator approves it under Pending changes.</p>
      </fieldset>
    </form>
    <p id="residency-empty" class="muted">No residency exception has been granted.</p>
    <table>
      <thead><tr><th scope="col">Partner</th><th scope="col">Debtor country</th><th scope="col">Owner</th><th scope="col">Reason</th><th scope="col">Expires</th><th scope="col">Time left</th><th scope="col">Granted by</th></tr></thead>
      <tbody id="residency-rows"></tbody>
    </table>
  </section>`;

export const residencyScript = String.raw`
  // -- Residency exceptions -------------------------------------------------------------------

  var residencyRows = new Map();
  var residencyFields = ['partner', 'country', 'owner', 'reason', 'expires'].map(function (name) { return byId('residency-' + name); });

  /** "6 d 23 h", "3 h 05 min", "4 min 09 s", "12 s": coarse far out, to the second near the end. */
  function timeLeft(ms) {
    var seconds = Math.floor(ms / 1000);
    var days = Math.floor(seconds / 86400), hours = Math.floor(seconds % 86400 / 3600), minutes = Math.floor(seconds % 3600 / 60);
    var two = function (n) { return String(n).padStart(2, '0'); };
    if (days > 0) return days + ' d ' + hours + ' h';
    if (hours > 0) return hours + ' h ' + two(minutes) + ' min';
    if (minutes > 0) return minutes + ' min ' + two(seconds % 60) + ' s';
    return seconds + ' s';
  }

  function residencyRow(exception) {
    var entry = { left: el('td', { 'data-time-left': '' }) };
    entry.row = el('tr', { 'data-change-id': exception.change_id }, [
      el('th', { scope: 'row', text: String(exception.partner_id) }),
      el('td', { text: String(exception.debtor_country) }),
      el('td', { text: String(exception.owner) }),
      el('td', { text: String(exception.reason) }),
      el('td', { text: utc(exception.expires_at) }),
      entry.left,
      el('td', { text: String(exception.granted_by) }),
    ]);
    return entry;
  }

  /** The server's time_left_ms, less what passed since it answered, so the count runs between answers. */
  function renderResidency(answer, answeredAtMs) {
    var tbody = byId('residency-rows');
    var exceptions = answer.exceptions || [];
    var seen = new Set();
    exceptions.forEach(function (exception, index) {
      seen.add(exception.change_id);
      var entry = residencyRows.get(exception.change_id);
      if (entry === undefined) {
        entry = residencyRow(exception);
        residencyRows.set(exception.change_id, entry);
      }
      if (tbody.children[index] !== entry.row) tbody.insertBefore(entry.row, tbody.children[index] || null);
      var leftMs = exception.time_left_ms - (Date.now() - answeredAtMs);
      var lapsed = exception.status === 'lapsed' || leftMs <= 0;
      var text = lapsed ? 'lapsed' : timeLeft(leftMs) + (exception.propagated ? '' : ' (not yet at the edge)');
      setText(entry.left, text);
      entry.left.setAttribute('data-time-left', lapsed ? 'lapsed' : 'live');
      entry.left.className = lapsed ? 'muted' : '';
    });
    residencyRows.forEach(function (entry, changeId) {
      if (!seen.has(changeId)) {
        removeRow(entry.row, 'residency-heading');
        residencyRows.delete(changeId);
      }
    });
    byId('residency-empty').hidden = exceptions.length > 0;
  }

  var proposingException = false;
  byId('residency-proposal').addEventListener('submit', async function (event) {
    event.preventDefault();
    if (proposingException) return;
    var values = residencyFields.map(function (field) { return field.value.trim(); });
    var missing = residencyFields.filter(function (field, index) { return values[index] === ''; })[0];
    if (missing !== undefined) {
      announce('Every field is required: ' + document.querySelector('label[for="' + missing.id + '"]').textContent + ' is empty.', 'error');
      missing.focus();
      return;
    }
    proposingException = true;
    var proposal = { kind: 'residency-exception', partner_id: values[0], debtor_country: values[1].toUpperCase(), owner: values[2], reason: values[3], expires_at: values[4] };
    var answer = await callApi('POST', '/changes', proposal);
    proposingException = false;
    if (answer.ok) {
      residencyFields.forEach(function (field) { field.value = ''; });
      announce('Proposed a residency exception for ' + proposal.partner_id + ', debtor ' + proposal.debtor_country + ' (change ' + shortId(answer.body.id) + '); it expires ' + utc(answer.body.expires_at) + ' unless another operator approves it.', 'ok');
    } else {
      announce(answer.message, 'error');
    }
    refreshSoon();
  });
`;
