#!/usr/bin/env node
// Seeded random differential test of the pg_collab text-unicode core against npm ot-text-unicode.
//
// usage: node tests/diff/diff.js [--cases N | --long] [--seed S] [--only I] [--cli PATH] [--batch B]
//
// Each case is one generated scenario: a random document (ASCII, CJK, combining marks, astral characters, emoji with
// ZWJ sequences and modifiers) and random ops on it, checked through `collab-ot serve` against the npm type:
//   apply (valid ops), transform of a by b and b by a on both sides, compose, transformPosition, normalize of a messy
//   op (empty components, split and adjacent components, trailing skip), checkOp of that messy op (accept/reject),
//   invert (ops with string deletes; numeric deletes must fail in both), and the TP1 convergence property
//   apply(apply(d, a), transform(b, a, 'right')) == apply(apply(d, b), transform(a, b, 'left')) on the core's results.
// Case I of seed S is generated from (S, I) alone, so `--seed S --only I` reproduces one reported failure.
// Prints at most 20 failures (seed, case, inputs, both outputs), stops after the 20th, and ends with the line
// "N passed, M failed"; the exit status is 1 on any failure.
'use strict';

const path = require('path');
const { spawn } = require('child_process');
const { type } = require('ot-text-unicode');

const MAX_REPORTED = 20;

// ---------------------------------------------------------------------------------------------------------------
// Arguments

function parseArgs(argv) {
  const opts = {
    cases: process.env.DIFF_CASES ? Number(process.env.DIFF_CASES) : 100000,
    seed: 20240601,
    only: null,
    cli: path.join(__dirname, '..', '..', 'build', 'collab-ot'),
    batch: 2000,
  };
  const need = (i) => {
    if (i + 1 >= argv.length) throw Error(`${argv[i]} needs a value`);
    return argv[i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    switch (argv[i]) {
      case '--cases': opts.cases = Number(need(i)); i++; break;
      case '--long': opts.cases = 1000000; break;
      case '--seed': opts.seed = Number(need(i)); i++; break;
      case '--only': opts.only = Number(need(i)); i++; break;
      case '--cli': opts.cli = need(i); i++; break;
      case '--batch': opts.batch = Number(need(i)); i++; break;
      case '-h':
      case '--help':
        console.log('usage: node diff.js [--cases N | --long] [--seed S] [--only I] [--cli PATH] [--batch B]\n' +
                    '  --cases N   number of scenarios (default 100000, or $DIFF_CASES)\n' +
                    '  --long      1,000,000 scenarios\n' +
                    '  --seed S    base seed (an unsigned 32-bit integer)\n' +
                    '  --only I    run only case I of the seed (to reproduce a failure)\n' +
                    '  --cli PATH  the collab-ot binary (default build/collab-ot)\n' +
                    '  --batch B   scenarios per pipelined batch (default 2000)');
        process.exit(0);
        break;
      default:
        throw Error(`unknown argument ${argv[i]}`);
    }
  }
  for (const k of ['cases', 'seed', 'batch']) {
    if (!Number.isInteger(opts[k]) || opts[k] < 0) throw Error(`--${k} must be a non-negative integer`);
  }
  if (opts.batch < 1) throw Error('--batch must be positive');
  if (opts.only !== null && (!Number.isInteger(opts.only) || opts.only < 0)) throw Error('--only needs a case number');
  return opts;
}

// ---------------------------------------------------------------------------------------------------------------
// Seeded random numbers (sfc32, seeded from the base seed and the case number through a 32-bit mixer).

function mix32(x) {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

class Rng {
  constructor(seed, index) {
    this.a = mix32(seed ^ 0x9e3779b9);
    this.b = mix32(index + 0x632be5ab);
    this.c = mix32(this.a ^ this.b ^ 0x85ebca6b);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.next();
  }
  next() { // uniform in [0, 2^32)
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
  float() { return this.next() / 4294967296; }
  int(lo, hi) { return lo + Math.floor(this.float() * (hi - lo + 1)); } // inclusive
  chance(p) { return this.float() < p; }
  pick(arr) { return arr[this.int(0, arr.length - 1)]; }
  // Small lengths are much more likely than large ones: 1..max with a bias towards 1..3.
  len(max) {
    if (max <= 1) return max;
    return this.chance(0.7) ? this.int(1, Math.min(3, max)) : this.int(1, max);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Text generation. A "unit" is drawn from one pool; some units are several code points (ZWJ sequences, flags,
// skin-tone modifiers, base + combining mark), and ops address code points, so ops regularly cut through them.

const POOLS = [
  { w: 40, units: [...'abcdefghijklmnopqrstuvwxyz', ' ', ' ', '\n', '.', ',', '0', '7', 'X', '"', '\\', '/', '\t'] },
  { w: 12, units: [...'中文字漢語日本語かなカナ한국어'] },
  { w: 10, units: ['e\u0301', 'a\u0308', 'n\u0303', '\u0323', '\u0301', '\u20dd', 'o\u0302\u0323'] },
  { w: 8, units: ['é', 'ß', 'Ω', 'λ', '€', '\u00a0', '\ufeff', '\ufffd', '\u2028', '\u200d'] },
  { w: 12, units: ['😀', '🎉', '𝄞', '𠀋', '🙂', '🦄', '\u{10ffff}', '\u{1f600}'] },
  {
    w: 10,
    units: ['🏳️‍🌈', '👨‍👩‍👧‍👦', '👍🏽', '🇯🇵', '🇫🇷', '🧑‍💻', '❤️', '👩🏾‍🚀'],
  },
];
const POOL_TOTAL = POOLS.reduce((s, p) => s + p.w, 0);

function randomUnit(rng) {
  let r = rng.int(0, POOL_TOTAL - 1);
  for (const p of POOLS) {
    if (r < p.w) return rng.pick(p.units);
    r -= p.w;
  }
  throw Error('unreachable');
}

// A random string of at least one code point; `units` units long.
function randomText(rng, units) {
  let s = '';
  for (let i = 0; i < units; i++) s += randomUnit(rng);
  return s;
}

const cps = (s) => Array.from(s); // code points
const cpLength = (s) => {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) i++;
    n++;
  }
  return n;
};

function randomDoc(rng) {
  const r = rng.float();
  const units = r < 0.08 ? 0 : r < 0.65 ? rng.int(1, 8) : r < 0.93 ? rng.int(9, 40) : rng.int(41, 200);
  return randomText(rng, units);
}

// ---------------------------------------------------------------------------------------------------------------
// Op generation. Ops are built from code-point arrays and normalized the way a client sends them.

const clone = (op) => op.map((c) => (typeof c === 'object' ? { d: c.d } : c));

// A random valid op on a document of the given code points. stringDeletes: probability that a delete carries its
// text ({d:"..."}) rather than its length ({d:N}).
function randomOp(rng, docCps, stringDeletes) {
  const op = [];
  const len = docCps.length;
  let pos = 0;
  const steps = rng.int(0, 5);
  for (let s = 0; s < steps; s++) {
    const k = rng.float();
    if (k < 0.35 && pos < len) {
      const n = rng.len(len - pos);
      op.push(n);
      pos += n;
    } else if (k < 0.7 || pos >= len) {
      op.push(randomText(rng, rng.len(4)));
    } else {
      const n = rng.len(Math.min(len - pos, 12));
      op.push({ d: rng.chance(stringDeletes) ? docCps.slice(pos, pos + n).join('') : n });
      pos += n;
    }
  }
  return type.normalize(op);
}

// A messy but equivalent form of a normalized op: components split in pieces (at code-point boundaries), empty
// components sprinkled in, string deletes partly turned numeric, and sometimes a trailing skip. Counts stay >= 0.
function messyOp(rng, op) {
  const out = [];
  const empties = [0, '', { d: 0 }, { d: '' }];
  const maybeEmpty = () => {
    if (rng.chance(0.15)) out.push(clone([rng.pick(empties)])[0]);
  };
  maybeEmpty();
  for (const c of op) {
    if (typeof c === 'number') {
      let n = c;
      while (n > 1 && rng.chance(0.3)) {
        const part = rng.int(1, n - 1);
        out.push(part);
        n -= part;
      }
      out.push(n);
    } else {
      const isDel = typeof c === 'object';
      const body = isDel ? c.d : c;
      if (typeof body === 'number') {
        let n = body;
        while (n > 1 && rng.chance(0.3)) {
          const part = rng.int(1, n - 1);
          out.push({ d: part });
          n -= part;
        }
        out.push({ d: n });
      } else {
        const parts = cps(body);
        let i = 0;
        while (i < parts.length) {
          const n = rng.chance(0.5) ? parts.length - i : rng.int(1, parts.length - i);
          const piece = parts.slice(i, i + n).join('');
          if (!isDel) out.push(piece);
          else out.push({ d: rng.chance(0.15) ? n : piece });
          i += n;
        }
      }
    }
    maybeEmpty();
  }
  if (rng.chance(0.3)) out.push(rng.int(1, 5));
  if (rng.chance(0.1)) out.push(rng.int(0, 3));
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The reference results. The npm functions may mutate their arguments (normalize merges deletes in place), so every
// call gets fresh copies.

function npmCall(fn) {
  try {
    return { ok: fn() };
  } catch (e) {
    return { error: e.message };
  }
}

const isInvertible = (op) => op.every((c) => typeof c !== 'object' || typeof c.d === 'string');

// Builds one scenario: the requests of phase 1 and, per request, what the answer must equal.
function makeScenario(seed, index) {
  const rng = new Rng(seed, index);
  const doc = randomDoc(rng);
  const docCps = cps(doc);
  const sd = rng.pick([0, 0.5, 1]);
  const a = randomOp(rng, docCps, sd);
  const b = randomOp(rng, docCps, rng.pick([0, 0.5, 1]));
  const afterA = type.apply(doc, clone(a));
  const c = randomOp(rng, cps(afterA), rng.pick([0, 0.5, 1]));
  const cursor = rng.int(0, docCps.length + 2);
  const messy = messyOp(rng, rng.chance(0.5) ? a : b);
  const invertNumeric = !isInvertible(a) && rng.chance(0.3);
  const toInvert = invertNumeric ? a : type.makeInvertible(clone(a), doc);

  const T = 'text-unicode';
  const checks = [
    { name: 'apply(doc, a)', req: { fn: 'apply', type: T, doc, op: a }, want: npmCall(() => type.apply(doc, clone(a))) },
    { name: 'apply(doc, b)', req: { fn: 'apply', type: T, doc, op: b }, want: npmCall(() => type.apply(doc, clone(b))) },
  ];
  for (const [x, y, xn, yn] of [[a, b, 'a', 'b'], [b, a, 'b', 'a']]) {
    for (const side of ['left', 'right']) {
      checks.push({
        name: `transform(${xn}, ${yn}, ${side})`,
        req: { fn: 'transform', type: T, op: x, other: y, side },
        want: npmCall(() => type.transform(clone(x), clone(y), side)),
      });
    }
  }
  checks.push(
    { name: 'compose(a, c)', req: { fn: 'compose', type: T, a, b: c }, want: npmCall(() => type.compose(clone(a), clone(c))) },
    {
      name: 'transform_position(cursor, a)',
      req: { fn: 'transform_position', type: T, pos: cursor, op: a },
      want: npmCall(() => type.transformPosition(cursor, clone(a))),
    },
    { name: 'normalize(messy)', req: { fn: 'normalize', type: T, op: messy }, want: npmCall(() => type.normalize(clone(messy))) },
    {
      name: 'check_op(messy)',
      req: { fn: 'check_op', type: T, op: messy },
      want: npmCall(() => { type.checkOp(clone(messy)); return true; }),
    },
    { name: 'invert(a)', req: { fn: 'invert', type: T, op: toInvert }, want: npmCall(() => type.invert(clone(toInvert))) },
  );
  return { index, doc, a, b, c, cursor, messy, checks, failures: [] };
}

// Compares a core response with the reference result. Errors must be errors in both (messages differ by design).
function compare(want, got) {
  if (got === undefined) return 'no response';
  if (want.error !== undefined) {
    return got.error !== undefined ? null : `the reference throws (${want.error}) but the core answers`;
  }
  if (got.error !== undefined) return 'the core fails but the reference answers';
  return JSON.stringify(got.ok) === JSON.stringify(want.ok) ? null : 'results differ';
}

// ---------------------------------------------------------------------------------------------------------------
// The core, as a `collab-ot serve` child process. Requests are written a batch at a time; answers come back in order
// and are matched to batches first in, first out.

class Core {
  constructor(cli) {
    this.child = spawn(cli, ['serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.queue = []; // batches awaiting answers: {results, need, resolve}
    this.rest = '';
    this.dead = null;
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (data) => this.onData(data));
    const die = (why) => {
      if (this.dead) return;
      this.dead = why;
      for (const b of this.queue) b.reject(Error(`collab-ot: ${why}`));
      this.queue = [];
    };
    this.child.on('error', (e) => die(e.message));
    this.child.on('exit', (code, signal) => die(`exited (code ${code}, signal ${signal})`));
    this.child.stdin.on('error', (e) => die(e.message));
  }
  onData(data) {
    const text = this.rest + data;
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      const line = text.slice(start, nl);
      start = nl + 1;
      const batch = this.queue[0];
      if (!batch) throw Error(`unexpected output from collab-ot: ${line}`);
      batch.results.push(JSON.parse(line));
      if (batch.results.length === batch.need) {
        this.queue.shift();
        batch.resolve(batch.results);
      }
    }
    this.rest = text.slice(start);
  }
  run(requests) {
    if (this.dead) return Promise.reject(Error(`collab-ot: ${this.dead}`));
    return new Promise((resolve, reject) => {
      if (requests.length === 0) {
        resolve([]);
        return;
      }
      this.queue.push({ results: [], need: requests.length, resolve, reject });
      let text = '';
      for (const r of requests) text += JSON.stringify(r) + '\n';
      this.child.stdin.write(text);
    });
  }
  close() {
    this.child.stdin.end();
  }
}

// ---------------------------------------------------------------------------------------------------------------

function show(v) {
  return v === undefined ? 'undefined' : JSON.stringify(v);
}

// Sends every scenario's checks to the core in one batch, records each mismatch in its scenario's failures and
// returns, per scenario, the core's answers by check name. compare(want, got) returns why they differ, or ''.
async function checkScenarios(core, scenarios, compare) {
  const requests = [];
  for (const s of scenarios) for (const ch of s.checks) requests.push(ch.req);
  const answers = await core.run(requests);
  let k = 0;
  return scenarios.map((s) => {
    const got = {};
    for (const ch of s.checks) {
      const ans = answers[k++];
      got[ch.name] = ans;
      const why = compare(ch.want, ans);
      if (why) s.failures.push({ check: ch.name, why, request: ch.req, want: ch.want, got: ans });
    }
    return got;
  });
}

async function runBatch(core, seed, indices) {
  const scenarios = indices.map((i) => makeScenario(seed, i));
  const answersOf = await checkScenarios(core, scenarios, compare);

  // Phase 2: TP1 on the core's own results.
  const tp1 = [];
  for (const [si, s] of scenarios.entries()) {
    const got = answersOf[si];
    const da = got['apply(doc, a)'], db = got['apply(doc, b)'];
    const tba = got['transform(b, a, right)'], tab = got['transform(a, b, left)'];
    if ([da, db, tba, tab].every((x) => x && x.ok !== undefined)) {
      const left = { fn: 'apply', type: 'text-unicode', doc: da.ok, op: tba.ok };
      const right = { fn: 'apply', type: 'text-unicode', doc: db.ok, op: tab.ok };
      tp1.push({ s, left, right });
    }
  }
  const tpReqs = [];
  for (const t of tp1) tpReqs.push(t.left, t.right);
  const tpAnswers = await core.run(tpReqs);
  tp1.forEach((t, i) => {
    const l = tpAnswers[2 * i], r = tpAnswers[2 * i + 1];
    const want = npmCall(() => type.apply(t.left.doc, clone(t.left.op)));
    let why = null;
    if (!l || !r || l.ok === undefined || r.ok === undefined) why = 'an apply of a transformed op failed';
    else if (l.ok !== r.ok) why = 'the two orders do not converge';
    else if (want.ok !== l.ok) why = 'the converged document differs from the reference';
    if (why) {
      t.s.failures.push({
        check: 'TP1 apply(apply(d,a), transform(b,a,right)) == apply(apply(d,b), transform(a,b,left))',
        why,
        request: { first: t.left, second: t.right },
        want,
        got: { first: l, second: r },
      });
    }
  });
  return scenarios;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const core = new Core(opts.cli);
  const all = opts.only !== null ? [opts.only] : null;
  const total = all ? 1 : opts.cases;
  let passed = 0, failed = 0, reported = 0, done = 0;
  const t0 = Date.now();

  const report = (s) => {
    reported++;
    console.log(`FAIL seed=${opts.seed} case=${s.index} (rerun: node tests/diff/diff.js --seed ${opts.seed} --only ${s.index})`);
    console.log(`  doc=${show(s.doc)}\n  a=${show(s.a)}\n  b=${show(s.b)}\n  c=${show(s.c)}\n  cursor=${s.cursor}` +
                `\n  messy=${show(s.messy)}`);
    for (const f of s.failures) {
      console.log(`  ${f.check}: ${f.why}\n    request:   ${show(f.request)}\n    reference: ${show(f.want)}\n` +
                  `    core:      ${show(f.got)}`);
    }
  };

  // Two batches in flight: the core answers one while Node builds and checks the other.
  const batchIndices = (start) => {
    if (all) return start === 0 ? all : [];
    const idx = [];
    for (let i = start; i < Math.min(total, start + opts.batch); i++) idx.push(i);
    return idx;
  };
  let next = 0;
  const launch = () => {
    const idx = batchIndices(next);
    next += opts.batch;
    return idx.length ? runBatch(core, opts.seed, idx) : null;
  };
  let inFlight = [launch(), launch()].filter(Boolean);
  try {
    while (inFlight.length && reported < MAX_REPORTED) {
      const scenarios = await inFlight.shift();
      const more = reported < MAX_REPORTED ? launch() : null;
      if (more) inFlight.push(more);
      for (const s of scenarios) {
        done++;
        if (s.failures.length === 0) {
          passed++;
        } else {
          failed++;
          if (reported < MAX_REPORTED) report(s);
        }
      }
    }
    if (reported >= MAX_REPORTED && done < total) {
      console.log(`stopped after ${MAX_REPORTED} reported failures (${done} of ${total} cases run)`);
    }
    // Let any batch still in flight settle before closing the pipe.
    await Promise.allSettled(inFlight);
  } finally {
    core.close();
  }
  console.error(`diff-test: seed ${opts.seed}, ${done} cases in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 || done < total ? 1 : 0;
}

if (require.main === module) {
  main().catch((e) => {
    console.error(`diff-test: ${e.message}`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  });
}

module.exports = { makeScenario, Rng, Core, checkScenarios };
