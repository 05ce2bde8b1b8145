'use strict';
// End-to-end test harness for collab-bridge: real PostgreSQL, real bridge processes, real sockets, stock clients.
//
// The cluster is the one named by PGHOST/PGPORT/PGUSER (scripts/test.sh starts a fresh one). setupDatabase() creates
// the database `e2e` (dropped first), the extension, and the login role `collab_e2e_bridge` (member of collab_bridge)
// that the bridges connect as. Each test file runs in its own process (node --test) and calls setupDatabase() once.
//
// Bridges: startBridge() spawns build/collab-bridge on a free port of 127.0.0.1, waits for GET /readyz = 200 and writes
// its stderr to tests/e2e/logs/<file>-<name>.log. Clients: connect() gives a stock ShareDB Connection over a `ws`
// WebSocket that records every message sent and received; reconnect() moves it to a new socket with bindToSocket().
// Timeouts here are hang guards only: no test asserts how long anything takes.

const assert = require('node:assert/strict');
const { spawn, execFile } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const util = require('node:util');

const pg = require('pg');
const WebSocket = require('ws');
const ShareDB = require('sharedb/lib/client');
const shareDbLogger = require('sharedb/lib/logger');
const textUnicode = require('ot-text-unicode').type;

const REPO = path.resolve(__dirname, '..', '..');
const BRIDGE_BIN = process.env.COLLAB_BRIDGE_BIN || path.join(REPO, 'build', 'collab-bridge');
const LOG_DIR = path.join(__dirname, 'logs');
const DB_NAME = process.env.E2E_DATABASE || 'e2e';
const BRIDGE_ROLE = 'collab_e2e_bridge';
const TEXT_URI = 'http://sharejs.org/types/text-unicode';
const JSON0_URI = 'http://sharejs.org/types/JSONv0';

// Hang guards (milliseconds). Generous: they only stop a test that would otherwise wait forever.
const GUARD = Number(process.env.E2E_GUARD_MS || 20000);

// ---------------------------------------------------------------------------------------------------------------
// OT type: text-unicode with transformPresence, exactly the wrapper of docs/bridge.md ("Presence for text-unicode").
const textWithPresence = Object.assign({}, textUnicode, {
  transformPresence(presence, op, isOwnOp) { // eslint-disable-line no-unused-vars
    if (!presence || typeof presence.index !== 'number') return presence;
    const start = textUnicode.transformPosition(presence.index, op);
    const end = textUnicode.transformPosition(presence.index + (presence.length || 0), op);
    return Object.assign({}, presence, { index: start, length: end - start });
  },
});
ShareDB.types.register(textWithPresence);

// The stock client reports protocol surprises (an ack with the wrong version, an unknown message...) through its
// logger. Record them: tests assert there were none.
const clientWarnings = [];
shareDbLogger.setMethods({
  info: () => {},
  warn: (...args) => clientWarnings.push(['warn', ...args]),
  error: (...args) => clientWarnings.push(['error', ...args]),
});

// ---------------------------------------------------------------------------------------------------------------
// Small utilities

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const clone = (x) => (x === undefined ? undefined : JSON.parse(JSON.stringify(x)));
const cpLength = (s) => [...s].length; // text-unicode counts code points

// Polls fn() (sync or async) until it returns a truthy value, which it returns. Throws after `timeout` ms with `what`.
async function waitFor(fn, what, { timeout = GUARD, interval = 10 } = {}) {
  const deadline = Date.now() + timeout;
  let lastError;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const detail = lastError ? ` (last error: ${lastError.message})` : '';
      throw new Error(`hang guard: gave up after ${timeout} ms waiting for ${what}${detail}`);
    }
    await sleep(interval);
  }
}

// Resolves with the event's arguments (an array) the first time `emitter` emits `event` with arguments that pass
// `filter`.
function waitForEvent(emitter, event, { filter = () => true, timeout = GUARD, what } = {}) {
  return new Promise((resolve, reject) => {
    const on = (...args) => {
      if (!filter(...args)) return;
      clearTimeout(timer);
      remove();
      resolve(args);
    };
    const remove = () => (emitter.off ? emitter.off(event, on) : emitter.removeListener(event, on));
    const timer = setTimeout(() => {
      remove();
      reject(new Error(`hang guard: no '${event}' event (${what || 'matching filter'}) within ${timeout} ms`));
    }, timeout);
    emitter.on(event, on);
  });
}

// Runs fn with a callback and resolves with its result, rejecting on error and after the hang guard.
function withCallback(what, fn, timeout = GUARD) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hang guard: ${what} did not call back within ${timeout} ms`)),
      timeout);
    fn((err, ...results) => {
      clearTimeout(timer);
      if (err) {
        const e = err instanceof Error ? err : Object.assign(new Error(err.message || String(err)), err);
        e.message = `${what}: ${e.message}`;
        reject(e);
      } else {
        resolve(results.length <= 1 ? results[0] : results);
      }
    });
  });
}

// A seeded pseudo-random generator (mulberry32), so that a failing run can be replayed with E2E_SEED.
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  next.int = (n) => Math.floor(next() * n); // 0 .. n-1
  next.pick = (arr) => arr[next.int(arr.length)];
  return next;
}
function testSeed() {
  return process.env.E2E_SEED ? Number(process.env.E2E_SEED) : (Date.now() % 1000000007);
}

// Text fragments for random edits: ASCII, CJK, emoji outside the BMP, ZWJ sequences, combining marks.
const FRAGMENTS = ['a', 'b', 'xyz', ' ', '\n', '漢', '字テ', '한글', '😀', '👩‍👩‍👧', '🇫🇷', 'é', 'e\u0301', 'Ω', '𝄞', '★'];

// A random valid text-unicode op for `text` (code points): an insert or a delete.
function randomEdit(r, text) {
  const len = cpLength(text);
  if (len > 0 && r() < 0.35) {
    const pos = r.int(len);
    const n = 1 + r.int(Math.min(4, len - pos));
    return textUnicode.normalize([pos, { d: n }]);
  }
  const pos = r.int(len + 1);
  let s = '';
  const k = 1 + r.int(3);
  for (let i = 0; i < k; i++) s += r.pick(FRAGMENTS);
  return textUnicode.normalize([pos, s]);
}

// ---------------------------------------------------------------------------------------------------------------
// PostgreSQL

function pgEnv() {
  const missing = ['PGHOST', 'PGPORT', 'PGUSER'].filter((k) => !process.env[k]);
  if (missing.length) {
    throw new Error(`${missing.join(', ')} not set: run through tests/e2e/run.sh with a cluster's environment ` +
      '(eval "$(scripts/pg-cluster.sh --name test env)")');
  }
  return { host: process.env.PGHOST, port: Number(process.env.PGPORT), user: process.env.PGUSER };
}

let pool = null;

function getPool() {
  if (!pool) {
    pool = new pg.Pool({ ...pgEnv(), database: DB_NAME, max: 4, connectionTimeoutMillis: GUARD });
    // Idle clients die when the server restarts or a backend is terminated: that is expected here.
    pool.on('error', () => {});
  }
  return pool;
}

// Runs a query on database e2e as the superuser; returns the rows.
async function sql(text, params = []) {
  const res = await getPool().query(text, params);
  return res.rows;
}

// Like sql() but retried while the database is unreachable (for use around restarts).
async function sqlRetry(text, params = [], what = text) {
  let rows;
  await waitFor(async () => {
    rows = await sql(text, params);
    return true;
  }, `the database to answer ${what}`);
  return rows;
}

// A dedicated client (for transactions holding locks); the caller ends it.
async function sqlClient() {
  const client = new pg.Client({ ...pgEnv(), database: DB_NAME });
  client.on('error', () => {});
  await client.connect();
  return client;
}

async function setupDatabase() {
  const admin = new pg.Client({ ...pgEnv(), database: 'postgres' });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${DB_NAME}`);
  } finally {
    await admin.end();
  }
  await sql('CREATE EXTENSION pg_collab');
  await sql(`DO $$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${BRIDGE_ROLE}') THEN
        CREATE ROLE ${BRIDGE_ROLE} LOGIN;
      END IF;
    END $$`);
  await sql(`GRANT collab_bridge TO ${BRIDGE_ROLE}`);
  // Bridges started without {secure: true} run with --insecure-no-auth, where every socket acts as the user
  // 'anonymous': like any user it needs rights (docs/security.md). These are the collections the protocol tests use.
  for (const c of ANONYMOUS_COLLECTIONS) await sql("SELECT collab.grant($1, NULL, 'user:anonymous', 'editor')", [c]);
}

const ANONYMOUS_COLLECTIONS = ['bridge', 'bulk', 'conv', 'cross', 'drain', 'err', 'errors', 'failover', 'hint', 'hist',
  'http', 'lim', 'metrics', 'notes', 'one', 'pgload', 'pres', 'sql'];

function bridgeConninfo() {
  const { host, port } = pgEnv();
  const q = (v) => `'${String(v).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return `host=${q(host)} port=${port} dbname=${DB_NAME} user=${BRIDGE_ROLE} application_name=collab-bridge-e2e`;
}

// The current snapshot, as collab.fetch returns it: {v, type, data}.
async function dbFetch(c, d) {
  const rows = await sql('SELECT version, type, data FROM collab.fetch($1, $2)', [c, d]);
  assert.equal(rows.length, 1, `collab.fetch(${c}, ${d}) returned ${rows.length} rows`);
  return { v: Number(rows[0].version), type: rows[0].type, data: rows[0].data };
}

// The op-log of a document: [{v, op, src, seq}] in version order.
async function dbOps(c, d, from = 0) {
  const rows = await sql('SELECT version, op, src, seq FROM collab.ops_since($1, $2, $3)', [c, d, from]);
  return rows.map((r) => ({ v: Number(r.version), op: r.op, src: r.src, seq: r.seq === null ? null : Number(r.seq) }));
}

// Asserts the op-log of a document is versions 0..n-1 without gaps, (src, seq) unique, and n = the doc's version.
async function assertOpLogSound(c, d) {
  const ops = await dbOps(c, d, 0);
  const doc = await dbFetch(c, d);
  assert.deepEqual(ops.map((o) => o.v), ops.map((_, i) => i), `op-log of ${c}/${d} has contiguous versions`);
  assert.equal(ops.length, doc.v, `op-log of ${c}/${d} has as many ops as the version`);
  const seen = new Map();
  for (const o of ops) {
    if (o.src === null) continue;
    const key = `${o.src}\u0000${o.seq}`;
    assert.ok(!seen.has(key), `(src ${o.src}, seq ${o.seq}) appears twice in ${c}/${d}: versions ${seen.get(key)} and ${o.v}`);
    seen.set(key, o.v);
  }
  return { ops, doc };
}

// Data directory and the postgres OS user (when root) for pg_ctl.
let clusterInfo = null;
async function cluster() {
  if (!clusterInfo) {
    const rows = await sql("SELECT current_setting('data_directory') AS dir");
    const dataDir = rows[0].dir;
    const binDir = process.env.PG_BIN || (process.env.PG_CONFIG ? path.dirname(process.env.PG_CONFIG) :
      '/usr/lib/postgresql/15/bin');
    // scripts/pg-cluster.sh keeps server.log beside data/.
    const logFile = path.join(path.dirname(dataDir), 'server.log');
    clusterInfo = { dataDir, binDir, logFile };
  }
  return clusterInfo;
}

function runPgCtl(args) {
  return new Promise((resolve, reject) => {
    const asRoot = process.getuid && process.getuid() === 0;
    const cmd = asRoot ? 'runuser' : path.join(clusterInfo.binDir, 'pg_ctl');
    const argv = asRoot ? ['-u', 'postgres', '--', path.join(clusterInfo.binDir, 'pg_ctl'), ...args] : args;
    // stdio ignored: the postmaster started by pg_ctl must not hold our pipes open.
    const child = spawn(cmd, argv, { cwd: '/', stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b) => { err += b; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`pg_ctl ${args.join(' ')} exited ${code}: ${err}`));
    });
  });
}

// The server's command-line options (other than -D), from postmaster.opts, as one string for pg_ctl -o: `pg_ctl
// restart` reuses them by itself, `pg_ctl start` after a stop needs them given again.
function postmasterOptions(dataDir) {
  let text;
  try {
    text = fs.readFileSync(path.join(dataDir, 'postmaster.opts'), 'utf8');
  } catch (err) {
    return '';
  }
  const words = [...text.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1].replace(/\\(.)/g, '$1'));
  const opts = [];
  for (let i = 0; i < words.length; i++) {
    if (words[i] === '-D') i++;
    else opts.push(`'${words[i].replace(/'/g, "'\\''")}'`);
  }
  return opts.join(' ');
}

async function pgCtl(action) {
  const { dataDir, logFile } = await cluster();
  // Connections of the pool die with the server: drop it, a new one is made on demand.
  if (action !== 'start' && pool) {
    const p = pool;
    pool = null;
    p.end().catch(() => {});
  }
  const args = ['-D', dataDir, '-w', '-t', '60'];
  if (action === 'stop') clusterInfo.options = postmasterOptions(dataDir);
  if (action === 'start' || action === 'restart') args.push('-l', logFile);
  if (action === 'start' && clusterInfo.options) args.push('-o', clusterInfo.options);
  if (action === 'stop' || action === 'restart') args.push('-m', 'fast');
  await runPgCtl([...args, action]);
}
const pgStop = () => pgCtl('stop');
const pgStart = () => pgCtl('start');
const pgRestart = () => pgCtl('restart');

// Terminates every backend of the bridges' role; returns how many.
async function terminateBridgeBackends() {
  const rows = await sql('SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity ' +
    'WHERE usename = $1', [BRIDGE_ROLE]);
  return Number(rows[0].n);
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP

function httpGet(url, headers = {}, { timeout = GUARD } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.setTimeout(timeout, () => req.destroy(new Error(`hang guard: GET ${url} took over ${timeout} ms`)));
    req.on('error', reject);
  });
}

// The status of GET url, or null when nothing answers (connection refused or reset).
async function httpStatus(url) {
  try {
    return (await httpGet(url, {}, { timeout: 5000 })).status;
  } catch (err) {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// A TCP proxy in front of a bridge, for losing what the bridge sends (a real network fault, not a mock):
// freezeDownstream() stops forwarding bridge -> client (the bytes stay unread), cut() destroys every connection so
// that whatever was held back is never delivered.

const proxies = new Set();

function tcpProxy(targetPort) {
  const pairs = new Set();
  let frozen = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair = { client, upstream };
    pairs.add(pair);
    client.on('data', (b) => upstream.write(b));
    upstream.on('data', (b) => client.write(b));
    if (frozen) upstream.pause();
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  const listening = new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return listening.then(() => {
    const proxy = {
      url: `ws://127.0.0.1:${server.address().port}/`,
      freezeDownstream() {
        frozen = true;
        for (const p of pairs) p.upstream.pause();
      },
      cut() {
        for (const p of pairs) {
          p.upstream.removeAllListeners('data');
          p.upstream.destroy();
          p.client.destroy();
        }
        pairs.clear();
      },
      close() {
        this.cut();
        server.close();
      },
    };
    proxies.add(proxy);
    return proxy;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Bridges

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const bridges = new Set();
const testFile = path.basename(require.main ? require.main.filename : 'e2e', '.test.js');

function checkBridgeBinary() {
  if (!fs.existsSync(BRIDGE_BIN)) {
    throw new Error(`${BRIDGE_BIN} does not exist: build it first (make bridge)`);
  }
}

class Bridge {
  constructor(name, args) {
    this.name = name;
    this.extraArgs = args;
    this.port = null;
    this.proc = null;
    this.exit = null; // {code, signal} of the last process once it exited
    this.starts = 0;
    fs.mkdirSync(LOG_DIR, { recursive: true });
    this.logPath = path.join(LOG_DIR, `${testFile}-${name}.log`);
    fs.writeFileSync(this.logPath, '');
  }

  get url() { return `ws://127.0.0.1:${this.port}/`; }
  get httpUrl() { return `http://127.0.0.1:${this.port}`; }
  get pid() { return this.proc && this.proc.pid; }
  get running() { return this.proc !== null && this.exit === null; }

  // Starts the process (on the same port when restarted) and waits for /readyz = 200 unless waitReady is false.
  async start({ waitReady = true } = {}) {
    checkBridgeBinary();
    if (this.running) throw new Error(`bridge ${this.name} already runs`);
    if (this.port === null) this.port = await freePort();
    const args = ['--host', '127.0.0.1', '--port', String(this.port), '--db', bridgeConninfo(), ...this.extraArgs];
    this.starts++;
    fs.appendFileSync(this.logPath, `### start ${this.starts}: ${BRIDGE_BIN} ${args.join(' ')}\n`);
    const log = fs.openSync(this.logPath, 'a');
    this.exit = null;
    const proc = spawn(BRIDGE_BIN, args, { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.proc = proc;
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        if (this.proc === proc) this.exit = { code, signal };
        fs.appendFileSync(this.logPath, `### exit: code ${code} signal ${signal}\n`);
        resolve({ code, signal });
      });
    });
    if (waitReady) await this.waitReady();
    return this;
  }

  async waitReady() {
    await waitFor(async () => {
      if (!this.running) throw new Error(`bridge ${this.name} exited (${JSON.stringify(this.exit)}); see ${this.logPath}`);
      return (await httpStatus(`${this.httpUrl}/readyz`)) === 200;
    }, `bridge ${this.name} /readyz = 200 (log: ${this.logPath})`);
  }

  kill(signal = 'SIGTERM') {
    if (this.running) this.proc.kill(signal);
    return this.exited;
  }

  // SIGTERM, then SIGKILL after the hang guard.
  async stop() {
    if (!this.running) return this.exit;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.running && this.proc.kill('SIGKILL'), GUARD);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }

  async restart() {
    await this.stop();
    return this.start();
  }

  log() { return fs.readFileSync(this.logPath, 'utf8'); }
}

// opts.secure: run with authentication as configured by args (default: --insecure-no-auth, user 'anonymous').
async function startBridge(name, args = [], opts = {}) {
  const { secure = false, ...startOpts } = opts;
  const b = new Bridge(name, secure ? args : ['--insecure-no-auth', '--max-connections-per-user', '100000', ...args]);
  bridges.add(b);
  await b.start(startOpts);
  return b;
}

// ---------------------------------------------------------------------------------------------------------------
// Stock ShareDB clients

const connections = new Set();

// A stock ShareDB connection over a ws WebSocket. Extras kept on the Connection object for the tests:
//   conn.received / conn.sent: every message, cloned, with {socket: n} = the socket's ordinal on this connection
//   conn.errors: 'error' events of the connection and its docs
//   conn.sockets: the WebSocket objects, in order; conn.closeEvents: {socket, code, reason}
function connect(url, opts) {
  return connectWith(() => new WebSocket(url), opts);
}

function watchSocket(conn, ws, n) {
  ws.on('close', (code, reason) => conn.closeEvents.push({ socket: n, code, reason: String(reason) }));
  ws.on('error', () => {}); // also delivered to ShareDB's onerror ('connection error'); a refused socket is normal
}

async function waitConnected(conn, what = conn.e2eName) {
  if (conn.state === 'connected') return;
  await waitFor(() => {
    if (conn.state === 'connected') return true;
    return false;
  }, `${what} to be connected`);
}

async function connected(url, opts) {
  const conn = connect(url, opts);
  await waitConnected(conn);
  return conn;
}

// Moves the connection to a new socket on url (bindToSocket), keeping docs, inflight and pending ops. Retries
// while the socket fails to open (a bridge restarting, not ready, or draining), until the hang guard.
async function reconnect(conn, url, { timeout = GUARD } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const ws = new WebSocket(url);
    const n = conn.sockets.length;
    conn.sockets.push(ws);
    watchSocket(conn, ws, n);
    conn.bindToSocket(ws);
    const outcome = await new Promise((resolve) => {
      const check = () => {
        if (conn.sockets.length - 1 !== n) return resolve('superseded');
        if (conn.state === 'connected') return resolve('connected');
        if (ws.readyState === WebSocket.CLOSED) return resolve('failed');
        setTimeout(check, 10);
      };
      check();
    });
    if (outcome === 'connected') return;
    if (outcome === 'superseded') throw new Error('reconnect superseded by another reconnect');
    if (Date.now() > deadline) throw new Error(`hang guard: could not reconnect ${conn.e2eName} to ${url}`);
    await sleep(50);
  }
}

// Keeps a connection connected: whenever its socket closes, reconnects it (to urls[i] in turn). Returns a stop()
// (cleanup() stops every one that is left).
const reconnectors = new Set();
function autoReconnect(conn, urls) {
  let stopped = false;
  let i = 0;
  let busy = false;
  const onState = async (state) => {
    if (stopped || busy || state !== 'disconnected') return;
    busy = true;
    try {
      while (!stopped && conn.state !== 'connected') {
        const url = urls[i++ % urls.length];
        try {
          await reconnect(conn, url, { timeout: 2000 });
        } catch (err) {
          await sleep(50);
        }
      }
    } finally {
      busy = false;
    }
  };
  conn.on('state', onState);
  const stop = () => {
    stopped = true;
    conn.off('state', onState);
    reconnectors.delete(stop);
  };
  reconnectors.add(stop);
  return stop;
}

// Promise forms of the stock client's calls.
const subscribe = (doc) => withCallback(`subscribe ${doc.collection}/${doc.id}`, (cb) => doc.subscribe(cb));
const unsubscribe = (doc) => withCallback(`unsubscribe ${doc.collection}/${doc.id}`, (cb) => doc.unsubscribe(cb));
const fetchDoc = (doc) => withCallback(`fetch ${doc.collection}/${doc.id}`, (cb) => doc.fetch(cb));
const submitOp = (doc, op) => withCallback(`submitOp ${doc.collection}/${doc.id} ${JSON.stringify(op)}`,
  (cb) => doc.submitOp(op, cb));
const create = (doc, data, type = TEXT_URI) => withCallback(`create ${doc.collection}/${doc.id}`,
  (cb) => doc.create(data, type, cb));
const del = (doc) => withCallback(`del ${doc.collection}/${doc.id}`, (cb) => doc.del(cb));
const fetchSnapshot = (conn, c, d, v) => withCallback(`fetchSnapshot ${c}/${d}@${v}`,
  (cb) => conn.fetchSnapshot(c, d, v, cb));
const fetchSnapshotByTimestamp = (conn, c, d, ts) => withCallback(`fetchSnapshotByTimestamp ${c}/${d}@${ts}`,
  (cb) => conn.fetchSnapshotByTimestamp(c, d, ts, cb));
async function whenNothingPending(conn) {
  try {
    await withCallback(`whenNothingPending ${conn.e2eName}`, (cb) => conn.whenNothingPending(() => cb()));
  } catch (err) {
    err.message += `\n${describeConnection(conn)}`;
    throw err;
  }
}

// What a connection is waiting for, for hang-guard messages.
function describeConnection(conn) {
  const lines = [`${conn.e2eName}: state ${conn.state}, id ${conn.id}, ${conn.sockets.length} socket(s)`];
  for (const c in conn.collections) {
    for (const d in conn.collections[c]) {
      const doc = conn.collections[c][d];
      if (!doc.hasPending()) continue;
      lines.push(`  ${c}/${d}: version ${doc.version}, subscribed ${doc.subscribed}, inflight op ` +
        `${doc.inflightOp ? `seq ${doc.inflightOp.seq}` : 'none'}, pending ops ${doc.pendingOps.length}, inflight ` +
        `subscribe ${doc.inflightSubscribe ? JSON.stringify({ want: doc.inflightSubscribe.wantSubscribe }) : 'none'}, ` +
        `inflight fetches ${doc.inflightFetch.length}`);
    }
  }
  const last = (list) => list.slice(-6).map((m) => JSON.stringify(m).slice(0, 200)).join('\n    ');
  lines.push(`  last sent:\n    ${last(conn.sent)}`, `  last received:\n    ${last(conn.received)}`);
  const subs = (list) => list.filter((m) => /^b?[fsu]$/.test(m.a)).slice(-6).map((m) => JSON.stringify(m).slice(0, 200))
    .join('\n    ');
  lines.push(`  last fetch/subscribe sent:\n    ${subs(conn.sent)}`, `  last fetch/subscribe replies:\n    ${subs(conn.received)}`);
  // The whole conversation, for debugging.
  const file = path.join(LOG_DIR, `${testFile}-${conn.e2eName}.messages.json`);
  try {
    fs.mkdirSync(LOG_DIR, { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ sent: conn.sent, received: conn.received, closes: conn.closeEvents }, null, 1));
    lines.push(`  all messages: ${file}`);
  } catch (err) { /* best effort */ }
  return lines.join('\n');
}

// Waits until the client's doc is at `version` with no op inflight or pending.
async function waitDocVersion(doc, version, what = `${doc.collection}/${doc.id}`) {
  await waitFor(() => doc.version === version && !doc.hasWritePending(),
    `${what} (${doc.connection.e2eName}) to reach version ${version} (at ${doc.version})`);
}

// Asserts the client's doc equals the database snapshot (version, type, data).
async function assertDocMatchesDb(doc, what = '') {
  const db = await dbFetch(doc.collection, doc.id);
  const label = `${doc.connection.e2eName} ${doc.collection}/${doc.id}${what ? ` (${what})` : ''}`;
  assert.equal(doc.version, db.v, `${label}: version equals collab.fetch`);
  assert.equal(doc.type ? doc.type.uri : null, db.type, `${label}: type equals collab.fetch`);
  assert.deepEqual(doc.type ? doc.data : null, doc.type ? db.data : null, `${label}: data equals collab.fetch`);
}

// The op messages of one doc that a connection received ([{socket, v, src, seq, kind}]): broadcasts (op, create,
// del) and acks (no op field), errors excluded.
function opMessages(conn, c, d) {
  return conn.received
    .filter((m) => m.a === 'op' && m.c === c && m.d === d && !m.error)
    .map((m) => ({
      socket: m.socket, v: m.v, src: m.src, seq: m.seq,
      kind: 'op' in m ? 'op' : m.create ? 'create' : m.del ? 'del' : 'ack',
      message: m,
    }));
}

// Asserts that, on every socket of the connection, the versions of a doc's op messages (broadcasts and acks together)
// are consecutive: each op once, in order, no gaps.
function assertOpStreamContiguous(conn, c, d) {
  const bySocket = new Map();
  for (const m of opMessages(conn, c, d)) {
    if (!bySocket.has(m.socket)) bySocket.set(m.socket, []);
    bySocket.get(m.socket).push(m);
  }
  for (const [socket, msgs] of bySocket) {
    const bad = msgs.findIndex((m, i) => m.v !== msgs[0].v + i);
    if (bad < 0) continue;
    const own = (m) => (m.src === conn.id ? 'own' : 'other');
    const around = msgs.slice(Math.max(0, bad - 4), bad + 3)
      .map((m) => `v${m.v} ${m.kind} (${own(m)} src ${m.src} seq ${m.seq})`).join('; ');
    assert.fail(`${conn.e2eName} socket ${socket}: op messages of ${c}/${d} must have consecutive versions (each ` +
      `once, in order); message ${bad} has v${msgs[bad].v}, expected v${msgs[0].v + bad}. Around it: ${around}`);
  }
}

// The acknowledgements a connection received for its own ops: [{c, d, src, seq, v}], one per op. An ack is an op
// message without op/create/del; the client also takes its own op echoed back (same src and seq) as the ack.
function acks(conn) {
  const ownIds = new Set(conn.received.filter((m) => m.a === 'hs' && typeof m.id === 'string').map((m) => m.id));
  const seen = new Set();
  const out = [];
  for (const m of conn.received) {
    if (m.a !== 'op' || m.error || m.seq == null) continue;
    const isAck = !('op' in m) && !m.create && !m.del;
    if (!isAck && !ownIds.has(m.src)) continue;
    const key = JSON.stringify([m.c, m.d, m.src, m.seq]);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ c: m.c, d: m.d, src: m.src, seq: m.seq, v: m.v });
  }
  return out;
}

// Asserts every ack a connection received is in the op-log exactly once, at the acked version.
async function assertAcksInOpLog(conn) {
  const logs = new Map();
  for (const ack of acks(conn)) {
    const key = `${ack.c}\u0000${ack.d}`;
    if (!logs.has(key)) logs.set(key, await dbOps(ack.c, ack.d, 0));
    const matches = logs.get(key).filter((o) => o.src === ack.src && o.seq === ack.seq);
    assert.equal(matches.length, 1,
      `acked op (src ${ack.src}, seq ${ack.seq}) of ${ack.c}/${ack.d} appears once in the op-log (found ${matches.length})`);
    assert.equal(matches[0].v, ack.v, `acked op (src ${ack.src}, seq ${ack.seq}) is at the acked version`);
  }
}

// Asserts the connections had no 'error' events and the stock client logged no warning since the first of them was
// made (warnings are not per connection: the client's logger is global).
function assertNoClientErrors(conns = connections) {
  conns = [...conns];
  for (const conn of conns) {
    assert.deepEqual(conn.errors.map((e) => `${e.code}: ${e.message}`), [], `${conn.e2eName}: no error events`);
  }
  const from = Math.min(...conns.map((c) => c.warningsFrom));
  assert.deepEqual(clientWarnings.slice(from).map((w) => util.format(...w.slice(1)).slice(0, 500)), [],
    'the stock client logged no warnings (e.g. an ack at an unexpected version)');
}

const json0Type = require('ot-json0').type;
json0Type.registerSubtype(textUnicode); // for the text-unicode subtype ops of randomJson0Op

// A random json0 op of one or two components of every kind (li, ld, li+ld, lm, na, oi, od, oi+od, si, sd, and
// text-unicode subtype ops on the field notes) made against data, a document {title, notes, items: [{text, n}],
// meta: {}} (not modified). Sizes stay bounded in long runs. A field gets one kind of string op only: ot-json0
// itself does not converge when si/sd and a subtype op edit one string (docs/json0.md).
const JSON0_WORDS = ['a', 'bc', 'déf', '漢字', '🚀', 'x y', '👩‍👩‍👧', 'ñ'];
function utf16Boundaries(s) {
  const out = [0];
  for (const ch of s) out.push(out[out.length - 1] + ch.length);
  return out;
}
function randomJson0Component(r, d) {
  const word = () => JSON0_WORDS[r.int(JSON0_WORDS.length)];
  const items = d.items;
  const x = r();
  if (items.length > 30) {
    const j = r.int(items.length);
    return { p: ['items', j], ld: items[j] };
  }
  if (x < 0.15 || items.length === 0) return { p: ['items', r.int(items.length + 1)], li: { text: word(), n: r.int(10) } };
  const i = r.int(items.length);
  if (x < 0.25) return { p: ['items', i], ld: items[i] };
  if (x < 0.32) return { p: ['items', i], ld: items[i], li: { text: word(), n: 0 } };
  if (x < 0.42 && items.length > 1) {
    let to = r.int(items.length - 1);
    if (to >= i) to++;
    return { p: ['items', i], lm: to };
  }
  if (x < 0.52) return { p: ['items', i, 'n'], na: r.int(7) - 3 };
  if (x < 0.62) {
    const key = `k${r.int(4)}`;
    if (key in d.meta) return r() < 0.5 ? { p: ['meta', key], od: d.meta[key] } : { p: ['meta', key], od: d.meta[key], oi: word() };
    return { p: ['meta', key], oi: r() < 0.5 ? word() : { nested: [r.int(5)] } };
  }
  if (x > 0.9) {
    if (cpLength(d.notes) > 300) return { p: ['notes'], t: 'text-unicode', o: [{ d: 5 }] };
    const at = r.int(utf16Boundaries(d.notes).length);
    return { p: ['notes'], t: 'text-unicode', o: at > 0 ? [at, word()] : [word()] };
  }
  const onTitle = x < 0.72;
  const p = onTitle ? ['title'] : ['items', i, 'text'];
  const s = onTitle ? d.title : items[i].text;
  const b = utf16Boundaries(s);
  if (b.length > 2 && (r() < 0.4 || b.length > 60)) {
    const from = r.int(b.length - 1);
    const to = from + 1 + r.int(Math.min(3, b.length - 1 - from));
    return { p: [...p, b[from]], sd: s.slice(b[from], b[to]) };
  }
  return { p: [...p, b[r.int(b.length)]], si: word() };
}
function randomJson0Op(r, data) {
  const comps = [];
  let d = clone(data);
  for (let k = 1 + r.int(2); k > 0; k--) {
    const c = randomJson0Component(r, d);
    comps.push(c);
    d = json0Type.apply(d, [c]);
  }
  return comps;
}


// Sockets on `urls` subscribe to c/d (already created) and each submits `rounds` ops made by makeOp(rng, doc.data),
// sometimes waiting for the ack, sometimes typing on (ops pile up and compose), sometimes yielding a little. Then
// asserts that no submit failed, every client converged to the database snapshot, the op-log is sound and holds the
// create plus exactly the acked ops, each socket got each op once in order, and no client saw an error. Returns
// {conns, docs, ops (the op-log), db (collab.fetch), ackCount, submitted}.
async function editConcurrently(c, d, urls, { rounds, seed, makeOp, name = d }) {
  const conns = [];
  for (let i = 0; i < urls.length; i++) conns.push(await connected(urls[i], { name: `${name}-client${i}` }));
  const docs = conns.map((conn) => conn.get(c, d));
  await Promise.all(docs.map((doc) => subscribe(doc)));

  let submitted = 0;
  const errors = [];
  await Promise.all(docs.map(async (doc, i) => {
    const r = rng(seed * 31 + i);
    for (let k = 0; k < rounds; k++) {
      const op = makeOp(r, doc.data);
      const acked = new Promise((resolve) => doc.submitOp(op, (err) => {
        if (err) errors.push(`${doc.connection.e2eName}: ${err.code} ${err.message} (op ${JSON.stringify(op)})`);
        resolve();
      }));
      submitted++;
      const choice = r();
      if (choice < 0.4) await acked;
      else if (choice < 0.8) await sleep(r.int(4));
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }));
  await Promise.all(conns.map((conn) => whenNothingPending(conn)));
  assert.deepEqual(errors, [], 'no submit failed');

  // Everyone reaches the database's version, with the same data.
  const db = await dbFetch(c, d);
  for (const doc of docs) await waitDocVersion(doc, db.v);
  for (const doc of docs) {
    assert.deepEqual(doc.data, docs[0].data, `${doc.connection.e2eName} converged with ${docs[0].connection.e2eName}`);
    await assertDocMatchesDb(doc, `seed ${seed}`);
  }

  // The op-log: contiguous, (src, seq) unique, every ack in it once at its version, nothing else but the create.
  const { ops } = await assertOpLogSound(c, d);
  let ackCount = 0;
  for (const conn of conns) {
    await assertAcksInOpLog(conn);
    ackCount += acks(conn).filter((a) => a.c === c && a.d === d).length;
  }
  assert.equal(ops.length, 1 + ackCount, 'the op-log holds the create and exactly the acked ops');
  assert.ok(ackCount > 0 && ackCount <= submitted);
  assertNoClientErrors(conns);
  // Each socket got each op once, in order (broadcasts and acks together), no gaps.
  for (const conn of conns) assertOpStreamContiguous(conn, c, d);
  return { conns, docs, ops, db, ackCount, submitted };
}

// ---------------------------------------------------------------------------------------------------------------
// Raw sockets: one JSON text message per frame, for the protocol-level tests.

class RawSocket {
  constructor(url, options = {}) {
    this.ws = new WebSocket(url, options);
    this.messages = []; // parsed messages (or {binary: Buffer} / {unparsed: string}), in order
    this.waiters = [];
    this.cursor = 0;
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: String(reason) };
        resolve(this.closeInfo);
        this._wake();
      });
    });
    this.ws.on('error', (err) => { this.lastError = err; });
    this.ws.on('message', (data, isBinary) => {
      let m;
      if (isBinary) m = { binary: data };
      else {
        try {
          m = JSON.parse(String(data));
        } catch (err) {
          m = { unparsed: String(data) };
        }
      }
      this.messages.push(m);
      this._wake();
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (req, res) => {
        req.destroy();
        res.resume();
        reject(Object.assign(new Error(`upgrade refused with HTTP ${res.statusCode}`), { statusCode: res.statusCode }));
      });
    });
  }

  _wake() {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }

  send(obj) { this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj)); }

  // The next message not yet returned (optionally the next that passes filter, skipping others).
  async next({ filter = () => true, timeout = GUARD, what = 'a message' } = {}) {
    const deadline = Date.now() + timeout;
    for (;;) {
      while (this.cursor < this.messages.length) {
        const m = this.messages[this.cursor++];
        if (filter(m)) return m;
      }
      if (this.closeInfo) {
        throw new Error(`socket closed (${this.closeInfo.code} ${this.closeInfo.reason}) while waiting for ${what}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`hang guard: no ${what} within ${timeout} ms`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  // Sends and returns the next message.
  async request(obj, what) {
    this.send(obj);
    return this.next({ what: what || `a reply to ${typeof obj === 'string' ? obj : JSON.stringify(obj)}` });
  }

  // Handshake; returns the hs reply.
  async handshake(id = null) {
    await this.opened;
    const reply = await this.request({ a: 'hs', id, protocol: 1, protocolMinor: 2 });
    assert.equal(reply.a, 'hs', `handshake reply: ${JSON.stringify(reply)}`);
    this.id = reply.id;
    return reply;
  }

  // Sends pp and returns every message received before its pong (nothing else pending shows up after it).
  async sync() {
    const start = this.cursor;
    this.send({ a: 'pp' });
    await this.next({ filter: (m) => m.a === 'pp', what: 'pp reply' });
    return this.messages.slice(start, this.cursor - 1);
  }

  close() {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }
}

async function rawSocket(url, { handshake = true, id = null } = {}) {
  const s = new RawSocket(url);
  rawSockets.add(s);
  await s.opened;
  if (handshake) await s.handshake(id);
  return s;
}
const rawSockets = new Set();

// ---------------------------------------------------------------------------------------------------------------
// Cleanup: close clients, stop bridges (SIGTERM, then SIGKILL), end the pool. Call from after().

async function cleanup() {
  for (const stop of [...reconnectors]) stop();
  for (const conn of connections) {
    try {
      conn.close();
    } catch (err) { /* already closed */ }
  }
  connections.clear();
  for (const s of rawSockets) s.close();
  rawSockets.clear();
  for (const p of proxies) p.close();
  proxies.clear();
  await Promise.all([...bridges].map((b) => b.stop()));
  bridges.clear();
  if (pool) {
    const p = pool;
    pool = null;
    await p.end().catch(() => {});
  }
}

// Never leave a bridge behind, whatever happens to this process.
process.on('exit', () => {
  for (const b of bridges) if (b.running) b.proc.kill('SIGKILL');
});

// Bridge metrics: parses the Prometheus text into [{name, labels, value}].
function parseMetrics(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)(\s+\d+)?$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${JSON.stringify(line)}`);
    const labels = {};
    if (m[2]) {
      for (const l of m[2].slice(1, -1).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    }
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

module.exports = {
  REPO, BRIDGE_BIN, BRIDGE_ROLE, DB_NAME, TEXT_URI, JSON0_URI, GUARD, LOG_DIR,
  ShareDB, WebSocket, textUnicode, textWithPresence, clientWarnings,
  sleep, clone, cpLength, waitFor, waitForEvent, withCallback, rng, testSeed, randomEdit, FRAGMENTS,
  sql, sqlRetry, sqlClient, setupDatabase, bridgeConninfo, dbFetch, dbOps, assertOpLogSound,
  pgStop, pgStart, pgRestart, terminateBridgeBackends, cluster,
  httpGet, httpStatus, freePort, tcpProxy, checkBridgeBinary, startBridge, Bridge, bridges,
  connect, connected, waitConnected, reconnect, autoReconnect,
  subscribe, unsubscribe, fetchDoc, submitOp, create, del, fetchSnapshot, fetchSnapshotByTimestamp,
  whenNothingPending, describeConnection, waitDocVersion, assertDocMatchesDb, opMessages, assertOpStreamContiguous, acks,
  assertAcksInOpLog, assertNoClientErrors, editConcurrently, randomJson0Op, rawSocket, RawSocket, cleanup, parseMetrics,
};

// ---------------------------------------------------------------------------------------------------------------
// Authentication (auth.test.js, rights.test.js). Bridges started with {secure: true} refuse sockets without an
// access token. These helpers sign tokens of a test issuer, log in through the built-in token service, and open
// sockets and stock clients that present a token: `creds` is {token, via, origin, headers} where via is 'bearer'
// (Authorization header, the default), 'cookie' (collab_access) or 'none'.

const crypto = require('node:crypto');
const os = require('node:os');

const b64url = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');
const nowSeconds = () => Math.floor(Date.now() / 1000);

// A JWS compact token: header and payload objects, signed with key ({alg: 'HS256', secret} or {alg: 'RS256' |
// 'ES256', privateKey}); alg 'none' gives an empty signature.
function signJwt(header, payload, key) {
  const input = `${b64url(header)}.${b64url(payload)}`;
  let sig;
  if (key.alg === 'none') sig = Buffer.alloc(0);
  else if (key.alg === 'HS256') sig = crypto.createHmac('sha256', key.secret).update(input).digest();
  else if (key.alg === 'RS256') sig = crypto.sign('sha256', Buffer.from(input), key.privateKey);
  else if (key.alg === 'ES256') {
    sig = crypto.sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  } else throw new Error(`signJwt: unknown alg ${key.alg}`);
  return `${input}.${sig.toString('base64url')}`;
}

// A test identity provider: an HS256 secret, an RSA key (PEM public key file) and an EC P-256 key (in a JWK Set,
// kid 'e2e-es256': the built-in service's ES256 keys are also loaded, so ES256 tokens name their key). args(...)
// gives the bridge flags for the chosen kinds; token(...) signs a token (RS256 by default) valid for 10 minutes.
function testIssuer({ issuer = 'https://idp.e2e.example', audience = 'collab-e2e' } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collab-e2e-keys-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const secret = crypto.randomBytes(32).toString('hex');
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const files = {
    hs256: path.join(dir, 'hs256.secret'),
    rsaPem: path.join(dir, 'rsa-public.pem'),
    jwks: path.join(dir, 'jwks.json'),
  };
  const rsaPublicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' });
  fs.writeFileSync(files.hs256, `${secret}\n`);
  fs.writeFileSync(files.rsaPem, rsaPublicPem);
  const ecJwk = ec.publicKey.export({ format: 'jwk' });
  fs.writeFileSync(files.jwks, JSON.stringify({ keys: [{ ...ecJwk, kid: 'e2e-es256', alg: 'ES256', use: 'sig' }] }));
  const keys = {
    HS256: { alg: 'HS256', secret },
    RS256: { alg: 'RS256', privateKey: rsa.privateKey },
    ES256: { alg: 'ES256', privateKey: ec.privateKey },
  };
  return {
    issuer, audience, files, rsaPublicPem, keys,
    // kinds: any of 'hs256', 'rsa', 'jwks'
    args(kinds = ['rsa']) {
      const out = ['--jwt-issuer', issuer, '--jwt-audience', audience];
      if (kinds.includes('hs256')) out.push('--jwt-hs256-secret-file', files.hs256);
      if (kinds.includes('rsa')) out.push('--jwt-public-key-file', files.rsaPem);
      if (kinds.includes('jwks')) out.push('--jwt-jwks-file', files.jwks);
      return out;
    },
    // The claims of a valid token for sub (org in claim 'org' unless null); `claims` adds or overrides claims
    // (undefined removes one); `header` likewise; `key` signs instead of the issuer's key for alg.
    claims(sub, { org = 'acme', ttl = 600, claims = {} } = {}) {
      const now = nowSeconds();
      const c = { iss: issuer, aud: audience, sub, iat: now, nbf: now, exp: now + ttl, jti: crypto.randomUUID() };
      if (org !== null) c.org = org;
      Object.assign(c, claims);
      for (const k of Object.keys(c)) if (c[k] === undefined) delete c[k];
      return c;
    },
    token(sub, { alg = 'RS256', header = {}, key, ...rest } = {}) {
      const h = { alg, typ: 'JWT', ...(alg === 'ES256' ? { kid: 'e2e-es256' } : {}), ...header };
      for (const k of Object.keys(h)) if (h[k] === undefined) delete h[k];
      return signJwt(h, this.claims(sub, rest), key || keys[alg]);
    },
  };
}

// Any HTTP request: resolves {status, headers, body}; body (object: sent as JSON) is optional.
function httpRequest(url, { method = 'GET', headers = {}, body, timeout = GUARD } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body));
    const h = { ...headers };
    if (payload !== undefined) {
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
      h['Content-Length'] = Buffer.byteLength(payload);
    }
    const req = http.request(url, { method, headers: h, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.setTimeout(timeout, () => req.destroy(new Error(`hang guard: ${method} ${url} took over ${timeout} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

// The Set-Cookie headers of a response: {name: {value, attributes: {lowercased name: value or true}, raw}}.
function parseSetCookies(headers) {
  const out = {};
  for (const raw of [].concat(headers['set-cookie'] || [])) {
    const [pair, ...attrs] = raw.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const attributes = {};
    for (const a of attrs) {
      const i = a.indexOf('=');
      if (i < 0) attributes[a.toLowerCase()] = true;
      else attributes[a.slice(0, i).toLowerCase()] = a.slice(i + 1);
    }
    out[pair.slice(0, eq)] = { value: pair.slice(eq + 1), attributes, raw };
  }
  return out;
}

// POST /auth/<what> (session, refresh, logout) with optional cookies ({name: value}) and headers.
async function authPost(bridge, what, { body, cookies = {}, headers = {} } = {}) {
  const h = { ...headers };
  const cookie = Object.entries(cookies).map(([k, v]) => `${k}=${v}`).join('; ');
  if (cookie) h.Cookie = cookie;
  const res = await httpRequest(`${bridge.httpUrl}/auth/${what}`, { method: 'POST', headers: h, body });
  let json = null;
  try {
    json = JSON.parse(res.body);
  } catch (err) { /* not JSON */ }
  return { ...res, json, cookies: parseSetCookies(res.headers) };
}

// Logs user in through the built-in token service: collab.create_login_ticket (as the application), then POST
// /auth/session. Returns the response plus access and refresh (the cookie values) and ticket.
async function login(bridge, user, claims = { org: 'acme' }, { headers = {} } = {}) {
  const [{ ticket }] = await sql('SELECT collab.create_login_ticket($1, $2::jsonb) AS ticket', [user, JSON.stringify(claims)]);
  const res = await authPost(bridge, 'session', { body: { ticket }, headers });
  assert.equal(res.status, 200, `POST /auth/session for ${user}: ${res.status} ${res.body}`);
  return { ...res, ticket, access: res.cookies.collab_access.value, refresh: res.cookies.collab_refresh.value };
}

// new WebSocket(url, protocols, options) for creds.
function credentialSocket(url, creds = {}) {
  const { token, via = 'bearer', origin, headers = {} } = creds;
  const h = { ...headers };
  const protocols = [];
  if (token !== undefined && via === 'bearer') h.Authorization = `Bearer ${token}`;
  if (token !== undefined && via === 'cookie') h.Cookie = `collab_access=${token}`;
  const options = { headers: h };
  if (origin) options.origin = origin;
  const ws = new WebSocket(url, protocols, options);
  ws.on('close', (code, reason) => { ws.e2eCloseInfo = { code, reason: String(reason), at: Date.now() }; });
  return ws;
}

// What happens to an upgrade: {status: 101, protocol} when the socket opens (it is then closed), {status, body}
// when the bridge answers with another HTTP status, {status: null, error} when the connection fails without one.
function upgradeOutcome(url, creds = {}) {
  return new Promise((resolve) => {
    const ws = credentialSocket(url, creds);
    const timer = setTimeout(() => {
      ws.terminate();
      resolve({ status: null, error: 'hang guard: no outcome' });
    }, GUARD);
    const done = (v) => {
      clearTimeout(timer);
      resolve(v);
    };
    ws.on('open', () => {
      const protocol = ws.protocol;
      ws.close();
      done({ status: 101, protocol });
    });
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => done({ status: res.statusCode, body }));
      res.on('error', () => done({ status: res.statusCode, body }));
      res.on('close', () => done({ status: res.statusCode, body }));
    });
    ws.on('error', (err) => done({ status: null, error: err.message }));
  });
}

// A stock ShareDB connection over a socket made by makeSocket() (connect() and the credential variants use it).
function connectWith(makeSocket, { name = 'client' } = {}) {
  const ws = makeSocket();
  const conn = new ShareDB.Connection(ws);
  conn.e2eName = name;
  conn.received = [];
  conn.sent = [];
  conn.errors = [];
  conn.sockets = [ws];
  conn.closeEvents = [];
  conn.warningsFrom = clientWarnings.length;
  watchSocket(conn, ws, 0);
  conn.on('receive', (req) => conn.received.push({ socket: conn.sockets.length - 1, ...clone(req.data) }));
  conn.on('send', (msg) => conn.sent.push({ socket: conn.sockets.length - 1, ...clone(msg) }));
  conn.on('error', (err) => conn.errors.push(err));
  conn.on('doc', (doc) => doc.on('error', (err) => conn.errors.push(err)));
  connections.add(conn);
  return conn;
}

const connectAuth = (url, creds, opts) => connectWith(() => credentialSocket(url, creds), opts);
async function connectedAuth(url, creds, opts) {
  const conn = connectAuth(url, creds, opts);
  await waitConnected(conn);
  return conn;
}

// Moves conn to one new socket with creds (bindToSocket); resolves 'connected' or 'failed' (the socket closed
// first, e.g. a refused upgrade), without retrying.
async function rebindAuth(conn, url, creds) {
  const ws = credentialSocket(url, creds);
  const n = conn.sockets.length;
  conn.sockets.push(ws);
  watchSocket(conn, ws, n);
  conn.bindToSocket(ws);
  return waitFor(() => {
    if (conn.sockets.length - 1 !== n) return 'superseded';
    if (conn.state === 'connected') return 'connected';
    if (ws.readyState === WebSocket.CLOSED) return 'failed';
    return false;
  }, `${conn.e2eName} to connect or fail on ${url}`);
}

// A RawSocket with credentials in headers (via 'bearer' or 'cookie', plus origin).
async function rawSocketAuth(url, creds, { handshake = true, id = null } = {}) {
  const { token, via = 'bearer', origin, headers = {} } = creds;
  const h = { ...headers };
  if (via === 'bearer') h.Authorization = `Bearer ${token}`;
  if (via === 'cookie') h.Cookie = `collab_access=${token}`;
  const options = { headers: h };
  if (origin) options.origin = origin;
  const s = new RawSocket(url, options);
  rawSockets.add(s);
  await s.opened;
  if (handshake) await s.handshake(id);
  return s;
}

// Resolves {code, reason, at: Date.now()} when ws closes (at once if it already has).
// (For sockets made by credentialSocket, which records the close as it happens.)
function socketClosed(ws) {
  if (ws.e2eCloseInfo) return Promise.resolve(ws.e2eCloseInfo);
  return new Promise((resolve) => {
    ws.once('close', (code, reason) => resolve(ws.e2eCloseInfo || { code, reason: String(reason), at: Date.now() }));
  });
}

Object.assign(module.exports, {
  signJwt, testIssuer, nowSeconds, httpRequest, parseSetCookies, authPost, login, credentialSocket, upgradeOutcome,
  connectWith, connectAuth, connectedAuth, rebindAuth, rawSocketAuth, socketClosed,
});

// Waits until a bridge started with {secure: true} has loaded its keys and revocations from the database: until then
// it refuses any token with 503 auth_starting (a malformed token gets 401 once it is ready; nothing is opened).
async function waitAuthReady(bridge) {
  await waitFor(async () => (await httpGet(`${bridge.httpUrl}/docs/e2e/auth-ready`, { Authorization: 'Bearer x.y.z' }))
    .status !== 503, `bridge ${bridge.name} to load its keys and revocations`);
  return bridge;
}

module.exports.waitAuthReady = waitAuthReady;
