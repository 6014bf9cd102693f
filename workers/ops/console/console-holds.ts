/**
 * The console's held-payments section: every payment sanctions screening held (GET /ops/api/holds)
 * with the matched entry, score, algorithm and list version (or the provider failure), and per row
 * the buttons `Release` and `Reject`, which propose a `hold-decision` change with the reason typed
 * in the section's field (approved or rejected by a second operator under Pending changes).
 *
 * Like console-residency.ts: `holdsSectionHtml` is static markup (console-page.ts places it),
 * `holdsScript` a fragment of the one inline script (console-script.ts splices it in and calls
 * `renderHolds`), inserting API data as text only; String.raw, no backtick, no dollar-brace.
 * The field is labelled "Hold reason" so that it is not a second field named "Reason".
 */

export const holdsSectionHtml = `<section aria-labelledby="holds-heading">
    <h2 id="holds-heading" tabindex="-1">Held payments</h2>
    <form id="hold-proposal" novalidate>
      <label for="hold-reason">Hold reason</label>
      <input id="hold-reason" name="reason" type="text" maxlength="1000" autocomplete="off" aria-describedby="hold-hint">
      <button type="submit" id="hold-propose">Propose decision</button>
      <p id="hold-hint" class="muted">Type why (for the approver and the audit log), then press Release or Reject on a held payment; a second operator approves it under Pending changes.</p>
    </form>
    <p id="holds-empty" class="muted">No payment is held.</p>
    <table>
      <thead><tr><th scope="col">Payment</th><th scope="col">Partner</th><th scope="col">Corridor</th><th scope="col">Amount</th><th scope="col">Debtor / creditor</th><th scope="col">Matched entry</th><th scope="col">Score</th><th scope="col">Algorithm</th><th scope="col">List version</th><th scope="col">Pending</th><th scope="col">Decide</th></tr></thead>
      <tbody id="hold-rows"></tbody>
    </table>
  </section>`;

export const holdsScript = String.raw`
  // -- Held payments ----------------------------------------------------------------------------

  var holdRows = new Map();
  var holdReason = byId('hold-reason');
  var holdHint = byId('hold-hint');
  var holdDefaultHint = holdHint.textContent;
  var chosenHold = null;

  function holdKey(hold) { return hold.partner_id + '/' + hold.uetr; }

  /** What screening found, as text: the best match, or why no provider answered. */
  function holdFinding(hold) {
    var screening = hold.screening || {};
    var match = (screening.matches || [])[0];
    if (match === undefined) return { entry: 'none: ' + (screening.failure ? screening.failure.kind : hold.cause), score: '\u2014' };
    return { entry: match.listed_name + ' (' + match.entry_id + '), matched as \u201c' + match.matched_alias + '\u201d on the ' + match.party, score: String(match.score) };
  }

  function holdRow(hold) {
    var headerId = freshId('hold');
    var finding = holdFinding(hold);
    var screening = hold.screening || {};
    var version = screening.list_version ? screening.list_version.digest.slice(0, 12) + ' (' + utc(screening.list_version.loaded_at) + ')' : 'no list answered';
    var entry = { pending: el('td') };
    var decide = el('td');
    [['Release', 'release'], ['Reject', 'reject']].forEach(function (pair) {
      var button = el('button', { type: 'button', 'data-verb': pair[1], 'aria-describedby': headerId, text: pair[0] });
      button.addEventListener('click', function () { chooseHold(hold, pair[1], button); });
      decide.append(button);
    });
    entry.row = el('tr', { 'data-uetr': hold.uetr }, [
      el('th', { scope: 'row', id: headerId }, [el('code', { title: hold.uetr, text: shortId(hold.uetr) })]),
      el('td', { text: String(hold.partner_id) }),
      el('td', { text: String(hold.corridor) }),
      el('td', { text: hold.amount.value + ' ' + hold.amount.currency }),
      el('td', { text: hold.debtor_name + ' \u2192 ' + hold.creditor_name }),
      el('td', { text: finding.entry }),
      el('td', { text: finding.score }),
      el('td', { text: String(screening.algorithm || '\u2014') + (screening.threshold ? ' \u2265 ' + screening.threshold : '') }),
      el('td', { text: version }),
      entry.pending,
      decide,
    ]);
    return entry;
  }

  function renderHolds(answer, pendingChanges) {
    var tbody = byId('hold-rows');
    var held = answer.holds || [];
    var seen = new Set();
    held.forEach(function (hold, index) {
      var key = holdKey(hold);
      seen.add(key);
      var entry = holdRows.get(key);
      if (entry === undefined) {
        entry = holdRow(hold);
        holdRows.set(key, entry);
      }
      if (tbody.children[index] !== entry.row) tbody.insertBefore(entry.row, tbody.children[index] || null);
      var pending = pendingChanges.filter(function (change) { return change.proposal && change.proposal.kind === 'hold-decision' && change.proposal.uetr === hold.uetr && change.proposal.partner_id === hold.partner_id; });
      setText(entry.pending, pending.map(function (change) { return change.proposal.decision + ' by ' + change.proposed_by; }).join('; '));
    });
    holdRows.forEach(function (entry, key) {
      if (!seen.has(key)) {
        removeRow(entry.row, 'holds-heading');
        holdRows.delete(key);
      }
    });
    byId('holds-empty').hidden = held.length > 0;
  }

  function chooseHold(hold, decision, button) {
    var choice = { hold: hold, decision: decision, button: button };
    if (holdReason.value.trim() === '') {
      chosenHold = choice;
      var prompt = 'To ' + decision + ' payment ' + shortId(hold.uetr) + ' of ' + hold.partner_id + ', type a hold reason, then press Enter or Propose decision.';
      setText(holdHint, prompt);
      announce('Reason required. ' + prompt, '');
      holdReason.focus();
      return;
    }
    proposeHold(choice);
  }

  var proposingHold = false;
  async function proposeHold(choice) {
    if (proposingHold) return;
    proposingHold = true;
    var proposal = { kind: 'hold-decision', uetr: choice.hold.uetr, partner_id: choice.hold.partner_id, decision: choice.decision, reason: holdReason.value.trim() };
    var answer = await callApi('POST', '/changes', proposal);
    proposingHold = false;
    if (answer.ok) {
      holdReason.value = '';
      chosenHold = null;
      setText(holdHint, holdDefaultHint);
      announce('Proposed to ' + choice.decision + ' payment ' + shortId(choice.hold.uetr) + ' of ' + choice.hold.partner_id + ' (change ' + shortId(answer.body.id) + '); another operator must approve it.', 'ok');
      if (choice.button.isConnected) choice.button.focus();
    } else {
      announce(answer.message, 'error');
    }
    refreshSoon();
  }

  byId('hold-proposal').addEventListener('submit', function (event) {
    event.preventDefault();
    if (chosenHold === null) {
      announce('Choose Release or Reject on a held payment; the proposal uses the reason typed here.', 'error');
      return;
    }
    if (holdReason.value.trim() === '') {
      announce('Reason required: say why, for the approver and the audit log.', 'error');
      holdReason.focus();
      return;
    }
    proposeHold(chosenHold);
  });
  holdReason.addEventListener('keydown', function (event) {
    if (event.key === 'Escape' && chosenHold !== null) {
      var button = chosenHold.button;
      chosenHold = null;
      setText(holdHint, holdDefaultHint);
      announce('Proposal cancelled.', '');
      if (button.isConnected) button.focus();
    }
  });
`;
