// The pg_collab notes page: development login, the list of notes, a collaborative editor with remote cursors,
// a connection indicator and a history view. Served by collab-bridge (--web-root web/dist) on the same origin as
// /auth/*, /api/* and the WebSocket, so the HTTP-only session cookies go with every request.
//
// Test hook: window.__collab = {connection, doc, view, presence, link} describes the open note (doc is null when
// none is open). Browser tests read doc.version / doc.data through it; the page itself never reads it.

import './styles.css';
import { CollabLink, TEXT_UNICODE_URI } from './collab.js';
import { createEditor } from './editor.js';
import { colorClass, colorFor } from './colors.js';

const COLLECTION = 'notes';
const $ = (sel) => document.querySelector(sel);
const el = {
  status: $('[data-testid="connection-status"]'),
  pending: $('[data-testid="pending-count"]'),
  whoami: $('[data-testid="whoami"]'),
  logout: $('#logout'),
  banner: $('[data-testid="error"]'),
  connectionHint: $('[data-testid="connection-hint"]'),
  loginView: $('#login-view'),
  loginForm: $('#login-form'),
  loginUser: $('#login-user'),
  loginOrg: $('#login-org'),
  appView: $('#app-view'),
  createForm: $('#create-form'),
  createName: $('#create-name'),
  refreshList: $('#refresh-list'),
  docList: $('[data-testid="doc-list"]'),
  docListEmpty: $('[data-testid="doc-list-empty"]'),
  noDoc: $('#no-doc'),
  docPane: $('#doc-pane'),
  docTitle: $('[data-testid="doc-title"]'),
  docVersion: $('[data-testid="doc-version"]'),
  docUsers: $('[data-testid="doc-users"]'),
  editor: $('#editor'),
  historyForm: $('#history-form'),
  historyRange: $('#history-range'),
  historyVersion: $('#history-version'),
  historyMax: $('[data-testid="history-max"]'),
  historyText: $('[data-testid="history-text"]'),
};

let session = null; // {me: {user, org, color}, link, open: {...} | null, ticker}
window.__collab = { connection: null, doc: null, view: null, presence: null, link: null };

// ---------------------------------------------------------------------------------------------------------------
// Messages for the user

function showError(message) {
  el.banner.textContent = message;
  el.banner.hidden = false;
}
function clearError() {
  el.banner.hidden = true;
  el.banner.textContent = '';
}

// A readable explanation of a failed /auth or /api answer.
async function describeFailure(res, what) {
  let code = '';
  let message = '';
  try {
    const body = await res.json();
    if (body && body.error) ({ code = '', message = '' } = body.error);
  } catch (err) { /* not JSON */ }
  const hints = {
    PC033: 'The development login is off in this database: it needs pg_collab.dev_login = on (make run sets it).',
    origin_not_allowed: `The bridge does not allow this page's origin: start it with --allowed-origin ${location.origin}.`,
    too_many_auth_requests: 'Too many login attempts from this address: wait a minute and try again.',
    ERR_DATABASE_UNAVAILABLE: 'The database is not answering: try again in a moment.',
  };
  if (hints[code]) return `${what} failed: ${hints[code]}`;
  if (res.status === 404 && what === 'Login') {
    return 'Login failed: the development login is not enabled on this bridge (start it with --dev-login).';
  }
  return `${what} failed (HTTP ${res.status}${code ? ` ${code}` : ''})${message ? `: ${message}` : ''}. Try again.`;
}

// ---------------------------------------------------------------------------------------------------------------
// Login and logout

function showLogin(message) {
  el.connectionHint.hidden = true;
  el.appView.hidden = true;
  el.logout.hidden = true;
  el.whoami.hidden = true;
  el.loginView.hidden = false;
  setStatus('offline', 0, 'not logged in');
  if (message) showError(message);
  el.loginUser.focus();
}

el.loginForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearError();
  const user = el.loginUser.value.trim();
  const org = el.loginOrg.value.trim();
  if (!user) return showError('Enter a user name.');
  let res;
  try {
    res = await fetch('/auth/dev-login', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(org ? { user, org } : { user }),
    });
  } catch (err) {
    return showError('Login failed: the server cannot be reached. Is collab-bridge running?');
  }
  if (!res.ok) return showError(await describeFailure(res, 'Login'));
  await boot({ refreshed: true });
});

el.logout.addEventListener('click', async () => {
  // Let edits that are on their way be acknowledged first (a moment; not when disconnected, where they would wait).
  if (session && session.link.status() === 'connected') {
    const { connection } = session.link;
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, 5000);
      connection.whenNothingPending(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  endSession();
  try {
    await fetch('/auth/logout', { method: 'POST', credentials: 'same-origin' });
  } catch (err) { /* the cookies may stay, but the page forgets the session */ }
  showLogin();
});

// ---------------------------------------------------------------------------------------------------------------
// Session

async function boot({ refreshed = false } = {}) {
  let res;
  try {
    res = await fetch('/api/me', { credentials: 'same-origin' });
  } catch (err) {
    showError('The server cannot be reached. Is collab-bridge running? Reload the page to try again.');
    return;
  }
  if (res.status === 401) {
    // The access cookie lives minutes, the session days: after a while away, a refresh continues the session.
    if (!refreshed) {
      try {
        const r = await fetch('/auth/refresh', { method: 'POST', credentials: 'same-origin' });
        if (r.ok) return boot({ refreshed: true });
      } catch (err) { /* fall through to the login */ }
    }
    return showLogin();
  }
  if (!res.ok) return showError(await describeFailure(res, 'Loading your session'));
  const me = await res.json();
  startSession({ user: String(me.user), org: me.org == null ? null : String(me.org), color: colorFor(String(me.user)) });
}

function startSession(me) {
  endSession();
  clearError();
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const link = new CollabLink({
    url: `${scheme}://${location.host}/`,
    onStatus: () => renderStatus(),
    onAuthLost: (message) => {
      endSession();
      showLogin(message);
    },
  });
  session = { me, link, open: null, ticker: setInterval(renderStatus, 250) };
  window.__collab.connection = link.connection;
  window.__collab.link = link;
  link.connection.on('error', (err) => showError(`Connection error: ${err.message}`));

  el.loginView.hidden = true;
  el.appView.hidden = false;
  el.whoami.hidden = false;
  el.whoami.textContent = me.org ? `${me.user} (${me.org})` : me.user;
  el.whoami.className = `whoami ${colorClass(me.color)}`;
  el.logout.hidden = false;
  renderStatus();
  loadDocList();
  route();
  // Keyboard users: from the login form (now hidden) on to the first thing to do here.
  const active = document.activeElement;
  if (!active || active === document.body || el.loginView.contains(active)) el.createName.focus();
}

function endSession() {
  if (!session) return;
  closeDoc();
  clearInterval(session.ticker);
  session.link.close();
  session = null;
  window.__collab.connection = null;
  window.__collab.link = null;
}

// ---------------------------------------------------------------------------------------------------------------
// Connection indicator

function setStatus(state, pending, text) {
  el.status.dataset.state = state;
  el.status.textContent = text;
  el.pending.textContent = String(pending);
  el.pending.dataset.count = String(pending);
}

function renderStatus() {
  if (!session) return;
  const state = session.link.status();
  const doc = session.open && session.open.doc;
  const pending = CollabLink.pendingOps(doc);
  const ops = `${pending} pending op${pending === 1 ? '' : 's'}`;
  // While connected, ops are acknowledged within moments: the count is not shown (it would flicker, and screen
  // readers would announce every keystroke); it stays in data-count of the pending-count element.
  if (state === 'connected') setStatus('connected', pending, 'connected');
  else if (state === 'connecting') setStatus('connecting', pending, 'connecting');
  else if (state === 'offline') setStatus('offline', pending, `offline (${ops})`);
  else setStatus('reconnecting', pending, `reconnecting (${ops})`);
  // After a few failed attempts, say what is going on and that nothing is lost.
  el.connectionHint.hidden = !(state !== 'connected' && state !== 'offline' && session.link.attempt >= 3);
  if (doc && doc.type) {
    el.docVersion.textContent = String(doc.version);
    updateHistoryBounds();
  }
  renderUsers();
}

function renderUsers() {
  const open = session && session.open;
  const names = new Map();
  if (open) {
    for (const value of Object.values(open.presence.remotePresences)) {
      if (value && value.user) names.set(String(value.user), value.color);
    }
  }
  const key = [...names.keys()].sort().join('\n');
  if (el.docUsers.dataset.key === key) return;
  el.docUsers.dataset.key = key;
  el.docUsers.replaceChildren(...[...names.keys()].sort().map((name) => {
    const chip = document.createElement('span');
    chip.className = `user-chip ${colorClass(names.get(name))}`;
    chip.textContent = name;
    return chip;
  }));
}

// ---------------------------------------------------------------------------------------------------------------
// The list of notes

async function loadDocList() {
  let res;
  try {
    res = await fetch(`/api/documents?collection=${encodeURIComponent(COLLECTION)}`, { credentials: 'same-origin' });
  } catch (err) {
    return showError('Could not load the list of notes: the server cannot be reached. Use Refresh to try again.');
  }
  if (res.status === 401) {
    // The access cookie expired: refresh it once, then ask again.
    if (session && (await session.link.refreshSession()) === 'ok') return loadDocList();
    endSession();
    return showLogin('Your session has ended. Log in again.');
  }
  if (!res.ok) return showError(await describeFailure(res, 'Loading the list of notes'));
  const body = await res.json();
  renderDocList(Array.isArray(body.documents) ? body.documents : []);
}

function renderDocList(documents) {
  const current = session && session.open ? session.open.id : null;
  el.docList.replaceChildren(...documents.map((d) => {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = `#/${COLLECTION}/${encodeURIComponent(d.id)}`;
    a.dataset.testid = 'doc-link';
    a.dataset.id = d.id;
    if (d.id === current) a.setAttribute('aria-current', 'page');
    const name = document.createElement('span');
    name.className = 'doc-name';
    name.textContent = d.id;
    const meta = document.createElement('span');
    meta.className = 'doc-meta muted';
    const when = d.updated_at ? new Date(d.updated_at) : null;
    meta.textContent = `v${d.version}${when && !Number.isNaN(when.getTime()) ? ` · ${when.toLocaleString()}` : ''}`;
    a.append(name, meta);
    li.appendChild(a);
    return li;
  }));
  el.docListEmpty.hidden = documents.length > 0;
}

el.refreshList.addEventListener('click', () => loadDocList());

el.createForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const name = el.createName.value.trim();
  if (!name) return;
  el.createName.value = '';
  pendingCreate = name;
  const hash = `#/${COLLECTION}/${encodeURIComponent(name)}`;
  if (location.hash === hash) route();
  else location.hash = hash;
});

// ---------------------------------------------------------------------------------------------------------------
// Routing: #/notes/<id> opens a note.

let pendingCreate = null; // the name just entered in the create form: create it if it does not exist

function route() {
  if (!session) return;
  const m = /^#\/([^/]+)\/(.+)$/.exec(location.hash);
  const id = m && m[1] === COLLECTION ? decodeURIComponent(m[2]) : null;
  if (!id) {
    closeDoc();
    return;
  }
  if (session.open && session.open.id === id) return;
  const create = pendingCreate === id;
  pendingCreate = null;
  openDoc(id, { create });
}
window.addEventListener('hashchange', route);

// ---------------------------------------------------------------------------------------------------------------
// The open note

function closeDoc() {
  if (!session || !session.open) {
    el.docPane.hidden = true;
    el.noDoc.hidden = false;
    return;
  }
  const open = session.open;
  session.open = null;
  el.docUsers.replaceChildren();
  delete el.docUsers.dataset.key;
  if (open.editor) open.editor.destroy();
  open.doc.off('op', open.onOp);
  open.doc.off('no write pending', open.onAcked);
  open.doc.off('error', open.onError);
  open.presence.unsubscribe();
  open.presence.destroy();
  // Keep the Doc (and any unacknowledged ops) in the connection; stop receiving its ops.
  open.doc.unsubscribe();
  Object.assign(window.__collab, { doc: null, view: null, presence: null });
  el.editor.replaceChildren();
  el.docPane.hidden = true;
  el.noDoc.hidden = false;
}

function openDoc(id, { create }) {
  closeDoc();
  const { connection } = session.link;
  const doc = connection.get(COLLECTION, id);
  const presence = connection.getDocPresence(COLLECTION, id);
  const open = {
    id, doc, presence, editor: null, historyFollow: true, focusEditor: create,
    onOp: () => onDocOp(open),
    onAcked: () => renderStatus(), // the pending count dropped
  };
  session.open = open;
  window.__collab.doc = doc;
  window.__collab.presence = presence;
  el.docTitle.textContent = id;
  el.noDoc.hidden = true;
  el.docPane.hidden = false;
  el.historyText.textContent = '';
  loadDocList(); // also marks the open note in it

  // Errors without a callback to take them (a rejected op is rolled back by ShareDB): tell the user.
  open.onError = (err) => {
    if (session && session.open === open) showError(`The note "${id}": ${err.message}. Reload the page if it looks wrong.`);
  };
  doc.on('error', open.onError);
  presence.on('error', open.onError);
  presence.on('receive', () => renderUsers());
  presence.subscribe((err) => {
    if (err && session && session.open === open) showError(`Cursors of others are not shown: ${err.message}`);
  });
  doc.on('op', open.onOp);
  doc.on('no write pending', open.onAcked);
  doc.subscribe((err) => {
    if (!session || session.open !== open) return;
    if (err) {
      const denied = err.code === 'ERR_SNAPSHOT_READS_REJECTED';
      return showError(denied ? `You may not read the note "${id}". Ask its owner for access.`
        : `Could not open the note "${id}": ${err.message}. Reload the page to try again.`);
    }
    if (!doc.type && create) {
      doc.create('', TEXT_UNICODE_URI, (createErr) => {
        // Someone else created it at the same moment: ShareDB then loads their version, which is fine.
        if (createErr && createErr.code !== 'ERR_DOC_ALREADY_CREATED') {
          showError(`Could not create the note "${id}": ${createErr.message}`);
        }
        loadDocList();
      });
    } else if (!doc.type) {
      showError(`The note "${id}" does not exist yet. Type its name in "Open or create a note" to create it.`);
    }
    mountEditor(open);
  });
}

function mountEditor(open) {
  open.editor = createEditor({
    parent: el.editor,
    doc: open.doc,
    presence: open.presence,
    me: session.me,
    onChange: () => renderStatus(),
    onError: (message) => showError(message),
  });
  window.__collab.view = open.editor.view;
  // A note just opened from the "Open or create" form: the user wants to write in it.
  if (open.focusEditor) open.editor.view.focus();
  renderStatus();
  showHistory(open);
}

function onDocOp(open) {
  if (open.historyFollow) showHistory(open);
  renderStatus();
}

// ---------------------------------------------------------------------------------------------------------------
// History: the note at any version (ShareDB snapshot fetch, `nf`), read-only.

function updateHistoryBounds() {
  const open = session && session.open;
  if (!open || !open.doc.type) return;
  const max = String(Math.max(1, open.doc.version));
  if (el.historyRange.max !== max) {
    el.historyRange.max = max;
    el.historyVersion.max = max;
    el.historyMax.textContent = max;
    if (open.historyFollow) {
      el.historyRange.value = max;
      el.historyVersion.value = max;
    }
  }
}

let historyRequest = 0;
function showHistory(open, version) {
  if (!open.doc.type) return;
  updateHistoryBounds();
  const latest = open.doc.version;
  const v = version === undefined ? latest : Math.max(1, Math.min(latest, version));
  open.historyFollow = v === latest;
  el.historyRange.value = String(v);
  el.historyVersion.value = String(v);
  el.historyText.dataset.version = String(v);
  const request = ++historyRequest;
  if (v === latest) {
    el.historyText.textContent = open.doc.data;
    el.historyText.dataset.loaded = String(v);
    return;
  }
  el.historyText.dataset.loaded = '';
  session.link.connection.fetchSnapshot(COLLECTION, open.id, v, (err, snapshot) => {
    if (request !== historyRequest || !session || session.open !== open) return; // a newer request won
    if (err) {
      el.historyText.textContent = '';
      return showError(`Could not load version ${v}: ${err.message}`);
    }
    el.historyText.textContent = typeof snapshot.data === 'string' ? snapshot.data : '';
    el.historyText.dataset.loaded = String(v);
  });
}

function historyInput(source) {
  const open = session && session.open;
  if (!open) return;
  const v = Number(source.value);
  if (Number.isInteger(v) && v >= 1) showHistory(open, v);
}
el.historyRange.addEventListener('input', () => historyInput(el.historyRange));
el.historyVersion.addEventListener('change', () => historyInput(el.historyVersion));
el.historyForm.addEventListener('submit', (event) => {
  event.preventDefault();
  historyInput(el.historyVersion);
});

// ---------------------------------------------------------------------------------------------------------------

boot();
