'use strict';
// Fault-injection ("chaos") run of pg_collab + collab-bridge with stock sharedb clients, Jepsen style: record a
// history of every submit, ack and received op while faults are injected on a seeded schedule, then check the
// history against the op-log once everything has quiesced. See tests/chaos/README.md.
//
//   node tests/chaos/chaos.js [--duration SECONDS] [--seed N]     (or CHAOS_DURATION, CHAOS_SEED)
//
// Exit status 0 when every check passed, 1 when a check failed (the seed and the history are then saved to
// tests/chaos/failures/<seed>/), 2 when the run could not be set up.

const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const util = require('node:util');

// The harness picks its database at require time: ours is `chaos` (never e2e or browser).
process.env.E2E_DATABASE = process.env.CHAOS_DATABASE || 'chaos';
const h = require('../e2e/harness.js');
const json0 = require('../e2e/node_modules/ot-json0').type;

json0.registerSubtype(h.textUnicode);

// ---------------------------------------------------------------------------------------------------------------
// Configuration

function argValue(name) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const SEED = Number(argValue('--seed') ?? process.env.CHAOS_SEED ?? (Date.now() % 1000000007));
const DURATION_S = Number(argValue('--duration') ?? process.env.CHAOS_DURATION ?? 100);
const N_BRIDGES = Number(process.env.CHAOS_BRIDGES || 3);
const N_CLIENTS = Number(process.env.CHAOS_CLIENTS || 8);
const N_DOCS = Number(process.env.CHAOS_DOCS || 8); // half text-unicode, half json0
const N_NEMESES = Number(process.env.CHAOS_NEMESES || 1); // concurrent fault loops: 2 or more make faults overlap
const DOCS_PER_CLIENT = Number(process.env.CHAOS_DOCS_PER_CLIENT || 5);
const QUIESCE_MS = Number(process.env.CHAOS_QUIESCE_MS || 90000);
const PING_INTERVAL = 1; // bridge flags: a SIGSTOPped bridge's sockets time out after ~2 s of silence
const IDLE_TIMEOUT = 2;
const CLIENT_PING_MS = 500; // client-side heartbeat: a socket with no pong for CLIENT_DEAD_MS is terminated
const CLIENT_DEAD_MS = 3000;
const C = 'chaos';
const HERE = __dirname;
const LOGS = path.join(HERE, 'logs');
const FAILURES = path.join(HERE, 'failures');

if (!Number.isFinite(SEED) || !Number.isFinite(DURATION_S) || DURATION_S <= 0) {
  console.error('usage: chaos.js [--duration SECONDS] [--seed N]');
  process.exit(2);
}

const T0 = Date.now();
const now = () => Date.now() - T0;
const log = (...args) => console.log(`[chaos ${(now() / 1000).toFixed(1).padStart(6)}s] ${util.format(...args)}`);

// ---------------------------------------------------------------------------------------------------------------
// Random ops

// text-unicode: an insert or delete (harness randomEdit), deletes only when the text grows long.
function textOp(r, text) {
  const len = h.cpLength(text);
  if (len > 1500) {
    const pos = r.int(len - 4);
    return [pos, { d: 1 + r.int(4) }];
  }
  return h.randomEdit(r, text);
}

const docIds = [];
for (let i = 0; i < N_DOCS; i++) docIds.push({ id: `d${i}`, type: i % 2 === 0 ? 'text' : 'json' });
const typeOf = (d) => docIds.find((x) => x.id === d).type;
const INITIAL = {
  text: 'Hello 🌍 chaos',
  json: { title: 'Plan 🚀', notes: 'ok', items: [{ text: 'one', n: 1 }, { text: 'two', n: 2 }], meta: {} },
};

// ---------------------------------------------------------------------------------------------------------------
// Bridges, proxies, PostgreSQL faults

const bridges = [];
async function startBridges() {
  fs.mkdirSync(LOGS, { recursive: true });
  for (let i = 0; i < N_BRIDGES; i++) {
    const b = new h.Bridge(`b${i}`, ['--insecure-no-auth', '--max-connections-per-user', '100000',
      '--ping-interval', String(PING_INTERVAL), '--idle-timeout', String(IDLE_TIMEOUT)]);
    b.logPath = path.join(LOGS, `bridge-b${i}.log`);
    fs.writeFileSync(b.logPath, '');
    b.stopped = false; // SIGSTOPped
    h.bridges.add(b);
    bridges.push(b);
  }
  await Promise.all(bridges.map((b) => b.start()));
}

function runPgCtlRaw(args) {
  return new Promise((resolve, reject) => {
    h.cluster().then((info) => {
      const pgCtl = path.join(info.binDir, 'pg_ctl');
      const asRoot = process.getuid && process.getuid() === 0;
      const cmd = asRoot ? 'runuser' : pgCtl;
      const argv = asRoot ? ['-u', 'postgres', '--', pgCtl, '-D', info.dataDir, ...args] : ['-D', info.dataDir, ...args];
      const child = spawn(cmd, argv, { cwd: '/', stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (b) => { err += b; });
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`pg_ctl ${args.join(' ')}: ${code} ${err}`))));
    }, reject);
  });
}
// pg_ctl restart -m immediate (the harness's pgRestart is -m fast). restart reuses postmaster.opts.
async function pgImmediateRestart() {
  const info = await h.cluster();
  await runPgCtlRaw(['-w', '-t', '60', '-l', info.logFile, '-m', 'immediate', 'restart']);
}

// pg_terminate_backend on the bridges' connections to our database: 'listen' (the LISTEN session: its last query is
// a LISTEN) or 'pool' (the others).
async function terminateBackends(kind) {
  const rows = await h.sql(`SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity
     WHERE usename = $1 AND datname = $2 AND pid <> pg_backend_pid()
       AND (query ILIKE 'LISTEN%' OR query ILIKE 'UNLISTEN%') = $3`, [h.BRIDGE_ROLE, h.DB_NAME, kind === 'listen']);
  return Number(rows[0].n);
}

// ---------------------------------------------------------------------------------------------------------------
// Clients

const clients = [];
let stopAll = false;

class Client {
  constructor(i) {
    this.i = i;
    this.name = `c${i}`;
    this.r = h.rng(SEED * 7919 + i * 104729 + 1);
    this.proxies = new Map(); // bridge index -> tcpProxy (this client's own, so a cut hits only this client)
    this.submits = []; // {k, t, d, op, baseV, result, code, message, tDone}
    this.readErrors = [];
    this.targets = []; // {socket, bridge, viaProxy, t}
    this.armCut = null; // {delay, freeze} -> cut the proxy right after the next op is sent
    this.cuts = 0;
    this.opSends = []; // wall-clock time of every op message sent (to tell resends of already committed ops)
    this.docs = [];
    this.startV = {};
  }

  async target() {
    const bi = this.r.int(bridges.length);
    const viaProxy = this.r() < 0.5;
    let url = bridges[bi].url;
    if (viaProxy) {
      if (!this.proxies.has(bi)) this.proxies.set(bi, await h.tcpProxy(bridges[bi].port));
      url = this.proxies.get(bi).url;
    }
    return { bi, viaProxy, url };
  }

  newSocket(url) {
    // handshakeTimeout: a SIGSTOPped bridge accepts TCP but never answers the upgrade.
    const ws = new h.WebSocket(url, { handshakeTimeout: 3000 });
    let lastPong = Date.now();
    ws.on('open', () => { lastPong = Date.now(); });
    ws.on('pong', () => { lastPong = Date.now(); });
    const timer = setInterval(() => {
      if (ws.readyState !== h.WebSocket.OPEN) return;
      if (Date.now() - lastPong > CLIENT_DEAD_MS) ws.terminate();
      else ws.ping();
    }, CLIENT_PING_MS);
    ws.on('close', () => clearInterval(timer));
    return ws;
  }

  async connect() {
    const t = await this.target();
    this.conn = h.connectWith(() => this.newSocket(t.url), { name: this.name });
    this.targets.push({ socket: 0, bridge: t.bi, viaProxy: t.viaProxy, t: now() });
    this.cur = t;
    this.conn.on('send', (msg) => this.onSend(msg));
    this.conn.on('state', (state) => {
      if (state === 'disconnected' && !stopAll) this.reconnectLoop();
    });
    await h.waitConnected(this.conn);
  }

  onSend(msg) {
    if (msg.a === 'op') this.opSends.push({ t: Date.now(), d: msg.d, src: msg.src, seq: msg.seq, socket: this.conn.sockets.length - 1 });
    if (msg.a !== 'op' || !this.armCut || !this.cur.viaProxy) return;
    const { delay, freeze } = this.armCut;
    this.armCut = null;
    const bi = this.cur.bi;
    const proxy = this.proxies.get(bi);
    this.cuts++;
    if (freeze) {
      // Lose what the bridge sends (the ack), then cut; a frozen proxy stays frozen, so drop it.
      proxy.freezeDownstream();
      setTimeout(() => { proxy.close(); if (this.proxies.get(bi) === proxy) this.proxies.delete(bi); }, delay);
    } else {
      setTimeout(() => proxy.cut(), delay);
    }
  }

  async reconnectLoop() {
    if (this.reconnecting) return;
    this.reconnecting = true;
    try {
      while (!stopAll && this.conn.state !== 'connected') {
        const t = await this.target();
        const ws = this.newSocket(t.url);
        const n = this.conn.sockets.length;
        this.conn.sockets.push(ws);
        ws.on('close', (code, reason) => this.conn.closeEvents.push({ socket: n, code, reason: String(reason) }));
        ws.on('error', () => {});
        this.targets.push({ socket: n, bridge: t.bi, viaProxy: t.viaProxy, t: now() });
        this.cur = t;
        this.conn.bindToSocket(ws);
        const outcome = await new Promise((resolve) => {
          const check = () => {
            if (this.conn.state === 'connected') return resolve('connected');
            if (ws.readyState === h.WebSocket.CLOSED) return resolve('failed');
            setTimeout(check, 10);
          };
          check();
        });
        if (outcome !== 'connected') await h.sleep(50 + this.r.int(200));
      }
    } finally {
      this.reconnecting = false;
    }
    // A disconnect may have come while we looked the other way.
    if (!stopAll && this.conn.state === 'disconnected') this.reconnectLoop();
  }

  async subscribeDocs() {
    const ids = docIds.map((x) => x.id);
    // Each client edits a seeded subset of the documents.
    while (ids.length > DOCS_PER_CLIENT) ids.splice(this.r.int(ids.length), 1);
    for (const d of ids) {
      const doc = this.conn.get(C, d);
      doc.on('error', (err) => {
        this.readErrors.push({ t: now(), d, code: err.code, message: err.message });
      });
      await h.subscribe(doc);
      this.startV[d] = doc.version;
      this.docs.push(doc);
    }
    // A read refused while the database was down leaves the doc unsubscribed: subscribe again, as an app would.
    this.resubTimer = setInterval(() => {
      if (this.conn.state !== 'connected') return;
      for (const doc of this.docs) {
        if (!doc.subscribed && !doc.inflightSubscribe) doc.subscribe();
      }
    }, 1000);
  }

  async editLoop(until) {
    let k = 0;
    while (now() < until && !stopAll) {
      await h.sleep(20 + this.r.int(100));
      const doc = this.docs[this.r.int(this.docs.length)];
      if (!doc.type || doc.pendingOps.length >= 50) continue;
      const op = typeOf(doc.id) === 'text' ? textOp(this.r, doc.data) : h.randomJson0Op(this.r, doc.data);
      const rec = { k: k++, t: now(), d: doc.id, op, baseV: doc.version };
      this.submits.push(rec);
      try {
        doc.submitOp(op, (err) => {
          rec.tDone = now();
          if (err) Object.assign(rec, { result: 'error', code: err.code, message: err.message });
          else rec.result = 'ack';
        });
      } catch (err) {
        Object.assign(rec, { result: 'threw', message: err.message });
      }
    }
  }

  currentSocket() { return this.conn.sockets[this.conn.sockets.length - 1]; }
}

// ---------------------------------------------------------------------------------------------------------------
// Fault schedule (seeded; one fault at a time)

const FAULT_KINDS = ['bridge_sigkill', 'bridge_sigstop', 'pg_restart_fast', 'pg_restart_immediate',
  'terminate_listen', 'terminate_pool', 'cut_mid_submit', 'lose_ack_mid_submit', 'reconnect_burst'];
const faultCounts = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0]));
const faultLog = [];

let pgLock = Promise.resolve(); // restarts of PostgreSQL never run concurrently (pg_ctl would trip over itself)
function withPgLock(fn) {
  const run = pgLock.then(fn, fn);
  pgLock = run.catch(() => {});
  return run;
}

async function injectFault(r, kind, nemesis) {
  const entry = { kind, t: now(), nemesis };
  faultLog.push(entry);
  const running = bridges.filter((b) => b.running && !b.stopped && !b.busy);
  if ((kind === 'bridge_sigkill' || kind === 'bridge_sigstop') && running.length === 0) {
    entry.skipped = 'no bridge up';
    return;
  }
  faultCounts[kind]++;
  switch (kind) {
    case 'bridge_sigkill': {
      const b = r.pick(running);
      entry.bridge = b.name;
      b.busy = true;
      try {
        await b.kill('SIGKILL');
        await h.sleep(300 + r.int(2000));
        await b.start();
      } finally {
        b.busy = false;
      }
      break;
    }
    case 'bridge_sigstop': {
      const b = r.pick(running);
      entry.bridge = b.name;
      b.busy = true;
      b.proc.kill('SIGSTOP');
      b.stopped = true;
      await h.sleep((IDLE_TIMEOUT + 1) * 1000 + r.int(3000));
      b.proc.kill('SIGCONT');
      b.stopped = false;
      b.busy = false;
      break;
    }
    case 'pg_restart_fast':
      await withPgLock(() => h.pgRestart());
      break;
    case 'pg_restart_immediate':
      await withPgLock(() => pgImmediateRestart());
      break;
    case 'terminate_listen':
    case 'terminate_pool':
      entry.terminated = await h.sqlRetry('SELECT 1').then(() => terminateBackends(kind === 'terminate_listen' ? 'listen' : 'pool'));
      break;
    case 'cut_mid_submit':
    case 'lose_ack_mid_submit': {
      const n = 1 + r.int(3);
      const picked = [];
      for (let j = 0; j < n; j++) {
        // A client connected through its proxy (a direct socket cannot be cut by the proxy).
        const eligible = clients.filter((x) => x.cur.viaProxy && x.conn.state === 'connected');
        if (eligible.length === 0) break;
        const c = r.pick(eligible);
        c.armCut = { delay: kind === 'cut_mid_submit' ? r.int(4) : 100 + r.int(300), freeze: kind === 'lose_ack_mid_submit' };
        picked.push(c.name);
      }
      entry.clients = picked;
      await h.sleep(1000);
      break;
    }
    case 'reconnect_burst': {
      const rounds = 1 + r.int(3);
      for (let j = 0; j < rounds; j++) {
        for (const c of clients) if (r() < 0.7) c.currentSocket().terminate();
        await h.sleep(r.int(400));
      }
      entry.rounds = rounds;
      break;
    }
    default: throw new Error(kind);
  }
  entry.tEnd = now();
}

async function faultLoop(until, nemesis) {
  const r = h.rng(SEED * 31 + 17 + nemesis * 65537);
  await h.sleep(2000 + nemesis * 1300);
  while (now() < until - 3000) {
    const kind = r.pick(FAULT_KINDS);
    log(`fault ${kind}${N_NEMESES > 1 ? ` (nemesis ${nemesis})` : ''}`);
    try {
      await injectFault(r, kind, nemesis);
    } catch (err) {
      faultLog[faultLog.length - 1].error = err.message;
      log(`fault ${kind} failed: ${err.message}`);
    }
    await h.sleep(1000 + r.int(4000));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Checker

function applyOp(type, data, op) {
  return type === 'text' ? h.textUnicode.apply(data, op) : json0.apply(data, op);
}
const key = (src, seq) => `${src}\u0000${seq}`;

async function check() {
  const v = []; // violations: {check, ...}
  const stats = { lost: 0, duplicated: 0, unexpected: 0, divergent: new Set(), wrongVersion: 0, deliveryGaps: 0,
    deliveryDups: 0, deliveryMismatch: 0, redundant: 0, snapshotJumps: 0, unackedTwice: 0 };
  const logs = {};
  const dbs = {};
  for (const { id, type } of docIds) {
    logs[id] = await h.sqlRetry('SELECT 1').then(() => h.dbOps(C, id, 0));
    dbs[id] = await h.dbFetch(C, id);
    const ops = logs[id];
    // (2) contiguous versions 0..n-1, n = the snapshot's version.
    const bad = ops.findIndex((o, i) => o.v !== i);
    if (bad >= 0) v.push({ check: 2, d: id, message: `op-log version ${ops[bad].v} at index ${bad}` });
    if (ops.length !== dbs[id].v) v.push({ check: 2, d: id, message: `op-log has ${ops.length} ops, snapshot v${dbs[id].v}` });
    // (1)/(5) (src, seq) at most once in the log.
    const seen = new Map();
    for (const o of ops) {
      if (o.src === null) continue;
      const k = key(o.src, o.seq);
      if (seen.has(k)) {
        stats.duplicated++;
        stats.divergent.add(id);
        v.push({ check: 1, d: id, message: `(src ${o.src}, seq ${o.seq}) twice: v${seen.get(k)} and v${o.v}` });
      }
      seen.set(k, o.v);
    }
    // (4) replay of the op-log with the npm types equals collab.fetch.
    try {
      let data = h.clone(ops[0].op.create.data);
      for (const o of ops.slice(1)) data = applyOp(type, data, o.op);
      if (!util.isDeepStrictEqual(data, dbs[id].data)) {
        stats.divergent.add(id);
        v.push({ check: 4, d: id, message: 'replay of the op-log differs from collab.fetch' });
      }
    } catch (err) {
      stats.divergent.add(id);
      v.push({ check: 4, d: id, message: `replay of the op-log failed: ${err.message}` });
    }
  }
  // Every (src, seq) any client sent, to find ops in the log that nobody sent.
  const sentKeys = new Map(); // doc -> Set
  const sockOf = new Map(); // client, doc, src, seq -> sockets it was sent on
  let sentDistinct = 0;
  let resent = 0;
  let resentCommitted = 0; // resent although an earlier send had already been committed (its ack was lost)
  let ackedDistinct = 0;
  for (const cl of clients) {
    const conn = cl.conn;
    for (const m of conn.sent) {
      if (m.a !== 'op' || m.c !== C) continue;
      if (!sentKeys.has(m.d)) sentKeys.set(m.d, new Map());
      const k = key(m.src ?? idOf(conn, m.socket), m.seq);
      if (!sentKeys.get(m.d).has(k)) sentDistinct++;
      sentKeys.get(m.d).set(k, cl.name);
      const sk = `${cl.name}\u0000${m.d}\u0000${k}`;
      if (!sockOf.has(sk)) sockOf.set(sk, []);
      sockOf.get(sk).push(m.socket);
    }
  }
  for (const [sk, socks] of sockOf) {
    if (socks.length < 2) continue;
    resent++;
    // Was it committed on the first socket? Then the op-log entry's ack was never received on that socket.
    const [name, d, src, seq] = sk.split('\u0000');
    const cl = clients.find((x) => x.name === name);
    const acked = cl.conn.received.some((m) => m.a === 'op' && m.d === d && m.src === src && String(m.seq) === seq &&
      m.socket === socks[0]);
    const o = logs[d].find((x) => x.src === src && String(x.seq) === seq);
    if (o && !acked) {
      // Committed before it was resent (statistics only: created_at and the send time come from the same host clock).
      const resend = cl.opSends.find((m) => m.d === d && m.src === src && String(m.seq) === seq && m.socket === socks[socks.length - 1]);
      const rows = await h.sql('SELECT extract(epoch FROM created_at) * 1000 AS t FROM collab.ops WHERE collection = $1 AND id = $2 AND version = $3', [C, d, o.v]);
      if (resend && rows.length && Number(rows[0].t) < resend.t) resentCommitted++;
    }
  }
  for (const { id } of docIds) {
    for (const o of logs[id]) {
      if (o.src === null) continue;
      if (!sentKeys.get(id) || !sentKeys.get(id).has(key(o.src, o.seq))) {
        stats.unexpected++;
        v.push({ check: 1, d: id, message: `op-log v${o.v} (src ${o.src}, seq ${o.seq}) was never sent by any client` });
      }
    }
  }
  for (const cl of clients) {
    const conn = cl.conn;
    // (1) every ack exactly once in the log, at its version.
    const ackKeys = new Set();
    for (const a of h.acks(conn)) {
      if (a.c !== C) continue;
      ackedDistinct++;
      ackKeys.add(`${a.d}\u0000${key(a.src, a.seq)}`);
      const matches = logs[a.d].filter((o) => o.src === a.src && o.seq === a.seq);
      if (matches.length === 0) {
        stats.lost++;
        v.push({ check: 1, client: cl.name, d: a.d, message: `acked (src ${a.src}, seq ${a.seq}) at v${a.v} is not in the op-log (LOST)` });
      } else if (matches[0].v !== a.v) {
        stats.wrongVersion++;
        v.push({ check: 1, client: cl.name, d: a.d, message: `acked (src ${a.src}, seq ${a.seq}) at v${a.v}, op-log has it at v${matches[0].v}` });
      }
    }
    // (5) a sent op that was never acked appears at most once (counted above as duplicated if twice).
    for (const [d, m] of sentKeys) {
      for (const [k, owner] of m) {
        if (owner !== cl.name || ackKeys.has(`${d}\u0000${k}`)) continue;
        const n = logs[d].filter((o) => key(o.src, o.seq) === k).length;
        if (n > 1) stats.unackedTwice++;
      }
    }
    // (3) the ops each client saw, per document: a gap-free prefix of the op-log, in order.
    for (const doc of cl.docs) {
      const d = doc.id;
      const ops = logs[d];
      let next = cl.startV[d];
      const seenBy = new Map(); // key -> socket where first seen
      for (const m of conn.received) {
        if (m.c !== C) continue;
        const snap = (m.a === 's' || m.a === 'f') && m.d === d && m.data && ('data' in m.data || 'type' in m.data) ? m.data
          : (m.a === 'bs' || m.a === 'bf') && m.data && m.data[d] && typeof m.data[d] === 'object' && ('data' in m.data[d] || 'type' in m.data[d]) ? m.data[d] : null;
        if (snap && typeof snap.v === 'number' && next !== undefined && snap.v > next && m.socket > 0) {
          stats.snapshotJumps++;
          next = snap.v;
        }
        if (m.a !== 'op' || m.d !== d || m.error) continue;
        const isAck = !('op' in m) && !m.create && !m.del;
        const k = key(m.src, m.seq);
        const logOp = ops[m.v];
        if (!logOp || logOp.src !== m.src || logOp.seq !== m.seq ||
            ('op' in m && !util.isDeepStrictEqual(m.op, logOp.op))) {
          stats.deliveryMismatch++;
          v.push({ check: 3, client: cl.name, d, socket: m.socket, message: `received v${m.v} (src ${m.src}, seq ${m.seq}${isAck ? ', ack' : ''}) differs from the op-log's v${m.v} (src ${logOp && logOp.src}, seq ${logOp && logOp.seq})` });
        }
        if (seenBy.has(k)) {
          // An ack of a resubmitted op, or an op re-sent because the client asked from an older version on a new socket.
          if (!isAck && seenBy.get(k) === m.socket) {
            stats.deliveryDups++;
            v.push({ check: 3, client: cl.name, d, socket: m.socket, message: `v${m.v} (src ${m.src}, seq ${m.seq}) delivered twice on one socket` });
          } else stats.redundant++;
          continue;
        }
        seenBy.set(k, m.socket);
        if (m.v < next) {
          stats.deliveryDups++;
          v.push({ check: 3, client: cl.name, d, socket: m.socket, message: `v${m.v} received after v${next - 1} (out of order or duplicate)` });
          continue;
        }
        if (m.v > next) {
          stats.deliveryGaps++;
          v.push({ check: 3, client: cl.name, d, socket: m.socket, message: `gap: v${m.v} received when v${next} was expected` });
        }
        next = m.v + 1;
      }
      if (next !== dbs[d].v) {
        v.push({ check: 3, client: cl.name, d, message: `saw ops up to v${next - 1}, the op-log ends at v${dbs[d].v - 1}` });
      }
      // (4) the client's document equals the snapshot.
      if (doc.version !== dbs[d].v || !util.isDeepStrictEqual(doc.data, dbs[d].data)) {
        stats.divergent.add(d);
        v.push({ check: 4, client: cl.name, d, message: `client doc v${doc.version} differs from collab.fetch v${dbs[d].v}` });
      }
    }
  }
  return { violations: v, stats, logs, dbs, sentDistinct, ackedDistinct, resent, resentCommitted };
}
function closeCodes() {
  const n = {};
  for (const c of clients) for (const e of c.conn.closeEvents) n[e.code] = (n[e.code] || 0) + 1;
  return Object.entries(n).map(([k, x]) => `${k}: ${x}`).join(', ') || '-';
}
// The client id the bridge gave on a socket (the src of ops first sent on it, which carry no src).
function idOf(conn, socket) {
  const hs = conn.received.find((m) => m.a === 'hs' && m.socket === socket);
  return hs ? hs.id : conn.id;
}

// ---------------------------------------------------------------------------------------------------------------
// Main

// What ran: the bridge binary (sha-256 prefix, mtime) and the extension's shared library (mtime), at start and end.
function artifacts() {
  const crypto = require('node:crypto');
  const out = {};
  try {
    const st = fs.statSync(h.BRIDGE_BIN);
    out.bridge = `${crypto.createHash('sha256').update(fs.readFileSync(h.BRIDGE_BIN)).digest('hex').slice(0, 12)} ` +
      `(${st.mtime.toISOString()})`;
  } catch (err) { out.bridge = `? (${err.message})`; }
  try {
    const lib = path.join(require('node:child_process').execFileSync(process.env.PG_CONFIG || 'pg_config',
      ['--pkglibdir'], { encoding: 'utf8' }).trim(), 'pg_collab.so');
    out.extension = `${lib} (${fs.statSync(lib).mtime.toISOString()})`;
  } catch (err) { out.extension = '?'; }
  return out;
}
const ARTIFACTS_AT_START = artifacts();

function table(rows) {
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, val]) => `  ${k.padEnd(w)}  ${val}`).join('\n');
}

function saveFailure(result, extra) {
  const dir = path.join(FAILURES, String(SEED));
  fs.mkdirSync(dir, { recursive: true });
  const history = {
    seed: SEED, durationS: DURATION_S, bridges: N_BRIDGES, clients: N_CLIENTS, docs: docIds, startedAt: new Date(T0).toISOString(),
    faults: faultLog, violations: result ? result.violations : [], extra,
    clients: clients.map((cl) => ({
      name: cl.name, id: cl.conn && cl.conn.id, startV: cl.startV, targets: cl.targets, submits: cl.submits,
      readErrors: cl.readErrors, errors: cl.conn ? cl.conn.errors.map((e) => ({ code: e.code, message: e.message })) : [],
      closes: cl.conn ? cl.conn.closeEvents : [], sent: cl.conn ? cl.conn.sent : [], received: cl.conn ? cl.conn.received : [],
    })),
    opLogs: result ? result.logs : null, snapshots: result ? result.dbs : null,
    clientWarnings: h.clientWarnings.map((w) => util.format(...w.slice(1)).slice(0, 1000)),
  };
  fs.writeFileSync(path.join(dir, 'history.json'), JSON.stringify(history));
  fs.writeFileSync(path.join(dir, 'SEED'), `${SEED}\n`);
  for (const b of bridges) {
    try { fs.copyFileSync(b.logPath, path.join(dir, path.basename(b.logPath))); } catch (err) { /* best effort */ }
  }
  return dir;
}

async function main() {
  log(`seed ${SEED} (replay: CHAOS_SEED=${SEED}), duration ${DURATION_S} s, ${N_BRIDGES} bridges, ${N_CLIENTS} clients, ${N_DOCS} docs, ${N_NEMESES} fault loop(s), database ${h.DB_NAME}`);
  await h.setupDatabase();
  await h.sql("SELECT collab.grant($1, NULL, 'user:anonymous', 'editor')", [C]);
  await h.cluster();
  for (const { id, type } of docIds) {
    await h.sql('SELECT collab.create_doc($1, $2, $3, $4::jsonb)',
      [C, id, type === 'text' ? 'text-unicode' : 'json0', JSON.stringify(INITIAL[type])]);
  }
  await startBridges();
  for (let i = 0; i < N_CLIENTS; i++) {
    const cl = new Client(i);
    clients.push(cl);
    await cl.connect();
    await cl.subscribeDocs();
  }
  const until = now() + DURATION_S * 1000;
  log('editing and injecting faults');
  const progress = setInterval(() => {
    const submitted = clients.reduce((s, c) => s + c.submits.length, 0);
    const acked = clients.reduce((s, c) => s + c.submits.filter((x) => x.result === 'ack').length, 0);
    log(`progress: ${submitted} submitted, ${acked} acked, clients connected ${clients.filter((c) => c.conn.state === 'connected').length}/${clients.length}`);
  }, 15000);
  const nemeses = [];
  for (let n = 0; n < N_NEMESES; n++) nemeses.push(faultLoop(until, n));
  await Promise.all([...nemeses, ...clients.map((c) => c.editLoop(until))]);
  clearInterval(progress);

  // Quiesce: every bridge running (not stopped), the database up, every client connected with nothing pending,
  // every client's documents at the database's version.
  log('quiescing');
  for (const cl of clients) cl.armCut = null;
  for (const b of bridges) {
    if (b.stopped) { b.proc.kill('SIGCONT'); b.stopped = false; }
    if (!b.running) await b.start();
  }
  await h.sqlRetry('SELECT 1');
  let hang = null;
  try {
    const deadline = Date.now() + QUIESCE_MS;
    await h.waitFor(() => clients.every((c) => c.conn.state === 'connected'), 'every client to be connected', { timeout: QUIESCE_MS });
    await Promise.all(clients.map((c) => h.withCallback(`whenNothingPending ${c.name}`,
      (cb) => c.conn.whenNothingPending(() => cb()), Math.max(1000, deadline - Date.now()))));
    await h.waitFor(async () => {
      for (const c of clients) {
        for (const doc of c.docs) {
          const db = await h.dbFetch(C, doc.id);
          if (doc.version !== db.v || doc.hasWritePending() || !doc.subscribed) return false;
        }
      }
      return true;
    }, 'every client document at the database version', { timeout: Math.max(1000, deadline - Date.now()), interval: 250 });
  } catch (err) {
    hang = `${err.message}\n${clients.map((c) => h.describeConnection(c.conn).split('\n').slice(0, 12).join('\n')).join('\n')}`;
    log(`HANG: ${hang}`);
  }
  stopAll = true;
  for (const c of clients) clearInterval(c.resubTimer);

  if (process.env.CHAOS_SELFTEST) {
    // Checker self-test: a fake ack of an op that is in no op-log, and one broadcast delivered twice on a socket.
    const cl = clients[0];
    const d = cl.docs[0].id;
    cl.conn.received.push({ socket: cl.conn.sockets.length - 1, a: 'op', c: C, d, v: 1, src: cl.conn.id, seq: 999999 });
    const b = cl.conn.received.find((m) => m.a === 'op' && m.d === d && 'op' in m);
    if (b) cl.conn.received.push(h.clone(b));
    log('self-test: injected a fake ack and a duplicated delivery into the history of c0');
  }
  const result = await check();
  const submitted = clients.reduce((s, c) => s + c.submits.length, 0);
  const ackedSubmits = clients.reduce((s, c) => s + c.submits.filter((x) => x.result === 'ack').length, 0);
  const erroredSubmits = clients.reduce((s, c) => s + c.submits.filter((x) => x.result && x.result !== 'ack').length, 0);
  const unanswered = clients.reduce((s, c) => s + c.submits.filter((x) => !x.result).length, 0);
  const readErrors = clients.reduce((s, c) => s + c.readErrors.length, 0);
  const clientErrors = clients.reduce((s, c) => s + c.conn.errors.length, 0);
  const sockets = clients.reduce((s, c) => s + c.conn.sockets.length, 0);
  const opsInLogs = docIds.reduce((s, { id }) => s + result.logs[id].length - 1, 0);
  const st = result.stats;
  const warnings = h.clientWarnings.length;
  const failed = result.violations.length > 0 || hang !== null || erroredSubmits > 0 || unanswered > 0;

  const faultsTotal = Object.values(faultCounts).reduce((a, b) => a + b, 0);
  const faultFailures = faultLog.filter((f) => f.error).length;
  console.log(`\nchaos summary: seed ${SEED}, ${DURATION_S} s, ${N_BRIDGES} bridges, ${N_CLIENTS} clients, ${N_DOCS} docs, ${N_NEMESES} fault loop(s), ${new Date(T0).toISOString()}`);
  const artifactsAtEnd = artifacts();
  const changed = JSON.stringify(artifactsAtEnd) !== JSON.stringify(ARTIFACTS_AT_START);
  console.log(table([
    ['bridge binary', `${ARTIFACTS_AT_START.bridge}${changed && artifactsAtEnd.bridge !== ARTIFACTS_AT_START.bridge ? ` CHANGED DURING THE RUN to ${artifactsAtEnd.bridge}` : ''}`],
    ['extension library', `${ARTIFACTS_AT_START.extension}${changed && artifactsAtEnd.extension !== ARTIFACTS_AT_START.extension ? ` CHANGED DURING THE RUN to ${artifactsAtEnd.extension}` : ''}`],
    ['faults injected', `${faultsTotal}${faultFailures ? ` (${faultFailures} failed to inject)` : ''}`],
    ...FAULT_KINDS.map((k) => [`  ${k}`, String(faultCounts[k])]),
    ['mid-submit proxy cuts done', String(clients.reduce((s, c) => s + c.cuts, 0))],
    ['client sockets opened', String(sockets)],
    ['socket close codes', closeCodes()],
    ['ops submitted (submitOp calls)', String(submitted)],
    ['ops sent (distinct src,seq)', String(result.sentDistinct)],
    ['ops resent on a new socket', `${result.resent} (${result.resentCommitted} already committed: ack lost, de-duplicated)`],
    ['submit callbacks ok / error / none', `${ackedSubmits} / ${erroredSubmits} / ${unanswered}`],
    ['acked (distinct src,seq)', String(result.ackedDistinct)],
    ['ops in op-logs (excl. creates)', String(opsInLogs)],
    ['lost (acked, not in op-log)', String(st.lost)],
    ['duplicated (src,seq twice)', String(st.duplicated)],
    ['unacked but applied twice', String(st.unackedTwice)],
    ['unexpected (in log, never sent)', String(st.unexpected)],
    ['acked at a wrong version', String(st.wrongVersion)],
    ['delivery gaps / dups / mismatches', `${st.deliveryGaps} / ${st.deliveryDups} / ${st.deliveryMismatch}`],
    ['redundant acks/re-sent ops (legit)', String(st.redundant)],
    ['snapshot jumps on resubscribe', String(st.snapshotJumps)],
    ['divergent documents', String(st.divergent.size)],
    ['read errors (subscribe/fetch)', String(readErrors)],
    ['client error events / warnings', `${clientErrors} / ${warnings}`],
    ['hang at quiesce', hang ? 'YES' : 'no'],
    ['violations', String(result.violations.length)],
  ]));
  const summary = {
    seed: SEED, duration: DURATION_S, date: new Date(T0).toISOString(), bridges: N_BRIDGES, clients: N_CLIENTS,
    docs: N_DOCS, nemeses: N_NEMESES, artifacts: ARTIFACTS_AT_START, artifactsChanged: changed, faults: faultCounts, submitted,
    sent: result.sentDistinct, acked: result.ackedDistinct, lost: st.lost, duplicated: st.duplicated,
    divergent: st.divergent.size, violations: result.violations.length, hang: !!hang, passed: !failed,
  };
  console.log(`\nCHAOS_RESULT ${JSON.stringify(summary)}`);
  fs.mkdirSync(LOGS, { recursive: true });
  fs.appendFileSync(path.join(LOGS, 'results.jsonl'), `${JSON.stringify(summary)}\n`);
  if (failed) {
    for (const x of result.violations.slice(0, 40)) console.log(`  violation (check ${x.check}) ${x.client || ''} ${x.d || ''}: ${x.message}`);
    if (result.violations.length > 40) console.log(`  ... ${result.violations.length - 40} more`);
    for (const c of clients) {
      for (const s of c.submits.filter((x) => x.result && x.result !== 'ack').slice(0, 5)) {
        console.log(`  submit error ${c.name} ${s.d}: ${s.code} ${s.message}`);
      }
    }
    const dir = saveFailure(result, { hang });
    console.log(`\nFAILED: history saved to ${dir}/history.json; replay the schedule with CHAOS_SEED=${SEED}`);
  } else {
    if (process.env.CHAOS_SAVE_HISTORY) console.log(`history saved to ${saveFailure(result, { hang })}`);
    console.log('\nPASSED');
  }
  return failed ? 1 : 0;
}

let exitCode = 2;
main().then((code) => { exitCode = code; }, (err) => {
  console.error(`chaos: setup or run error: ${err.stack || err}`);
  try { console.error(`history saved to ${saveFailure(null, { error: String(err.stack || err) })}`); } catch (e) { /* */ }
}).finally(async () => {
  stopAll = true;
  for (const b of bridges) if (b.stopped) b.proc.kill('SIGCONT');
  await h.cleanup().catch(() => {});
  process.exit(exitCode);
});
