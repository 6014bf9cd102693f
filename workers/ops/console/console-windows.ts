/**
 * The console's netting-windows view (GET /ops/api/windows): one row per window across corridors,
 * with its state, counts and the problem an operator must act on — for a `refused` window the
 * backend's slug, reason, the regions that refused and their detail (its payments were rejected:
 * flagged, never colour alone), for a window still in the outbox its last delivery error.
 *
 * A fragment of the one inline script (console-script.ts splices it in and routes the /windows
 * view here instead of the generic table, which cut a window's state and error off past its
 * twelfth column). Data goes in as text only; String.raw, no backtick, no dollar-brace.
 */
export const windowsScript = String.raw`
  // -- Netting windows --------------------------------------------------------------------------

  var windowsRowsShownMax = 100;
  var windowColumns = ['Corridor', 'Jurisdiction', 'Batch', 'State', 'Payments', 'Legs', 'Attempts', 'Finished', 'Problem'];

  /** What an operator must act on, as text: the refusal, else the last delivery error, else nothing. */
  function windowProblem(window) {
    var refusal = window.refusal;
    if (refusal) {
      // The detail opens with the status, slug and reason (core classifySettlementRefusal), so they are not repeated.
      return 'refused by ' + (refusal.regions || []).join(', ') + (refusal.partners_notified ? ', payments rejected' : ', rejecting payments\u2026') + ': ' +
        (refusal.detail || refusal.slug + (refusal.reason ? ' (' + refusal.reason + ')' : ''));
    }
    return window.last_error || '';
  }

  function windowRow(corridor, window) {
    var finished = window.refusal ? window.refusal.refused_at : window.settled_at;
    var stateCell = el('td', { 'data-state': window.state, text: window.state === 'refused' ? 'REFUSED' : window.state });
    if (window.state === 'refused') stateCell.className = 'alert';
    var problem = windowProblem(window);
    var problemCell = el('td', { text: problem ? problem.slice(0, 600) : '\u2014' });
    if (window.state === 'refused') problemCell.className = 'alert';
    return el('tr', { 'data-batch-id': window.batch_id }, [
      el('td', { text: String(corridor.corridor) }),
      el('td', { text: String(corridor.jurisdiction) }),
      el('th', { scope: 'row' }, [el('code', { text: String(window.batch_id) })]),
      stateCell,
      el('td', { text: cellText('payment_count', window.payment_count) }),
      el('td', { text: cellText('leg_count', window.leg_count) }),
      el('td', { text: String(window.delivery_attempts) }),
      el('td', { text: finished ? utc(finished) : '\u2014' }),
      problemCell,
    ]);
  }

  function renderWindows(state, payload) {
    var corridors = (payload && payload.corridors) || [];
    var totals = {};
    var rows = [];
    corridors.forEach(function (corridor) {
      if (corridor.status !== 'ok') {
        rows.push(el('tr', {}, [
          el('td', { text: String(corridor.corridor) }), el('td', { text: String(corridor.jurisdiction) }),
          el('td', { class: 'alert', colspan: String(windowColumns.length - 2), text: 'unreachable: ' + (corridor.error || '') }),
        ]));
        return;
      }
      Object.keys(corridor.windows_by_state || {}).forEach(function (name) { totals[name] = (totals[name] || 0) + corridor.windows_by_state[name]; });
      (corridor.windows || []).forEach(function (window) { rows.push(windowRow(corridor, window)); });
    });
    setText(state.note, Object.keys(totals).sort().map(function (name) { return name + ': ' + totals[name]; }).join(' \u00b7 ') || 'No window yet.');
    state.body.replaceChildren();
    if (rows.length === 0) return;
    var shown = rows.slice(0, windowsRowsShownMax);
    state.body.append(el('table', {}, [
      el('caption', { text: 'windows (' + rows.length + (rows.length > shown.length ? ', first ' + shown.length + ' shown' : '') + ')' }),
      el('thead', {}, [el('tr', {}, windowColumns.map(function (column) { return el('th', { scope: 'col', text: column }); }))]),
      el('tbody', {}, shown),
    ]));
  }
`;
