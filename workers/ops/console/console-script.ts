/**
 * The console's inline script: plain browser JavaScript, no framework, no build step. It polls the
 * ops API (same origin, the CF_Authorization cookie carries the Access token) and updates the page
 * in place, keyed by corridor id, change id and audit seq, so a refresh never destroys the button
 * or field an operator is on: keyboard focus survives every refresh cycle.
 *
 * Threat: everything it shows came from the API, and proposals carry free text (reasons) typed by
 * other people. It inserts data only as text (textContent / Text nodes), never as markup; the page's
 * CSP (console-routes.ts) admits only this nonce'd script, so an injected <script> would not run anyway.
 *
 * Written as String.raw so its backslashes reach the browser unchanged; it must not contain a
 * backtick or a dollar-brace.
 */
import { holdsScript } from './console-holds.ts';
import { residencyScript } from './console-residency.ts';
import { windowsScript } from './console-windows.ts';

export const consoleScript = String.raw`
(function () {
  'use strict';
  var refreshMs = Number(document.body.dataset.refreshMs) || 2000;
  var me = document.body.dataset.operator || '';
  var api = '/ops/api';
  var problemPrefix = 'urn:meridian:problem:';
  var auditRowsShownMax = 100;
  var viewEveryCycles = 5;
  var genesisHash = '0'.repeat(64);
  var verbs = { paused: 'pause', draining: 'drain', open: 'open' };
  var corridorButtons = [['Pause', 'paused'], ['Drain', 'draining'], ['Open', 'open']];
  var views = [
    { path: '/windows', title: 'Netting windows', windows: true },
    { path: '/security-events', title: 'Security events' },
    { path: '/backends', title: 'Regional backends' },
    { path: '/keys', title: 'Signing keys' },
  ];

  function byId(id) { return document.getElementById(id); }
  var announcer = byId('announcer');
  var reasonInput = byId('reason');
  var proposalHint = byId('proposal-hint');
  var defaultHint = proposalHint.textContent;

  /** Builds an element; strings among the children become Text nodes, never markup. */
  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      var value = attributes[name];
      if (name === 'text') node.textContent = value;
      else if (name === 'class') node.className = value;
      else node.setAttribute(name, value);
    });
    (children || []).forEach(function (child) { node.append(child); });
    return node;
  }
  function setText(node, text) { if (node.textContent !== text) node.textContent = text; }
  var nextId = 0;
  function freshId(prefix) { nextId += 1; return prefix + '-' + nextId; }
  function shortId(id) { return String(id).slice(0, 8); }
  function utc(iso) {
    var date = new Date(iso);
    return isNaN(date.getTime()) ? String(iso) : date.toISOString().replace('T', ' ').slice(0, 19) + 'Z';
  }
  function relative(iso) {
    var seconds = Math.round((new Date(iso).getTime() - Date.now()) / 1000);
    if (isNaN(seconds)) return '';
    var magnitude = Math.abs(seconds);
    var text = magnitude < 90 ? magnitude + ' s' : Math.round(magnitude / 60) + ' min';
    return seconds >= 0 ? 'in ' + text : text + ' ago';
  }

  var lastAnnouncement = '';
  /** The live region: outcomes and API refusals ("four-eyes-required: ...") reach screen readers too. */
  function announce(message, tone) {
    announcer.className = tone || '';
    if (message === lastAnnouncement) announcer.textContent = '';
    lastAnnouncement = message;
    // A fresh text node on the next frame makes an identical message heard again.
    requestAnimationFrame(function () { announcer.textContent = message; });
  }

  function problemMessage(status, payload) {
    if (payload && typeof payload.type === 'string') {
      var slug = payload.type.indexOf(problemPrefix) === 0 ? payload.type.slice(problemPrefix.length) : payload.type;
      return slug + ': ' + (payload.detail || payload.title || 'HTTP ' + status);
    }
    return 'HTTP ' + status + ' from the ops API';
  }

  /** One call to the ops API; never throws: { ok, status, body } or { ok: false, status, message }. */
  async function callApi(method, path, body) {
    var init = { method: method, credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    var response;
    try {
      response = await fetch(api + path, init);
    } catch (cause) {
      return { ok: false, status: 0, message: 'network-error: the gateway did not answer (' + cause.message + ')' };
    }
    var payload = null;
    try { payload = await response.json(); } catch (ignored) { payload = null; }
    if (response.ok && payload !== null) return { ok: true, status: response.status, body: payload };
    if (response.ok) return { ok: false, status: response.status, message: 'unexpected-answer: the ops API did not answer JSON; sign in again' };
    return { ok: false, status: response.status, message: problemMessage(response.status, payload) };
  }

  /** Keeps focus on the page when the row holding it goes away (a change was decided, a corridor removed). */
  function removeRow(row, fallbackId) {
    var hadFocus = row.contains(document.activeElement);
    row.remove();
    if (hadFocus) byId(fallbackId).focus();
  }

  // -- Corridors and proposals ----------------------------------------------------------------

  var corridorRows = new Map();
  var chosenAction = null;

  function corridorRow(corridorId) {
    var headerId = freshId('corridor');
    var entry = {
      state: el('td', { 'data-state': '' }),
      jurisdictions: el('td'),
      pending: el('td'),
    };
    var actions = el('td');
    corridorButtons.forEach(function (pair) {
      var button = el('button', { type: 'button', 'data-verb': pair[1], 'aria-describedby': headerId, text: pair[0] });
      button.addEventListener('click', function () { chooseAction(corridorId, pair[1], button); });
      actions.append(button);
    });
    entry.row = el('tr', {}, [el('th', { scope: 'row', id: headerId, text: corridorId }), entry.state, entry.jurisdictions, entry.pending, actions]);
    return entry;
  }

  function renderCorridors(corridors, pendingChanges) {
    var tbody = byId('corridor-rows');
    var seen = new Set();
    corridors.forEach(function (corridor, index) {
      seen.add(corridor.id);
      var entry = corridorRows.get(corridor.id);
      if (entry === undefined) {
        entry = corridorRow(corridor.id);
        corridorRows.set(corridor.id, entry);
      }
      if (tbody.children[index] !== entry.row) tbody.insertBefore(entry.row, tbody.children[index] || null);
      setText(entry.state, String(corridor.state));
      entry.state.setAttribute('data-state', String(corridor.state));
      setText(entry.jurisdictions, Array.isArray(corridor.jurisdictions) ? corridor.jurisdictions.join(', ') : '');
      var pending = pendingChanges.filter(function (change) { return change.proposal && change.proposal.kind === 'corridor-state' && change.proposal.corridor === corridor.id; });
      setText(entry.pending, pending.map(function (change) { return (verbs[change.proposal.state] || change.proposal.state) + ' by ' + change.proposed_by; }).join('; '));
    });
    corridorRows.forEach(function (entry, corridorId) {
      if (!seen.has(corridorId)) {
        removeRow(entry.row, 'corridors-heading');
        corridorRows.delete(corridorId);
      }
    });
  }

  function chooseAction(corridorId, state, button) {
    var choice = { corridor: corridorId, state: state, button: button };
    if (reasonInput.value.trim() === '') {
      chosenAction = choice;
      var prompt = 'To ' + verbs[state] + ' ' + corridorId + ', type a reason, then press Enter or Propose.';
      setText(proposalHint, prompt);
      announce('Reason required. ' + prompt, '');
      reasonInput.focus();
      return;
    }
    propose(choice);
  }

  var proposing = false;
  async function propose(choice) {
    if (proposing) return;
    proposing = true;
    var reason = reasonInput.value.trim();
    var answer = await callApi('POST', '/changes', { kind: 'corridor-state', corridor: choice.corridor, state: choice.state, reason: reason });
    proposing = false;
    if (answer.ok) {
      reasonInput.value = '';
      chosenAction = null;
      setText(proposalHint, defaultHint);
      announce('Proposed to ' + verbs[choice.state] + ' ' + choice.corridor + ' (change ' + shortId(answer.body.id) + '); it expires ' + utc(answer.body.expires_at) + ' unless another operator approves it.', 'ok');
      if (choice.button.isConnected) choice.button.focus();
    } else {
      announce(answer.message, 'error');
    }
    refreshSoon();
  }

  byId('proposal').addEventListener('submit', function (event) {
    event.preventDefault();
    if (chosenAction === null) {
      announce('Choose Pause, Drain or Open on a corridor row; the proposal uses the reason typed here.', 'error');
      return;
    }
    if (reasonInput.value.trim() === '') {
      announce('Reason required: say why, for the approver and the audit log.', 'error');
      reasonInput.focus();
      return;
    }
    propose(chosenAction);
  });
  reasonInput.addEventListener('keydown', function (event) {
    if (event.key === 'Escape' && chosenAction !== null) {
      var button = chosenAction.button;
      chosenAction = null;
      setText(proposalHint, defaultHint);
      announce('Proposal cancelled.', '');
      if (button.isConnected) button.focus();
    }
  });

  // -- Pending changes ------------------------------------------------------------------------

  var changeRows = new Map();

  function describeProposal(proposal) {
    switch (proposal.kind) {
      case 'corridor-state': return proposal.corridor + ' \u2192 ' + proposal.state;
      case 'residency-exception': return 'residency exception: ' + proposal.partner_id + ', debtor ' + proposal.debtor_country + ', until ' + utc(proposal.expires_at);
      case 'hold-decision': return proposal.decision + ' held payment ' + proposal.uetr + (proposal.partner_id ? ' of ' + proposal.partner_id : '');
      case 'partner-key': return proposal.action + ' key of ' + proposal.partner_id + (proposal.keyid ? ' (' + proposal.keyid + ')' : '');
      default: return String(proposal.kind);
    }
  }

  function changeRow(change) {
    var whatId = freshId('change');
    var entry = { expires: el('td') };
    var decide = el('td');
    [['Approve', 'approve'], ['Reject', 'reject']].forEach(function (pair) {
      var button = el('button', { type: 'button', 'data-verb': pair[1], 'aria-describedby': whatId, text: pair[0] });
      button.addEventListener('click', function () { decideChange(change, pair[1]); });
      decide.append(button);
    });
    var proposer = change.proposed_by + (change.proposed_by === me ? ' (you)' : '');
    entry.row = el('tr', {}, [
      el('th', { scope: 'row' }, [el('code', { title: change.id, text: shortId(change.id) })]),
      el('td', { id: whatId, text: describeProposal(change.proposal) }),
      el('td', { text: String(change.proposal.reason || '') }),
      el('td', { text: proposer }),
      el('td', { text: utc(change.proposed_at) }),
      entry.expires,
      decide,
    ]);
    return entry;
  }

  function renderChanges(pendingChanges) {
    var tbody = byId('change-rows');
    var seen = new Set();
    pendingChanges.forEach(function (change) {
      seen.add(change.id);
      var entry = changeRows.get(change.id);
      if (entry === undefined) {
        entry = changeRow(change);
        changeRows.set(change.id, entry);
        tbody.append(entry.row);
      }
      setText(entry.expires, utc(change.expires_at) + ' (' + relative(change.expires_at) + ')');
    });
    changeRows.forEach(function (entry, changeId) {
      if (!seen.has(changeId)) {
        removeRow(entry.row, 'changes-heading');
        changeRows.delete(changeId);
      }
    });
    byId('changes-empty').hidden = pendingChanges.length > 0;
  }

  var deciding = false;
  async function decideChange(change, decision) {
    if (deciding) return;
    deciding = true;
    var answer = await callApi('POST', '/changes/' + encodeURIComponent(change.id) + '/' + decision);
    deciding = false;
    if (answer.ok) {
      var outcome = decision === 'approve' ? 'Approved' : 'Rejected';
      announce(outcome + ' change ' + shortId(change.id) + ' (' + describeProposal(change.proposal) + '): ' + answer.body.status + '.', 'ok');
    } else {
      announce(answer.message, 'error');
    }
    refreshSoon();
  }

` + residencyScript + holdsScript + windowsScript + String.raw`
  // -- Audit log, with its hash chain recomputed here ------------------------------------------

  var audit = { afterSeq: 0, head: genesisHash, broken: null, rows: byId('audit-rows') };

  /** RFC 8785: members sorted by UTF-16 code units; strings and numbers as ECMAScript JSON writes them. */
  function canonicalJson(value) {
    if (Array.isArray(value)) return '[' + value.map(canonicalJson).join(',') + ']';
    if (value !== null && typeof value === 'object') {
      return '{' + Object.keys(value).sort().filter(function (key) { return value[key] !== undefined; })
        .map(function (key) { return JSON.stringify(key) + ':' + canonicalJson(value[key]); }).join(',') + '}';
    }
    return JSON.stringify(value);
  }
  async function sha256Hex(text) {
    var digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
    return Array.from(digest, function (byte) { return byte.toString(16).padStart(2, '0'); }).join('');
  }

  async function checkLink(entry) {
    if (entry.seq !== audit.afterSeq + 1) return 'seq ' + entry.seq + ' follows seq ' + audit.afterSeq;
    if (entry.prev_hash !== audit.head) return 'seq ' + entry.seq + ' does not link to the previous hash';
    var unhashed = Object.assign({}, entry);
    delete unhashed.hash;
    var recomputed = await sha256Hex(entry.prev_hash + '\n' + canonicalJson(unhashed));
    return recomputed === entry.hash ? null : 'seq ' + entry.seq + ' hash recomputes to ' + recomputed.slice(0, 12);
  }

  async function appendAudit(entries) {
    for (var index = 0; index < entries.length; index += 1) {
      var entry = entries[index];
      if (audit.broken === null && window.crypto && crypto.subtle) {
        var problem = await checkLink(entry);
        if (problem !== null) {
          audit.broken = problem;
          announce('audit-chain-broken: ' + problem, 'error');
        }
      }
      audit.afterSeq = entry.seq;
      audit.head = entry.hash;
      audit.rows.prepend(el('tr', {}, [
        el('th', { scope: 'row', text: String(entry.seq) }),
        el('td', { text: utc(entry.at) }),
        el('td', { text: String(entry.actor) }),
        el('td', { text: String(entry.action) }),
        el('td', {}, [el('code', { title: String(entry.change_id), text: shortId(entry.change_id) })]),
        el('td', { text: String(entry.kind) }),
        el('td', {}, [el('code', { title: String(entry.hash), text: String(entry.hash).slice(0, 12) })]),
      ]));
    }
    while (audit.rows.children.length > auditRowsShownMax) audit.rows.lastElementChild.remove();
    var chain = byId('audit-chain');
    if (audit.broken !== null) {
      chain.className = 'alert';
      setText(chain, 'Chain BROKEN: ' + audit.broken + '.');
    } else if (!(window.crypto && crypto.subtle)) {
      setText(chain, 'Chain not checked: this browser has no WebCrypto here.');
    } else {
      setText(chain, audit.afterSeq === 0 ? 'No entries yet.' : 'Chain verified in this browser through seq ' + audit.afterSeq + ' (every hash recomputed); head ' + audit.head.slice(0, 12) + '. Newest first, last ' + auditRowsShownMax + ' shown.');
    }
  }

  // -- Read-only views (served when the gateway has them; a 404 says it does not) --------------

  var viewState = views.map(function (view) {
    var headingId = freshId('view');
    var note = el('p', { class: 'muted', text: 'Loading\u2026' });
    var body = el('div');
    var section = el('section', { 'aria-labelledby': headingId }, [el('h2', { id: headingId, text: view.title }), note, body]);
    byId('views').append(section);
    return { view: view, note: note, body: body, last: '' };
  });

  function cellText(column, value) {
    if (value === null || value === undefined) return '\u2014';
    if (typeof value === 'boolean') return value ? 'yes' : 'no';
    if (typeof value === 'object') return JSON.stringify(value).slice(0, 160);
    return String(value).slice(0, 240);
  }
  function alarming(column, value) {
    if (column === 'rotation_overdue' || column === 'overdue') return value === true;
    if (column === 'healthy' || column === 'ok' || column === 'up') return value === false;
    if (column === 'status' || column === 'health') return /^(down|unhealthy|failing|unreachable|degraded)$/i.test(String(value));
    if (column === 'circuit' || column === 'breaker') return /^open$/i.test(String(value));
    return false;
  }

  function isObjectArray(value) {
    return Array.isArray(value) && value.length > 0 && value.every(function (item) { return item !== null && typeof item === 'object' && !Array.isArray(item); });
  }
  /** One nesting level (backends per jurisdiction, keys per backend) becomes one row per inner item, beside its parent's values. */
  function flattenRows(rows) {
    var flat = [];
    rows.forEach(function (row) {
      var nested = row !== null && typeof row === 'object' ? Object.keys(row).filter(function (key) { return isObjectArray(row[key]); })[0] : undefined;
      if (nested === undefined) { flat.push(row); return; }
      var parent = {};
      Object.keys(row).forEach(function (key) { if (key !== nested) parent[key] = row[key]; });
      row[nested].forEach(function (item) { flat.push(Object.assign({}, parent, item)); });
    });
    return flat;
  }

  /** Shapes are the views' own: the first array found is a table, other top-level values a summary line. */
  function renderView(state, payload) {
    var rows = Array.isArray(payload) ? payload : null;
    var label = '';
    var summary = [];
    if (rows === null && payload !== null && typeof payload === 'object') {
      Object.keys(payload).forEach(function (key) {
        if (rows === null && Array.isArray(payload[key])) { rows = payload[key]; label = key; }
        else if (!Array.isArray(payload[key])) summary.push(key + ': ' + cellText(key, payload[key]));
      });
    }
    state.body.replaceChildren();
    setText(state.note, summary.join(' \u00b7 '));
    if (rows === null) return;
    if (rows.length === 0) { state.body.append(el('p', { class: 'muted', text: 'None.' })); return; }
    rows = flattenRows(rows);
    var shown = rows.slice(0, 50);
    var columns = [];
    shown.forEach(function (row) {
      if (row !== null && typeof row === 'object') Object.keys(row).forEach(function (key) { if (columns.indexOf(key) === -1 && columns.length < 12) columns.push(key); });
    });
    if (columns.length === 0) columns = ['value'];
    var table = el('table', {}, [
      el('caption', { text: label + ' (' + rows.length + (rows.length > shown.length ? ', first ' + shown.length + ' shown' : '') + ')' }),
      el('thead', {}, [el('tr', {}, columns.map(function (column) { return el('th', { scope: 'col', text: column }); }))]),
      el('tbody', {}, shown.map(function (row) {
        return el('tr', {}, columns.map(function (column) {
          var value = row !== null && typeof row === 'object' ? row[column] : row;
          var cell = el('td', { text: cellText(column, value) });
          if (alarming(column, value)) { cell.className = 'alert'; cell.textContent = column === 'rotation_overdue' ? 'OVERDUE' : cellText(column, value); }
          return cell;
        }));
      })),
    ]);
    state.body.append(table);
  }

  async function refreshViews() {
    await Promise.all(viewState.map(async function (state) {
      var answer = await callApi('GET', state.view.path);
      var fingerprint = answer.ok ? JSON.stringify(answer.body) : 'error ' + answer.status + ' ' + answer.message;
      if (fingerprint === state.last) return;
      state.last = fingerprint;
      if (answer.ok && state.view.windows) renderWindows(state, answer.body);
      else if (answer.ok) renderView(state, answer.body);
      else {
        state.body.replaceChildren();
        setText(state.note, answer.status === 404 ? 'Not available on this gateway.' : answer.message);
      }
    }));
  }

  // -- The refresh loop -----------------------------------------------------------------------

  var cycle = 0;
  var timer = null;
  var refreshing = false;
  var lastRefreshError = '';

  async function refresh() {
    if (refreshing) return;
    refreshing = true;
    clearTimeout(timer);
    try {
      var answers = await Promise.all([
        callApi('GET', '/corridors'), callApi('GET', '/changes?status=proposed'), callApi('GET', '/audit?after=' + audit.afterSeq), callApi('GET', '/residency-exceptions'),
        callApi('GET', '/holds'),
      ]);
      var answeredAtMs = Date.now();
      var failed = answers.filter(function (answer) { return !answer.ok; })[0];
      if (failed !== undefined) {
        if (failed.message !== lastRefreshError) announce(failed.message, 'error');
        lastRefreshError = failed.message;
      } else {
        lastRefreshError = '';
        var pending = answers[1].body.changes || [];
        renderCorridors(answers[0].body.corridors || [], pending);
        renderChanges(pending);
        renderResidency(answers[3].body, answeredAtMs);
        renderHolds(answers[4].body, pending);
        await appendAudit(answers[2].body.entries || []);
        setText(byId('refreshed'), 'Refreshed ' + utc(new Date().toISOString()) + '; every ' + refreshMs / 1000 + ' s.');
      }
      if (cycle % viewEveryCycles === 0) await refreshViews();
      cycle += 1;
    } finally {
      refreshing = false;
      timer = setTimeout(refresh, refreshMs);
    }
  }
  function refreshSoon() {
    if (refreshing) return;
    refresh();
  }
  refresh();
})();
`;
