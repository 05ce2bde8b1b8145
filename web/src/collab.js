// The ShareDB connection to collab-bridge, kept alive across network faults.
//
// One ShareDB.Connection lives for the whole session; when its WebSocket closes we open a new one and hand it over
// with connection.bindToSocket(), so documents keep their unacknowledged ops (edits made while offline) and ShareDB
// resubmits and transforms them once the socket is back. Reconnects wait with jittered exponential backoff.
// Close codes (docs/security.md): 4001 = access token expired (POST /auth/refresh, then reconnect),
// 4003 = session revoked (log in again). A handshake the bridge refused is only visible as a socket that closed
// before it opened; that may be an expired token too, so we refresh then as well.

import ShareDB from 'sharedb/lib/client';
import { type as textUnicode } from 'ot-text-unicode';

// text-unicode with transformPresence, exactly as docs/bridge.md ("Presence for text-unicode") describes: the stock
// type has none, and ShareDB refuses doc presence without it. Same name and URI, so it replaces the stock type.
const textWithPresence = Object.assign({}, textUnicode, {
  transformPresence(presence, op, isOwnOp) { // eslint-disable-line no-unused-vars
    if (!presence || typeof presence.index !== 'number') return presence;
    const start = textUnicode.transformPosition(presence.index, op);
    const end = textUnicode.transformPosition(presence.index + (presence.length || 0), op);
    return Object.assign({}, presence, { index: start, length: end - start });
  },
});
ShareDB.types.register(textWithPresence);

export const TEXT_UNICODE_URI = textUnicode.uri; // http://sharejs.org/types/text-unicode

// A stand-in socket for ShareDB while the browser is offline: already closed (readyState 3), sends nothing.
const OFFLINE_SOCKET = { readyState: 3, close() {}, send() {} };

// A socket that has not completed ShareDB's handshake by then is given up and replaced (a connection can hang
// half-open, for instance across a server restart, and a browser WebSocket has no timeout of its own). The same bound
// applies to POST /auth/refresh.
const CONNECT_TIMEOUT_MS = 10000;

const BACKOFF_FIRST_MS = 250;
const BACKOFF_MAX_MS = 10000;

// Delay before reconnect attempt n (0-based): 250 ms doubling up to 10 s, each multiplied by a random 0.5 .. 1.5.
export function backoffDelay(attempt) {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(attempt, 10));
  return Math.round(base * (0.5 + Math.random()));
}

// Listeners: onStatus(status) whenever the link changes (status(): 'connecting' until the first connection, then
// 'connected', 'reconnecting', 'offline' or 'closed'); onAuthLost(message) when the session is over and the user
// must log in again.
export class CollabLink {
  constructor({ url, onStatus, onAuthLost }) {
    this.url = url;
    this.onStatus = onStatus;
    this.onAuthLost = onAuthLost;
    this.attempt = 0;
    this.timer = null;
    this.closed = false;
    this.offline = typeof navigator !== 'undefined' && navigator.onLine === false;
    this.socket = null;
    this.closeCodes = []; // close codes of the sockets, in order (shown to tests through window.__collab.link)
    this.connection = new ShareDB.Connection(this.openSocket());
    this.everConnected = false;
    this.connection.on('state', (state) => {
      if (state === 'connected') {
        this.everConnected = true;
        this.attempt = 0; // back to the shortest delay only once the handshake succeeded
      }
      this.report();
    });

    this.handleOffline = () => {
      // Chromium keeps an open WebSocket alive when the network is only emulated offline, and a real network loss
      // can take a long time to be noticed: drop the socket now, and keep edits as pending ops.
      this.offline = true;
      clearTimeout(this.timer);
      this.timer = null;
      // Hand ShareDB a socket that is already closed: it closes the real one and at once stops sending (a send on
      // a closing WebSocket is lost and logs a console error). Edits wait as pending ops until 'online'.
      this.socket = null;
      this.connection.bindToSocket(OFFLINE_SOCKET);
      this.report();
    };
    this.handleOnline = () => {
      this.offline = false;
      this.attempt = 0;
      if (this.connection.state !== 'connected') this.reconnectNow();
    };
    window.addEventListener('offline', this.handleOffline);
    window.addEventListener('online', this.handleOnline);
  }

  openSocket() {
    const ws = new WebSocket(this.url);
    this.socket = ws;
    let opened = false;
    const watchdog = setTimeout(() => {
      if (ws === this.socket && !this.closed && this.connection.state !== 'connected') ws.close(4000, 'timeout');
    }, CONNECT_TIMEOUT_MS);
    ws.addEventListener('open', () => {
      opened = true;
    });
    ws.addEventListener('close', (event) => {
      clearTimeout(watchdog);
      if (ws !== this.socket || this.closed) return; // superseded or shut down
      this.closeCodes.push(event.code);
      this.socket = null;
      // After ShareDB's own close handler (registered later, so it runs after this one) has marked the connection
      // disconnected: what we do next may unsubscribe documents, which must not send on the closed socket.
      setTimeout(() => this.handleClose(event.code, opened), 0);
    });
    return ws;
  }

  async handleClose(code, opened) {
    if (code === 4003) {
      this.report();
      this.onAuthLost('Your session was revoked (logged out elsewhere, or by an administrator). Log in again.');
      return;
    }
    if (this.offline) {
      this.report();
      return; // 'online' reconnects
    }
    if (code === 4001 || !opened) {
      // The access token expired (4001), or the bridge refused the handshake, possibly for that reason.
      const outcome = await this.refreshSession();
      if (this.closed) return;
      if (outcome === 'logged-out') {
        this.onAuthLost('Your session has ended. Log in again.');
        return;
      }
    }
    this.scheduleReconnect();
  }

  // POST /auth/refresh (the collab_refresh cookie): 'ok', 'logged-out' (401) or 'unavailable' (network, 5xx, 429).
  async refreshSession() {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), CONNECT_TIMEOUT_MS);
    try {
      const res = await fetch('/auth/refresh', { method: 'POST', credentials: 'same-origin', signal: abort.signal });
      if (res.ok) return 'ok';
      if (res.status === 401) return 'logged-out';
      return 'unavailable';
    } catch (err) {
      return 'unavailable';
    } finally {
      clearTimeout(timer);
    }
  }

  scheduleReconnect() {
    // Not when shut down, offline ('online' reconnects), already scheduled, or already reconnected meanwhile.
    if (this.closed || this.offline || this.timer || this.socket) return;
    const delay = backoffDelay(this.attempt++);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.reconnectNow();
    }, delay);
    this.report();
  }

  reconnectNow() {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = null;
    // bindToSocket closes the previous socket; openSocket() has replaced this.socket first, so that socket's close
    // event is ignored rather than scheduling another reconnect.
    this.connection.bindToSocket(this.openSocket());
    this.report();
  }

  // Unacknowledged ops of doc: the one in flight plus the queued ones.
  static pendingOps(doc) {
    if (!doc) return 0;
    return (doc.inflightOp ? 1 : 0) + doc.pendingOps.length;
  }

  status() {
    if (this.closed) return 'closed';
    if (this.offline) return 'offline';
    if (this.connection.state === 'connected') return 'connected';
    return this.everConnected ? 'reconnecting' : 'connecting';
  }

  report() {
    if (this.onStatus) this.onStatus(this.status());
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    window.removeEventListener('offline', this.handleOffline);
    window.removeEventListener('online', this.handleOnline);
    this.connection.close();
  }
}
