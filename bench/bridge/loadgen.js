#!/usr/bin/env node
// Load generator for collab-bridge and the stock ShareDB server: it speaks the ShareDB protocol 1.2 directly over `ws`
// (raw messages, so that one Node process drives hundreds of clients) and prints latency, throughput, errors and
// convergence. Nothing is asserted: the exit status is 0 whenever the run itself completed.
//
//   node loadgen.js --url ws://127.0.0.1:PORT --profile PROFILE [options]
//
// Profiles:
//   many-docs       200 clients on 20 documents (10 per document), each editing at 10 ops/s
//   hot-doc         100 clients on 1 document, each editing at 10 ops/s
//   max-throughput  --mt-clients clients, one document each; the aggregate rate is ramped (x --mt-factor per step
//                   from --mt-start ops/s, then bisected --mt-bisect times) until a step is not sustained twice in
//                   a row (a failed step is retried once: the machine may be shared); sustained =
//                   acks received during the step >= 95% of the offered rate, p99 ack < --mt-p99-ms, no errors, and
//                   the backlog drained within --mt-drain seconds after the step. Reports the best sustained step.
//   idle            --idle-sockets open sockets (handshaken, each subscribed to one of --idle-docs documents), then
//                   idle for --idle-hold seconds; reports the server's RSS (VmRSS of --server-pid) before and after.
//
// Each virtual client: one WebSocket, `hs`, `s` on its document, then edits at the rate (Poisson arrivals by default,
// or evenly spaced with +-25% jitter: --arrival uniform). An edit is a text-unicode insert of 1-4 letters or a delete
// of 1-4 characters at a random position of the client's own replica (documents are kept near --doc-length
// characters, so they do not grow without bound). Client rules as in sharedb's doc.js: one op in flight per document;
// edits made meanwhile are composed into one pending op, sent after the ack; every op is sent with the version the
// client knows; incoming ops are applied in version order, the in-flight and pending ops are transformed against them
// (client op 'left', server op 'right'); an ack bumps the version. Ops are identified by (src, seq).
//
// Measured (after --warmup seconds, for --seconds seconds):
//   ack       edit -> ack: from the moment the edit is made (so time spent pending behind an in-flight op counts) to
//             the ack of the op that carried it; one sample per edit.
//   fan-out   edit -> receipt of the op carrying it by each other subscriber of the document; one sample per edit and
//             receiver.
//   wire ack  send -> ack of each op on the wire (no client-side wait), for reference.
//   ops/s     offered edits/s, and edits and wire ops acked per second during the window.
// Errors: error replies (by code), unexpected socket closes (by close code), acks whose version is not the one the
// client expects, version gaps, ops still unacked or fan-out deliveries still missing when the run has settled
// (--settle seconds at most), and documents that do not converge. Convergence: after the run settles, every client's
// replica (version and text) is compared with a fresh fetch over a new socket and, with --pg, with the database
// (--pg-schema collab: collab.fetch; sharedb-postgres: its snapshots table).
//
// Other options: --seconds N (20), --warmup N (2), --seed N (1), --label NAME, --server-pid PID (for RSS and CPU),
// --pg-pid PID (the postmaster: its children's CPU is reported), --json FILE (results), --collection NAME (bench),
// --prefix STR (document id prefix; default from the seed and the clock), --clients/--docs/--rate (override the
// profile), --connect-concurrency N (200), --settle N (30), --op-timeout N (connect/handshake/subscribe timeout, 15).
'use strict';
const fs = require('fs');
const os = require('os');
const { performance, monitorEventLoopDelay } = require('perf_hooks');
const WebSocket = require('ws');
const textType = require('ot-text-unicode').type;

const TEXT_URI = 'http://sharejs.org/types/text-unicode';

// ---------------------------------------------------------------------------------------------------------------
// Options

function usage(code) {
  const text = fs.readFileSync(__filename, 'utf8').split('\n');
  const out = [];
  for (const l of text.slice(1)) {
    if (!l.startsWith('//')) break;
    out.push(l.slice(3));
  }
  (code ? process.stderr : process.stdout).write(out.join('\n') + '\n');
  process.exit(code);
}

const opt = {
  url: null, profile: null, seconds: 20, warmup: 2, seed: 1, label: null, serverPid: null, pgPid: null, json: null,
  collection: 'bench', prefix: null, clients: null, docs: null, rate: null, arrival: 'poisson', docLength: 200,
  connectConcurrency: 200, settle: 30, opTimeout: 15, pg: null, pgSchema: 'collab',
  mtClients: 500, mtStart: 250, mtFactor: 1.5, mtMaxSteps: 14, mtBisect: 2, mtStepSeconds: 5, mtWarmup: 1,
  mtP99Ms: 100, mtDrain: 5, mtMaxRate: 100000,
  idleSockets: 10000, idleDocs: 1000, idleHold: 10,
};
const numeric = new Set(['seconds', 'warmup', 'seed', 'serverPid', 'pgPid', 'clients', 'docs', 'rate', 'docLength',
  'connectConcurrency', 'settle', 'opTimeout', 'mtClients', 'mtStart', 'mtFactor', 'mtMaxSteps', 'mtBisect',
  'mtStepSeconds', 'mtWarmup', 'mtP99Ms', 'mtDrain', 'mtMaxRate', 'idleSockets', 'idleDocs', 'idleHold']);
{
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') usage(0);
    if (!a.startsWith('--') || i + 1 >= argv.length) {
      process.stderr.write(`bad argument ${a}\n`);
      usage(2);
    }
    const key = a.slice(2).replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
    if (!(key in opt)) {
      process.stderr.write(`unknown option ${a}\n`);
      usage(2);
    }
    const v = argv[++i];
    if (numeric.has(key)) {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) {
        process.stderr.write(`${a} needs a non-negative number, not '${v}'\n`);
        process.exit(2);
      }
      opt[key] = n;
    } else {
      opt[key] = v;
    }
  }
  if (!opt.url || !/^wss?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(\/|$)/.test(opt.url)) {
    process.stderr.write('--url must be a ws:// URL on the loopback interface (127.0.0.0/8, localhost or [::1])\n');
    process.exit(2);
  }
  if (!['many-docs', 'hot-doc', 'max-throughput', 'idle'].includes(opt.profile)) usage(2);
  if (!['poisson', 'uniform'].includes(opt.arrival)) usage(2);
  if (!['collab', 'sharedb-postgres'].includes(opt.pgSchema)) usage(2);
  if (opt.prefix == null) opt.prefix = `s${opt.seed}-${Date.now().toString(36)}`;
  if (opt.label == null) opt.label = opt.url;
}

function log(msg) {
  process.stdout.write(`[${opt.label} ${opt.profile}] ${msg}\n`);
}

// ---------------------------------------------------------------------------------------------------------------
// Seeded randomness (splitmix32 seeding mulberry32 streams, one per client)

function mulberry32(a) {
  return function () {
    a |= 0;
    a = (a + 0x6D2B79F5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function streamSeed(seed, k) {
  let z = (seed * 0x9E3779B1 + k * 0x85EBCA77 + 0x632BE5AB) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85EBCA6B);
  z = Math.imul(z ^ (z >>> 13), 0xC2B2AE35);
  return (z ^ (z >>> 16)) | 0;
}
function randInt(rng, lo, hi) { // inclusive
  return lo + Math.floor(rng() * (hi - lo + 1));
}
function randLetters(rng, n) {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(97 + Math.floor(rng() * 26));
  return s;
}

// text-unicode's apply for ASCII-only documents (every document and every insert here is lowercase ASCII, so code
// points and UTF-16 units coincide): the same result as textType.apply, without its code-point conversions, which
// matter when 100 clients apply every op of a hot document. Ops from the server that are not plain components
// (or text that is not ASCII) go through textType.apply.
function applyText(text, op) {
  let out = '';
  let pos = 0;
  for (let i = 0; i < op.length; i++) {
    const c = op[i];
    if (typeof c === 'number') {
      if (pos + c > text.length) throw new Error('The op is too long for this document');
      out += text.slice(pos, pos + c);
      pos += c;
    } else if (typeof c === 'string') {
      if (!/^[a-z]*$/.test(c)) return textType.apply(text, op);
      out += c;
    } else if (c && typeof c.d === 'number') {
      pos = Math.min(text.length, pos + c.d);
    } else {
      return textType.apply(text, op);
    }
  }
  return out + text.slice(pos);
}

// ---------------------------------------------------------------------------------------------------------------
// Samples (exact percentiles) and a small min-heap for the edit schedule

class Samples {
  constructor() {
    this.buf = new Float64Array(1024);
    this.n = 0;
  }
  push(v) {
    if (this.n === this.buf.length) {
      const b = new Float64Array(this.buf.length * 2);
      b.set(this.buf);
      this.buf = b;
    }
    this.buf[this.n++] = v;
  }
  summary() {
    if (this.n === 0) return { n: 0, p50: null, p95: null, p99: null, max: null, mean: null };
    const a = this.buf.slice(0, this.n).sort();
    const q = (p) => a[Math.min(a.length - 1, Math.max(0, Math.ceil(p * a.length) - 1))];
    let sum = 0;
    for (let i = 0; i < a.length; i++) sum += a[i];
    const r = (x) => Math.round(x * 1000) / 1000;
    return { n: a.length, p50: r(q(0.5)), p95: r(q(0.95)), p99: r(q(0.99)), max: r(a[a.length - 1]), mean: r(sum / a.length) };
  }
}

class Heap { // of [time, item], by time
  constructor() { this.a = []; }
  get size() { return this.a.length; }
  peekTime() { return this.a[0][0]; }
  push(t, item) {
    const a = this.a;
    a.push([t, item]);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p][0] <= a[i][0]) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }
  pop() {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && a[l][0] < a[m][0]) m = l;
        if (r < a.length && a[r][0] < a[m][0]) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Process CPU and memory from /proc

const CLK_TCK = 100;
function procTicks(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
  } catch (e) {
    return null;
  }
}
// CPU ticks of a process, or of a process and its direct children (the postmaster and its backends).
function cpuTicks(pid, withChildren) {
  if (!pid) return null;
  const own = procTicks(pid);
  if (!own) return null;
  let total = own.ticks;
  if (withChildren) {
    for (const name of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const p = procTicks(name);
      if (p && p.ppid === pid) total += p.ticks;
    }
  }
  return total;
}
function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch (e) {
    return null;
  }
}
// Busy CPU time of the whole machine (all processes), in seconds.
function machineBusySeconds() {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return (total - f[3] - f[4]) / CLK_TCK; // minus idle and iowait
  } catch (e) {
    return null;
  }
}
class CpuMeter {
  constructor() {
    this.t0 = performance.now();
    this.machine0 = machineBusySeconds();
    this.self0 = process.cpuUsage();
    this.server0 = cpuTicks(opt.serverPid, false);
    this.pg0 = cpuTicks(opt.pgPid, true);
  }
  // Percent of one core over the interval (200% = both cores of a 2-core machine). `machine` is every process's,
  // including anything else running on the machine.
  read() {
    const wall = (performance.now() - this.t0) / 1000;
    const self = process.cpuUsage(this.self0);
    const pct = (x) => (x == null ? null : Math.round((x / wall) * 1000) / 10);
    const server1 = cpuTicks(opt.serverPid, false);
    const pg1 = cpuTicks(opt.pgPid, true); // backends that exited meanwhile are not counted
    const machine1 = machineBusySeconds();
    return {
      machine: this.machine0 != null && machine1 != null ? pct(machine1 - this.machine0) : null,
      loadgen: pct((self.user + self.system) / 1e6),
      server: this.server0 != null && server1 != null ? pct((server1 - this.server0) / CLK_TCK) : null,
      postgres: this.pg0 != null && pg1 != null ? pct(Math.max(0, pg1 - this.pg0) / CLK_TCK) : null,
    };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Per-phase statistics

function newStats(windowStart, windowEnd) {
  return {
    windowStart, windowEnd,
    ack: new Samples(), fanout: new Samples(), wireAck: new Samples(),
    editsOffered: 0, editsAckedInWindow: 0, wireOpsSentInWindow: 0, wireOpsAckedInWindow: 0,
    errorReplies: {}, closes: {}, ackMismatch: 0, gaps: 0, duplicates: 0, unknownOps: 0, brokenClients: 0,
    connectFailures: 0,
  };
}
let stats = newStats(0, 0);
const inWindow = (t) => t >= stats.windowStart && t < stats.windowEnd;
function countError(code) {
  stats.errorReplies[code] = (stats.errorReplies[code] || 0) + 1;
}

// (src:seq) -> {edits: [times], sendTime, expected, got}; entries are deleted once every receiver got the op.
const inTransit = new Map();

// ---------------------------------------------------------------------------------------------------------------
// Sockets

function openSocket(url, onMessage) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: opt.opTimeout * 1000 });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('connect timeout'));
    }, opt.opTimeout * 1000);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve(ws);
    });
    ws.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return onMessage(null, data);
      let msg;
      try {
        msg = JSON.parse(data);
      } catch (e) {
        return onMessage(null, data);
      }
      onMessage(msg);
    });
  });
}

// Request/reply over a socket: waits for the first message accepted by `match`.
class Waiters {
  constructor() { this.list = []; }
  wait(match, what) {
    return new Promise((resolve, reject) => {
      const w = { match, resolve, reject };
      w.timer = setTimeout(() => {
        this.list.splice(this.list.indexOf(w), 1);
        reject(new Error(`timeout waiting for ${what}`));
      }, opt.opTimeout * 1000);
      this.list.push(w);
    });
  }
  offer(msg) {
    for (let i = 0; i < this.list.length; i++) {
      const w = this.list[i];
      if (w.match(msg)) {
        this.list.splice(i, 1);
        clearTimeout(w.timer);
        w.resolve(msg);
        return true;
      }
    }
    return false;
  }
  failAll(err) {
    for (const w of this.list.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }
}

// A plain protocol connection for setup (creates) and verification (fetches).
class Session {
  async open() {
    this.waiters = new Waiters();
    this.seq = 0;
    this.ws = await openSocket(opt.url, (msg) => {
      if (msg) this.waiters.offer(msg);
    });
    this.ws.on('close', () => this.waiters.failAll(new Error('socket closed')));
    this.ws.on('error', () => {});
    const hs = this.waiters.wait((m) => m.a === 'hs', 'hs');
    this.ws.send(JSON.stringify({ a: 'hs', id: null, protocol: 1, protocolMinor: 2 }));
    const reply = await hs;
    if (reply.error) throw new Error(`hs error ${JSON.stringify(reply.error)}`);
    this.src = reply.id;
    return this;
  }
  send(msg) { this.ws.send(JSON.stringify(msg)); }
  async create(c, d, data) {
    const seq = ++this.seq;
    const p = this.waiters.wait((m) => m.a === 'op' && m.seq === seq && m.d === d, `create ${d}`);
    this.send({ a: 'op', c, d, v: null, seq, create: { type: TEXT_URI, data } });
    const m = await p;
    if (m.error) throw new Error(`create ${c}/${d}: ${JSON.stringify(m.error)}`);
  }
  async fetch(c, d) {
    const p = this.waiters.wait((m) => m.a === 'f' && m.c === c && m.d === d, `fetch ${d}`);
    this.send({ a: 'f', c, d });
    const m = await p;
    if (m.error) throw new Error(`fetch ${c}/${d}: ${JSON.stringify(m.error)}`);
    return m.data;
  }
  close() { this.ws.close(); }
}

// Runs `fn(item)` for all items with at most `limit` at a time.
async function pool(items, limit, fn) {
  let next = 0;
  const workers = [];
  for (let w = 0; w < Math.min(limit, items.length); w++) {
    workers.push((async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    })());
  }
  await Promise.all(workers);
}

async function createDocs(ids, rng) {
  const sessions = [];
  const n = Math.min(20, Math.max(1, Math.ceil(ids.length / 50)));
  for (let i = 0; i < n; i++) sessions.push(await new Session().open());
  const texts = ids.map(() => randLetters(rng, Math.floor(opt.docLength / 2)));
  await pool(ids, n * 25, (d, i) => sessions[i % n].create(opt.collection, d, texts[i]));
  for (const s of sessions) s.close();
}

// ---------------------------------------------------------------------------------------------------------------
// The virtual client

class Client {
  constructor(index, doc, peers) {
    this.index = index;
    this.doc = doc; // id
    this.peers = peers; // array of the clients on this doc (shared)
    this.rng = mulberry32(streamSeed(opt.seed, index + 1));
    this.seq = 0;
    this.version = null;
    this.text = null;
    this.inflight = null; // {op, seq, v, edits: [times], sendTime}
    this.pending = null; // {op, edits}
    this.early = []; // ops received before the subscribe reply
    this.broken = null;
    this.closed = false;
    this.waiters = new Waiters();
  }

  async connect() {
    this.ws = await openSocket(opt.url, (msg, raw) => this.onMessage(msg, raw));
    this.ws.on('close', (code) => {
      this.closed = true;
      this.waiters.failAll(new Error(`socket closed ${code}`));
      if (!shuttingDown) {
        stats.closes[code] = (stats.closes[code] || 0) + 1;
        this.markBroken(`socket closed with ${code}`);
      }
    });
    this.ws.on('error', () => {});
    const hs = this.waiters.wait((m) => m.a === 'hs', 'hs');
    this.send({ a: 'hs', id: null, protocol: 1, protocolMinor: 2 });
    const reply = await hs;
    if (reply.error || typeof reply.id !== 'string') throw new Error(`hs: ${JSON.stringify(reply)}`);
    this.src = reply.id;
    const s = this.waiters.wait((m) => m.a === 's' && m.d === this.doc, 's');
    this.send({ a: 's', c: opt.collection, d: this.doc });
    const sub = await s;
    if (sub.error) throw new Error(`subscribe: ${JSON.stringify(sub.error)}`);
    if (!sub.data || typeof sub.data.v !== 'number' || typeof sub.data.data !== 'string') {
      throw new Error(`subscribe reply without a text snapshot: ${JSON.stringify(sub)}`);
    }
    this.version = sub.data.v;
    this.text = sub.data.data;
    const early = this.early;
    this.early = null;
    for (const m of early) this.onOp(m);
  }

  send(msg) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  markBroken(why) {
    if (this.broken) return;
    this.broken = why;
    stats.brokenClients++;
    if (brokenExamples.length < 5) brokenExamples.push(`client ${this.index} (doc ${this.doc}): ${why}`);
  }

  onMessage(msg, raw) {
    if (!msg) {
      countError('NON_JSON_OR_BINARY_FRAME');
      return;
    }
    if (this.waiters.list.length && this.waiters.offer(msg)) return;
    if (msg.a === 'op') {
      if (this.early) this.early.push(msg);
      else this.onOp(msg);
    } else if (msg.a === 'init' || msg.a === 'pp') {
      // ignored
    } else if (msg.error) {
      countError(msg.error.code || 'ERR_UNKNOWN');
      if (errorExamples.length < 5) errorExamples.push(JSON.stringify(msg).slice(0, 300));
    }
  }

  onOp(msg) {
    const now = performance.now();
    if (msg.error) {
      countError(msg.error.code || 'ERR_UNKNOWN');
      if (errorExamples.length < 5) errorExamples.push(JSON.stringify(msg).slice(0, 300));
      if (this.inflight && msg.seq === this.inflight.seq) this.markBroken(`op rejected: ${msg.error.code}`);
      return;
    }
    if (msg.d !== this.doc) return;
    if (this.inflight && msg.src === this.src && msg.seq === this.inflight.seq) {
      // The ack (ShareDB counts any message with our src+seq as the ack).
      if (msg.v !== this.version) {
        stats.ackMismatch++;
        this.markBroken(`ack with v ${msg.v}, expected ${this.version}`);
        return;
      }
      this.version++;
      const inf = this.inflight;
      this.inflight = null;
      if (inWindow(now)) stats.wireOpsAckedInWindow++;
      if (inWindow(inf.sendTime)) stats.wireAck.push(now - inf.sendTime);
      for (const t of inf.edits) {
        if (inWindow(now)) stats.editsAckedInWindow++;
        if (inWindow(t)) stats.ack.push(now - t);
      }
      if (this.pending && !this.broken) this.flush(now);
      return;
    }
    if (typeof msg.v !== 'number') {
      countError('OP_WITHOUT_VERSION');
      return;
    }
    if (msg.src === this.src) { // our own op, but not the in-flight one: a server must not echo own ops
      if (msg.v < this.version) {
        stats.duplicates++;
        return;
      }
      countError('OWN_OP_ECHOED');
      this.markBroken(`own op seq ${msg.seq} v ${msg.v} received while at version ${this.version}`);
      return;
    }
    if (msg.v < this.version) {
      stats.duplicates++;
      return;
    }
    if (msg.v > this.version) {
      stats.gaps++;
      this.markBroken(`op v ${msg.v} while at version ${this.version} (gap)`);
      return;
    }
    if (!msg.op) {
      countError('UNEXPECTED_CREATE_OR_DEL');
      this.markBroken('create/del received');
      return;
    }
    // A remote op at our version: transform our ops against it, apply it.
    let remote = msg.op;
    try {
      if (this.inflight) {
        const mine = this.inflight.op;
        this.inflight.op = textType.transform(mine, remote, 'left');
        remote = textType.transform(remote, mine, 'right');
      }
      if (this.pending) {
        const mine = this.pending.op;
        this.pending.op = textType.transform(mine, remote, 'left');
        remote = textType.transform(remote, mine, 'right');
      }
      this.text = applyText(this.text, remote);
    } catch (e) {
      countError('CLIENT_APPLY_FAILED');
      this.markBroken(`applying op ${JSON.stringify(msg.op)} failed: ${e.message}`);
      return;
    }
    this.version++;
    // Fan-out latency.
    const key = msg.src + ':' + msg.seq;
    const rec = inTransit.get(key);
    if (!rec) {
      stats.unknownOps++;
      return;
    }
    for (const t of rec.edits) if (inWindow(t)) stats.fanout.push(now - t);
    if (++rec.got >= rec.expected) inTransit.delete(key);
  }

  // A user edit on the local replica.
  edit(now) {
    if (this.broken || this.closed || this.text == null) return;
    const rng = this.rng;
    const len = this.text.length; // ASCII only: code points == UTF-16 units
    const insert = len < 4 || rng() < (len < opt.docLength ? 0.75 : 0.25);
    let op;
    if (insert) {
      const pos = randInt(rng, 0, len);
      const s = randLetters(rng, randInt(rng, 1, 4));
      op = pos > 0 ? [pos, s] : [s];
    } else {
      const n = randInt(rng, 1, Math.min(4, len));
      const pos = randInt(rng, 0, len - n);
      op = pos > 0 ? [pos, { d: n }] : [{ d: n }];
    }
    this.text = applyText(this.text, op);
    if (inWindow(now)) stats.editsOffered++;
    if (this.pending) {
      this.pending.op = textType.compose(this.pending.op, op);
      this.pending.edits.push(now);
    } else {
      this.pending = { op, edits: [now] };
    }
    if (!this.inflight) this.flush(now);
  }

  flush(now) {
    const p = this.pending;
    this.pending = null;
    if (p.op.length === 0) { // edits that cancelled out: nothing to send (sharedb would send a no-op)
      for (const t of p.edits) if (inWindow(t)) stats.ack.push(now - t);
      return;
    }
    const seq = ++this.seq;
    this.inflight = { op: p.op, seq, edits: p.edits, sendTime: now };
    let expected = 0; // the other subscribers that are still healthy
    for (const peer of this.peers) if (peer !== this && !peer.broken && !peer.closed) expected++;
    if (expected > 0) inTransit.set(this.src + ':' + seq, { edits: p.edits, expected, got: 0 });
    if (inWindow(now)) stats.wireOpsSentInWindow++;
    this.send({ a: 'op', c: opt.collection, d: this.doc, v: this.version, seq, op: p.op });
  }

  idle() {
    return !this.inflight && !this.pending;
  }
}

let shuttingDown = false;
const brokenExamples = [];
const errorExamples = [];

async function connectClients(clients) {
  const failures = [];
  await pool(clients, opt.connectConcurrency, async (c) => {
    try {
      await c.connect();
    } catch (e) {
      failures.push(`client ${c.index}: ${e.message}`);
      c.markBroken(`connect failed: ${e.message}`);
      if (c.ws) c.ws.terminate();
    }
  });
  return failures;
}

// Edits at `ratePerClient` until `end`, with samples taken in [windowStart, end).
function drive(clients, ratePerClient, end) {
  const heap = new Heap();
  const mean = 1000 / ratePerClient;
  const gap = (rng) => (opt.arrival === 'poisson' ? -Math.log(1 - rng()) * mean : mean * (0.75 + 0.5 * rng()));
  const t0 = performance.now();
  const sched = mulberry32(streamSeed(opt.seed, 0));
  // First edits: exponential (Poisson: memoryless, so the process is stationary from the start) or uniform.
  for (const c of clients) heap.push(t0 + (opt.arrival === 'poisson' ? -Math.log(1 - sched()) * mean : sched() * mean), c);
  return new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      if (now >= end) return resolve();
      let budget = 100000; // bounded work per tick
      while (heap.size && heap.peekTime() <= now && budget-- > 0) {
        const [t, c] = heap.pop();
        c.edit(performance.now());
        heap.push(t + gap(c.rng), c);
      }
      const next = heap.size ? Math.min(heap.peekTime(), end) : end;
      setTimeout(tick, Math.max(0, next - performance.now()));
    };
    tick();
  });
}

async function settle(clients, seconds) {
  const deadline = performance.now() + seconds * 1000;
  for (;;) {
    const busy = clients.filter((c) => !c.broken && !c.closed && !c.idle()).length;
    const missing = pendingFanout(clients);
    if (busy === 0 && missing === 0) return { settled: true, unacked: 0, fanoutMissing: 0 };
    if (performance.now() >= deadline) {
      let unacked = 0;
      for (const c of clients) {
        if (c.inflight) unacked += c.inflight.edits.length;
        if (c.pending) unacked += c.pending.edits.length;
      }
      return { settled: false, unacked, fanoutMissing: missing };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
function pendingFanout(clients) {
  // Deliveries still expected by receivers that are alive.
  let missing = 0;
  for (const rec of inTransit.values()) missing += rec.expected - rec.got;
  return missing;
}

async function verify(clients, docIds) {
  const res = { docs: docIds.length, converged: 0, diverged: 0, examples: [], source: ['fresh fetch'] };
  const byDoc = new Map(docIds.map((d) => [d, []]));
  for (const c of clients) byDoc.get(c.doc).push(c);
  let sess;
  try {
    sess = await new Session().open();
  } catch (e) {
    res.error = `verification connection failed: ${e.message}`;
    return res;
  }
  let pgClient = null;
  if (opt.pg) {
    const pg = require('pg');
    pgClient = new pg.Client(pgConnOptions(opt.pg));
    await pgClient.connect();
    res.source.push(opt.pgSchema === 'collab' ? 'collab.fetch' : 'sharedb-postgres snapshots table');
  }
  try {
    for (const d of docIds) {
      let snap;
      const problems = [];
      try {
        snap = await sess.fetch(opt.collection, d);
      } catch (e) {
        problems.push(e.message);
      }
      if (snap && pgClient) {
        const q = opt.pgSchema === 'collab'
          ? 'SELECT version::int AS v, data FROM collab.fetch($1, $2)'
          : 'SELECT version AS v, data FROM snapshots WHERE collection = $1 AND doc_id = $2';
        const r = await pgClient.query(q, [opt.collection, d]);
        const row = r.rows[0];
        if (!row || row.v !== snap.v || row.data !== snap.data) {
          problems.push(`database has v=${row && row.v} (${row ? JSON.stringify(row.data).length : 0} bytes), socket fetch v=${snap.v}`);
        }
      }
      if (snap) {
        for (const c of byDoc.get(d)) {
          if (c.broken) {
            problems.push(`client ${c.index} broken: ${c.broken}`);
          } else if (c.version !== snap.v || c.text !== snap.data) {
            problems.push(`client ${c.index}: v=${c.version} text ${c.text === snap.data ? '=' : '!='} server v=${snap.v}`);
          }
        }
      }
      if (problems.length) {
        res.diverged++;
        if (res.examples.length < 5) res.examples.push(`${d}: ${problems.slice(0, 3).join('; ')}`);
      } else {
        res.converged++;
      }
    }
  } finally {
    sess.close();
    if (pgClient) await pgClient.end();
  }
  return res;
}

function pgConnOptions(conninfo) {
  if (/^postgres(ql)?:\/\//.test(conninfo)) return { connectionString: conninfo };
  const keys = { host: 'host', port: 'port', dbname: 'database', user: 'user', password: 'password' };
  const o = {};
  for (const m of conninfo.matchAll(/(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/g)) {
    let v = m[2];
    if (v.startsWith("'")) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    if (keys[m[1]]) o[keys[m[1]]] = m[1] === 'port' ? Number(v) : v;
  }
  return o;
}

// ---------------------------------------------------------------------------------------------------------------
// Phases

function phaseResult(extra) {
  const errors = {
    errorReplies: stats.errorReplies, closes: stats.closes, ackMismatch: stats.ackMismatch, gaps: stats.gaps,
    brokenClients: stats.brokenClients, connectFailures: stats.connectFailures,
  };
  let total = stats.ackMismatch + stats.gaps + stats.connectFailures;
  for (const v of Object.values(stats.errorReplies)) total += v;
  for (const v of Object.values(stats.closes)) total += v;
  const w = (stats.windowEnd - stats.windowStart) / 1000;
  const r1 = (x) => Math.round(x * 10) / 10;
  return Object.assign({
    windowSeconds: r1(w),
    offeredEditsPerSec: r1(stats.editsOffered / w),
    ackedEditsPerSec: r1(stats.editsAckedInWindow / w),
    ackedOpsPerSec: r1(stats.wireOpsAckedInWindow / w),
    wireOpsSentPerSec: r1(stats.wireOpsSentInWindow / w),
    ack: stats.ack.summary(), fanout: stats.fanout.summary(), wireAck: stats.wireAck.summary(),
    duplicatesIgnored: stats.duplicates, unknownOps: stats.unknownOps,
    errors, errorCount: total,
  }, extra);
}

function loopLag(h) {
  const ms = (x) => Math.round(x / 1e4) / 100;
  return { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) };
}

async function runSteady(profile) {
  const p = { 'many-docs': { clients: 200, docs: 20, rate: 10 }, 'hot-doc': { clients: 100, docs: 1, rate: 10 } }[profile];
  const nClients = opt.clients || p.clients;
  const nDocs = opt.docs || p.docs;
  const rate = opt.rate || p.rate;
  const docIds = Array.from({ length: nDocs }, (_, i) => `${opt.prefix}-${profile}-${i}`);
  log(`${nClients} clients on ${nDocs} document(s), ${rate} edits/s each (${opt.arrival}), ${opt.warmup} s warm-up + ${opt.seconds} s measured, seed ${opt.seed}`);
  await createDocs(docIds, mulberry32(streamSeed(opt.seed, 999983)));
  const peers = new Map(docIds.map((d) => [d, []]));
  const clients = [];
  for (let i = 0; i < nClients; i++) {
    const d = docIds[i % nDocs];
    const c = new Client(i, d, peers.get(d));
    peers.get(d).push(c);
    clients.push(c);
  }
  const failures = await connectClients(clients);
  if (failures.length) log(`${failures.length} client(s) failed to connect, e.g. ${failures[0]}`);
  const t0 = performance.now();
  stats = newStats(t0 + opt.warmup * 1000, t0 + (opt.warmup + opt.seconds) * 1000);
  stats.connectFailures = failures.length;
  const lag = monitorEventLoopDelay({ resolution: 10 });
  let cpu = null;
  const cpuTimer = setTimeout(() => { cpu = new CpuMeter(); lag.enable(); }, opt.warmup * 1000);
  await drive(clients, rate, stats.windowEnd);
  clearTimeout(cpuTimer);
  const cpuPct = cpu ? cpu.read() : null;
  lag.disable();
  const st = await settle(clients, opt.settle);
  const conv = await verify(clients, docIds);
  shuttingDown = true;
  for (const c of clients) if (c.ws) c.ws.close();
  return phaseResult({
    clients: nClients, docs: nDocs, ratePerClient: rate, settled: st.settled, unackedAtEnd: st.unacked,
    fanoutMissingAtEnd: st.fanoutMissing, convergence: conv, cpuPercent: cpuPct, loadgenLoopLagMs: loopLag(lag),
  });
}

async function runMaxThroughput() {
  const n = opt.mtClients;
  const docIds = Array.from({ length: n }, (_, i) => `${opt.prefix}-mt-${i}`);
  log(`${n} clients, one document each; ramp from ${opt.mtStart} ops/s x${opt.mtFactor}, ${opt.mtWarmup} s + ${opt.mtStepSeconds} s per step, sustained = acked >= 95% of offered, p99 ack < ${opt.mtP99Ms} ms, no errors, drained within ${opt.mtDrain} s`);
  await createDocs(docIds, mulberry32(streamSeed(opt.seed, 999983)));
  const clients = docIds.map((d, i) => {
    const peers = [];
    const c = new Client(i, d, peers);
    peers.push(c);
    return c;
  });
  const failures = await connectClients(clients);
  if (failures.length) log(`${failures.length} client(s) failed to connect, e.g. ${failures[0]}`);
  const steps = [];
  const runStep = async (rate) => {
    const t0 = performance.now();
    stats = newStats(t0 + opt.mtWarmup * 1000, t0 + (opt.mtWarmup + opt.mtStepSeconds) * 1000);
    stats.connectFailures = failures.length;
    let cpu = null;
    const lag = monitorEventLoopDelay({ resolution: 10 });
    const cpuTimer = setTimeout(() => { cpu = new CpuMeter(); lag.enable(); }, opt.mtWarmup * 1000);
    await drive(clients.filter((c) => !c.broken), rate / n, stats.windowEnd);
    clearTimeout(cpuTimer);
    const cpuPct = cpu ? cpu.read() : null;
    lag.disable();
    const st = await settle(clients, opt.mtDrain);
    const r = phaseResult({ targetOpsPerSec: rate, settled: st.settled, unackedAtEnd: st.unacked, cpuPercent: cpuPct,
      loadgenLoopLagMs: loopLag(lag) });
    r.sustained = st.settled && r.errorCount === 0 && r.ack.p99 != null && r.ack.p99 < opt.mtP99Ms &&
      r.ackedEditsPerSec >= 0.95 * r.offeredEditsPerSec && r.offeredEditsPerSec >= 0.9 * rate;
    if (r.offeredEditsPerSec < 0.9 * rate) r.note = 'the load generator did not offer the target rate';
    log(`step ${Math.round(rate)} ops/s: offered ${r.offeredEditsPerSec}/s, acked ${r.ackedEditsPerSec} edits/s in ${r.ackedOpsPerSec} ops/s, ack p50 ${r.ack.p50} p99 ${r.ack.p99} ms, errors ${r.errorCount}, settled ${st.settled}, cpu ${JSON.stringify(cpuPct)} -> ${r.sustained ? 'sustained' : 'NOT sustained'}${r.note ? ` (${r.note})` : ''}`);
    steps.push(r);
    if (!st.settled) await settle(clients, opt.settle); // let the backlog go before anything else
    return r;
  };
  let rate = opt.mtStart;
  let best = null;
  let firstFail = null;
  let retried = false;
  for (let i = 0; i < opt.mtMaxSteps && rate <= opt.mtMaxRate; i++) {
    const r = await runStep(rate);
    if (!r.sustained) {
      // One retry of a failed step, so that a passing disturbance (this machine is shared) does not end the ramp.
      if (!retried) {
        retried = true;
        log(`step ${Math.round(rate)} ops/s not sustained: retrying it once`);
        continue;
      }
      firstFail = rate;
      break;
    }
    retried = false;
    best = r;
    rate *= opt.mtFactor;
  }
  if (firstFail != null && best) {
    let lo = best.targetOpsPerSec, hi = firstFail;
    for (let i = 0; i < opt.mtBisect; i++) {
      const mid = Math.round((lo + hi) / 2);
      const r = await runStep(mid);
      if (r.sustained) { lo = mid; if (!best || r.ackedOpsPerSec > best.ackedOpsPerSec) best = r; } else hi = mid;
    }
  }
  const conv = await verify(clients, docIds);
  shuttingDown = true;
  for (const c of clients) if (c.ws) c.ws.close();
  return {
    clients: n, docs: n, steps, best, convergence: conv,
    maxSustainedOpsPerSec: best ? best.ackedOpsPerSec : 0,
    maxSustainedEditsPerSec: best ? best.ackedEditsPerSec : 0,
    limitedBy: firstFail == null ? (best ? 'none before the step limit' : 'no step ran') : `first unsustained step ${Math.round(firstFail)} ops/s`,
  };
}

async function runIdle() {
  const n = opt.idleSockets;
  const nDocs = Math.min(opt.idleDocs, n);
  const limit = fdLimit();
  if (limit != null && limit < n + 200) {
    throw new Error(`the open-files limit is ${limit}, too low for ${n} sockets: raise it (ulimit -n) before starting`);
  }
  const docIds = Array.from({ length: nDocs }, (_, i) => `${opt.prefix}-idle-${i}`);
  log(`${n} sockets subscribed to ${nDocs} documents, then idle for ${opt.idleHold} s`);
  const rssBefore = rssKiB(opt.serverPid);
  await createDocs(docIds, mulberry32(streamSeed(opt.seed, 999983)));
  const rssAfterCreate = rssKiB(opt.serverPid);
  const t0 = performance.now();
  const sockets = [];
  let failures = 0;
  const firstFailures = [];
  const closes = {};
  await pool(Array.from({ length: n }, (_, i) => i), opt.connectConcurrency, async (i) => {
    const waiters = new Waiters();
    let ws;
    try {
      ws = await openSocket(opt.url, (msg) => { if (msg) waiters.offer(msg); });
      ws.on('error', () => {});
      ws.on('close', (code) => { if (!shuttingDown) closes[code] = (closes[code] || 0) + 1; waiters.failAll(new Error(`closed ${code}`)); });
      const hs = waiters.wait((m) => m.a === 'hs', 'hs');
      ws.send(JSON.stringify({ a: 'hs', id: null, protocol: 1, protocolMinor: 2 }));
      const h = await hs;
      if (h.error) throw new Error(`hs: ${JSON.stringify(h.error)}`);
      const d = docIds[i % nDocs];
      const s = waiters.wait((m) => m.a === 's' && m.d === d, 's');
      ws.send(JSON.stringify({ a: 's', c: opt.collection, d }));
      const r = await s;
      if (r.error) throw new Error(`s: ${JSON.stringify(r.error)}`);
      sockets.push(ws);
    } catch (e) {
      failures++;
      if (firstFailures.length < 3) firstFailures.push(e.message);
      if (ws) ws.terminate();
    }
  });
  const connectSeconds = (performance.now() - t0) / 1000;
  const rssConnected = rssKiB(opt.serverPid);
  log(`${sockets.length} sockets open and subscribed in ${connectSeconds.toFixed(1)} s (${failures} failed${firstFailures.length ? ': ' + firstFailures.join('; ') : ''}); server RSS ${mb(rssConnected)} MB`);
  let rssMax = rssConnected || 0;
  const holdEnd = performance.now() + opt.idleHold * 1000;
  const cpu = new CpuMeter();
  while (performance.now() < holdEnd) {
    await new Promise((r) => setTimeout(r, 500));
    rssMax = Math.max(rssMax, rssKiB(opt.serverPid) || 0);
  }
  const cpuPct = cpu.read();
  const rssEnd = rssKiB(opt.serverPid);
  const open = sockets.filter((ws) => ws.readyState === WebSocket.OPEN).length;
  shuttingDown = true;
  for (const ws of sockets) ws.terminate();
  const closeCount = Object.values(closes).reduce((a, b) => a + b, 0);
  return {
    sockets: n, docs: nDocs, openAtEnd: open, connectFailures: failures, connectFailureExamples: firstFailures,
    closesDuringHold: closes, connectSeconds: Math.round(connectSeconds * 10) / 10,
    rssMiB: { idleServer: mb(rssBefore), afterCreate: mb(rssAfterCreate), connected: mb(rssConnected), end: mb(rssEnd), max: mb(rssMax) },
    rssPerSocketKiB: rssConnected && rssAfterCreate ? Math.round(((rssMax - rssAfterCreate) / n) * 100) / 100 : null,
    cpuPercentDuringHold: cpuPct,
    errorCount: failures + closeCount,
  };
}
function mb(kib) {
  return kib == null ? null : Math.round((kib / 1024) * 10) / 10;
}
function fdLimit() {
  try {
    const m = /Max open files\s+(\d+|unlimited)/.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    return m && m[1] !== 'unlimited' ? Number(m[1]) : null;
  } catch (e) {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Printing

function fmtLat(s) {
  if (!s || !s.n) return 'n/a';
  const f = (x) => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : Math.round(x).toString());
  return `p50 ${f(s.p50)}  p95 ${f(s.p95)}  p99 ${f(s.p99)}  max ${f(s.max)} ms  (${s.n} samples)`;
}
function printSteady(r) {
  log(`offered ${r.offeredEditsPerSec} edits/s; acked ${r.ackedEditsPerSec} edits/s in ${r.ackedOpsPerSec} ops/s (wire ops sent ${r.wireOpsSentPerSec}/s)`);
  log(`ack      ${fmtLat(r.ack)}`);
  log(`fan-out  ${fmtLat(r.fanout)}`);
  log(`wire ack ${fmtLat(r.wireAck)}`);
  log(`errors ${r.errorCount} ${JSON.stringify(r.errors)}; settled ${r.settled} (unacked ${r.unackedAtEnd}, fan-out missing ${r.fanoutMissingAtEnd}); duplicates ignored ${r.duplicatesIgnored}`);
  log(`convergence: ${r.convergence.converged}/${r.convergence.docs} documents equal in every client, the server${r.convergence.source.length > 1 ? ' and the database' : ''}${r.convergence.examples.length ? '; e.g. ' + r.convergence.examples.join(' | ') : ''}${r.convergence.error ? '; ' + r.convergence.error : ''}`);
  log(`cpu % of one core during the window: ${JSON.stringify(r.cpuPercent)}; load generator event-loop delay ${JSON.stringify(r.loadgenLoopLagMs)} ms`);
}

async function main() {
  const started = new Date().toISOString();
  const loadavgStart = os.loadavg().map((x) => Math.round(x * 100) / 100);
  let result;
  if (opt.profile === 'idle') {
    result = await runIdle();
    log(`RSS MiB ${JSON.stringify(result.rssMiB)}; ${result.rssPerSocketKiB} KiB per socket; ${result.openAtEnd}/${result.sockets} open at the end; errors ${result.errorCount} ${JSON.stringify(result.closesDuringHold)}`);
  } else if (opt.profile === 'max-throughput') {
    result = await runMaxThroughput();
    log(`max sustained: ${result.maxSustainedOpsPerSec} ops/s (${result.maxSustainedEditsPerSec} edits/s); ${result.limitedBy}`);
    if (result.best) log(`at that step: ack ${fmtLat(result.best.ack)}; cpu ${JSON.stringify(result.best.cpuPercent)}`);
    log(`convergence: ${result.convergence.converged}/${result.convergence.docs} documents${result.convergence.examples.length ? '; e.g. ' + result.convergence.examples.join(' | ') : ''}`);
  } else {
    result = await runSteady(opt.profile);
    printSteady(result);
  }
  if (brokenExamples.length) log(`broken clients, e.g.: ${brokenExamples.join(' | ')}`);
  if (errorExamples.length) log(`error replies, e.g.: ${errorExamples.join(' | ')}`);
  const out = Object.assign({
    label: opt.label, profile: opt.profile, url: opt.url, started, seed: opt.seed, seconds: opt.seconds,
    warmup: opt.warmup, arrival: opt.arrival, node: process.version, cores: os.cpus().length,
    serverRssKiBAtEnd: rssKiB(opt.serverPid), loadavgStart,
    loadavgEnd: os.loadavg().map((x) => Math.round(x * 100) / 100),
  }, result);
  if (brokenExamples.length) out.brokenExamples = brokenExamples;
  if (errorExamples.length) out.errorExamples = errorExamples;
  if (opt.json) fs.writeFileSync(opt.json, JSON.stringify(out, null, 1) + '\n');
}

// A hard bound on the whole run, whatever happens.
const hardLimit = (opt.profile === 'max-throughput'
  ? (2 * opt.mtMaxSteps + opt.mtBisect) * (opt.mtWarmup + opt.mtStepSeconds + opt.mtDrain + opt.settle)
  : opt.profile === 'idle' ? opt.idleHold + opt.idleSockets / 50 : opt.warmup + opt.seconds + opt.settle) + 300;
setTimeout(() => {
  process.stderr.write(`loadgen: hard time limit of ${Math.round(hardLimit)} s reached, exiting\n`);
  process.exit(3);
}, hardLimit * 1000).unref();

main().then(() => process.exit(0), (e) => {
  process.stderr.write(`loadgen: ${e && e.stack || e}\n`);
  process.exit(1);
});
