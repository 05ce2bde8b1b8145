#!/usr/bin/env node
// Seeded random differential test of the pg_collab json0 core against npm ot-json0 1.1.0 (with ot-text-unicode
// registered as a subtype, as the core does).
//
// usage: node tests/diff/diff_json0.js [--cases N] [--seed S] [--only I] [--cli PATH] [--batch B]
//
// Each case: a random JSON document and three ops made like ot-json0's own fuzzer (test/json0-generator.coffee):
// a and b on the document, c on apply(doc, a); components of every kind (na, li, ld, li+ld, lm, oi, od, oi+od, si,
// sd, t:'text0' and t:'text-unicode' subtype ops) on paths at any depth, strings with non-BMP characters (text0
// offsets count UTF-16 code units; the generator never splits a surrogate pair). Checked through `collab-ot serve`:
//   apply(doc, a), apply(doc, b), transform(a, b) and transform(b, a) on both sides, compose(a, c), invert(a),
//   normalize(a), apply(apply(doc, a), invert(a)) == doc, and TP1 convergence on the core's own results for both
//   side assignments: apply(apply(d, a), transform(b, a, L)) == apply(apply(d, b), transform(a, b, R)) with (L, R)
//   = (left, right) and (right, left), checked against the reference's converged document.
// Results are compared as JSON values (object key order and 1 vs 1.0 ignored); errors must be errors in both.
'use strict';

const path = require('path');
const json0 = require('ot-json0').type;
const textUnicode = require('ot-text-unicode').type;
const { Rng, Core, checkScenarios } = require('./diff.js');

json0.registerSubtype(textUnicode);

const MAX_REPORTED = 20;

function parseArgs(argv) {
  const opts = {
    cases: process.env.DIFF_CASES ? Number(process.env.DIFF_CASES) : 50000,
    seed: 20261129,
    only: null,
    cli: path.join(__dirname, '..', '..', 'build', 'collab-ot'),
    batch: 1000,
  };
  for (let i = 0; i < argv.length; i++) {
    const v = () => Number(argv[++i]);
    switch (argv[i]) {
      case '--cases': opts.cases = v(); break;
      case '--seed': opts.seed = v(); break;
      case '--only': opts.only = v(); break;
      case '--cli': opts.cli = argv[++i]; break;
      case '--batch': opts.batch = v(); break;
      default: throw Error(`unknown argument ${argv[i]}`);
    }
  }
  return opts;
}

// ---------------------------------------------------------------------------------------------------------------
// Generation (a port of ot-json0's test/json0-generator.coffee onto a seeded generator)

const clone = (o) => JSON.parse(JSON.stringify(o));
const WORDS = ['a', 'b', 'cat', 'dog', 'x', 'héllo', 'ωμέγα', '中文', '😀', 'a😀b', '𝄞x', 'e\u0301', 'key', 'zz', '0', '1'];

function randomWord(rng) { return rng.pick(WORDS); }

function randomKey(rng, obj) {
  if (Array.isArray(obj)) return obj.length === 0 ? undefined : rng.int(0, obj.length - 1);
  let count = 0, result;
  for (const key of Object.keys(obj)) if (rng.float() < 1 / ++count) result = key;
  return result;
}

function randomNewKey(rng, obj) {
  let key = randomWord(rng);
  while (obj[key] !== undefined) key = randomWord(rng) + rng.int(0, 99);
  return key;
}

function randomThing(rng, depth = 0) {
  switch (rng.int(0, depth > 2 ? 2 : 6)) {
    case 0: return null;
    case 1: return rng.chance(0.5) ? '' : rng.int(-5, 50) + (rng.chance(0.1) ? 0.5 : 0);
    case 2: return randomWord(rng) + (rng.chance(0.5) ? randomWord(rng) : '');
    case 3: {
      const obj = {};
      for (let i = rng.int(0, 4); i > 0; i--) obj[randomNewKey(rng, obj)] = randomThing(rng, depth + 1);
      return obj;
    }
    case 4: {
      const arr = [];
      for (let i = rng.int(0, 4); i > 0; i--) arr.push(randomThing(rng, depth + 1));
      return arr;
    }
    case 5: return rng.chance(0.2) ? true : rng.int(0, 50);
    default: return randomWord(rng);
  }
}

function randomPath(rng, data) {
  const p = [];
  while (rng.float() > 0.4 && data !== null && typeof data === 'object') {
    const key = randomKey(rng, data);
    if (key === undefined) break;
    p.push(key);
    data = data[key];
  }
  return p;
}

// A UTF-16 offset in s that does not split a surrogate pair, in [lo, s.length].
function utf16Pos(rng, s, lo = 0) {
  let pos = rng.int(lo, s.length);
  if (pos > 0 && pos < s.length && (s.charCodeAt(pos) & 0xfc00) === 0xdc00) pos--;
  return pos;
}

// ot-json0 transforms string components only against components of the same form (si/sd against si/sd, t:X
// against t:X), so one scenario uses one form for all its string edits: 'si', 'text0' or 'text-unicode'.
function genComponent(rng, data, strMode) {
  const container = { data };
  const p = randomPath(rng, data);
  let parent = container, key = 'data';
  for (const k of p) { parent = parent[key]; key = k; }
  const operand = parent[key];

  if (rng.float() < 0.3 && parent !== container && Array.isArray(parent)) {
    return { p, lm: rng.int(0, parent.length - 1) };
  }
  if (rng.float() < 0.25 || operand === null || typeof operand === 'boolean') {
    const v = randomThing(rng, 1);
    if (Array.isArray(parent)) return { p, ld: clone(operand), li: v };
    return { p, od: clone(operand), oi: v };
  }
  if (typeof operand === 'string') {
    const cpsArr = Array.from(operand);
    if (strMode === 'text-unicode') { // text-unicode subtype op, code point positions
      const pos = rng.int(0, cpsArr.length);
      const o = pos > 0 ? [pos] : [];
      if (rng.chance(0.5) || cpsArr.length === pos) {
        o.push(randomWord(rng));
      } else {
        const n = rng.int(1, Math.min(3, cpsArr.length - pos));
        o.push(rng.chance(0.7) ? { d: cpsArr.slice(pos, pos + n).join('') } : { d: n });
      }
      return { p, t: 'text-unicode', o };
    }
    let sub;
    if (rng.chance(0.5) || operand.length === 0) {
      sub = { p: utf16Pos(rng, operand), i: randomWord(rng) + ' ' };
    } else {
      const pos = utf16Pos(rng, operand, 0);
      let end = Math.min(operand.length, pos + rng.int(0, 3));
      if (end > 0 && end < operand.length && (operand.charCodeAt(end) & 0xfc00) === 0xdc00) end++;
      sub = { p: pos, d: operand.slice(pos, end) };
    }
    if (strMode === 'text0') return { p, t: 'text0', o: [sub] };
    const c = { p: p.concat([sub.p]) };
    if (sub.i !== undefined) c.si = sub.i; else c.sd = sub.d;
    return c;
  }
  if (typeof operand === 'number') return { p, na: rng.int(-3, 6) };
  if (Array.isArray(operand)) {
    if (rng.chance(0.5) || operand.length === 0) {
      const pos = rng.int(0, operand.length);
      return { p: p.concat([pos]), li: randomThing(rng, 1) };
    }
    const pos = rng.int(0, operand.length - 1);
    return { p: p.concat([pos]), ld: clone(operand[pos]) };
  }
  const k = randomKey(rng, operand);
  if (rng.chance(0.5) || k === undefined) {
    const nk = randomNewKey(rng, operand);
    return { p: p.concat([nk]), oi: randomThing(rng, 1) };
  }
  return { p: p.concat([k]), od: clone(operand[k]) };
}

function genOp(rng, doc, strMode) {
  let data = clone(doc);
  const op = [];
  let pct = 0.95;
  while (rng.float() < pct) {
    pct *= 0.6;
    const c = genComponent(rng, data, strMode);
    data = json0.apply(data, [clone(c)]);
    op.push(c);
  }
  return op;
}

function randomDoc(rng) {
  if (rng.chance(0.05)) return randomThing(rng, 0);
  const doc = {};
  for (let i = rng.int(1, 5); i > 0; i--) doc[randomNewKey(rng, doc)] = randomThing(rng, 0);
  return doc;
}

// ---------------------------------------------------------------------------------------------------------------
// Checking

function npmCall(fn) {
  try {
    const v = fn();
    return v === undefined ? { error: 'undefined result' } : { ok: v };
  } catch (e) {
    return { error: e.message };
  }
}

// Canonical JSON: sorted keys.
function canon(v) {
  if (Array.isArray(v)) return '[' + v.map(canon).join(',') + ']';
  if (v !== null && typeof v === 'object') {
    return '{' + Object.keys(v).sort().filter((k) => v[k] !== undefined)
      .map((k) => JSON.stringify(k) + ':' + canon(v[k])).join(',') + '}';
  }
  return JSON.stringify(v);
}

function compare(want, got) {
  if (got === undefined) return 'no response';
  if (want.error !== undefined) return got.error !== undefined ? null : `the reference throws (${want.error}) but the core answers`;
  if (got.error !== undefined) return 'the core fails but the reference answers';
  return canon(got.ok) === canon(want.ok) ? null : 'results differ';
}

const T = 'json0';

function makeScenario(seed, index) {
  const rng = new Rng(seed, index);
  const doc = randomDoc(rng);
  const strMode = rng.pick(['si', 'si', 'text0', 'text-unicode']);
  const a = genOp(rng, doc, strMode);
  const b = genOp(rng, doc, strMode);
  const afterA = json0.apply(clone(doc), clone(a));
  const c = genOp(rng, afterA, strMode);
  const checks = [
    { name: 'apply(doc, a)', req: { fn: 'apply', type: T, doc, op: a }, want: npmCall(() => json0.apply(clone(doc), clone(a))) },
    { name: 'apply(doc, b)', req: { fn: 'apply', type: T, doc, op: b }, want: npmCall(() => json0.apply(clone(doc), clone(b))) },
  ];
  for (const [x, y, xn, yn] of [[a, b, 'a', 'b'], [b, a, 'b', 'a']]) {
    for (const side of ['left', 'right']) {
      checks.push({
        name: `transform(${xn}, ${yn}, ${side})`,
        req: { fn: 'transform', type: T, op: x, other: y, side },
        want: npmCall(() => json0.transform(clone(x), clone(y), side)),
      });
    }
  }
  const inv = npmCall(() => json0.invert(clone(a)));
  checks.push(
    { name: 'compose(a, c)', req: { fn: 'compose', type: T, a, b: c }, want: npmCall(() => json0.compose(clone(a), clone(c))) },
    { name: 'invert(a)', req: { fn: 'invert', type: T, op: a }, want: inv },
    { name: 'normalize(a)', req: { fn: 'normalize', type: T, op: a }, want: npmCall(() => json0.normalize(clone(a))) },
  );
  if (inv.ok) {
    checks.push({
      name: 'apply(apply(doc, a), invert(a)) == doc',
      req: { fn: 'apply', type: T, doc: afterA, op: inv.ok },
      want: npmCall(() => json0.apply(clone(afterA), clone(inv.ok))),
    });
  }
  return { index, doc, a, b, c, checks, failures: [], npmTp1Diverges: false };
}

function show(v) { return JSON.stringify(v); }

async function runBatch(core, seed, indices) {
  const scenarios = indices.map((i) => makeScenario(seed, i));
  const answersOf = await checkScenarios(core, scenarios, compare);
  const tp = [];
  for (const [si, s] of scenarios.entries()) {
    const got = answersOf[si];
    const da = got['apply(doc, a)'], db = got['apply(doc, b)'];
    for (const [L, R] of [['left', 'right'], ['right', 'left']]) {
      const tba = got[`transform(b, a, ${L})`], tab = got[`transform(a, b, ${R})`];
      if (![da, db, tba, tab].every((x) => x && x.ok !== undefined)) continue;
      const first = { fn: 'apply', type: T, doc: da.ok, op: tba.ok };
      const second = { fn: 'apply', type: T, doc: db.ok, op: tab.ok };
      const w1 = npmCall(() => json0.apply(clone(first.doc), clone(first.op)));
      const w2 = npmCall(() => json0.apply(clone(second.doc), clone(second.op)));
      tp.push({ s, L, R, first, second, w1, w2 });
    }
  }
  const tpReqs = [];
  for (const t of tp) tpReqs.push(t.first, t.second);
  const tpAnswers = await core.run(tpReqs);
  tp.forEach((t, i) => {
    const l = tpAnswers[2 * i], r = tpAnswers[2 * i + 1];
    const npmConverges = t.w1.ok !== undefined && t.w2.ok !== undefined && canon(t.w1.ok) === canon(t.w2.ok);
    if (!npmConverges) t.s.npmTp1Diverges = true;
    let why = null;
    if (npmConverges) {
      if (!l || !r || l.ok === undefined || r.ok === undefined) why = 'an apply of a transformed op failed';
      else if (canon(l.ok) !== canon(r.ok)) why = 'the two orders do not converge';
      else if (canon(t.w1.ok) !== canon(l.ok)) why = 'the converged document differs from the reference';
    } else {
      // The reference itself does not converge here: the core must at least give the reference's results.
      if (compare(t.w1, l) || compare(t.w2, r)) why = 'differs from the (non-converging) reference';
    }
    if (why) {
      t.s.failures.push({
        check: `TP1 apply(apply(d,a), transform(b,a,${t.L})) == apply(apply(d,b), transform(a,b,${t.R}))`,
        why, request: { first: t.first, second: t.second }, want: { first: t.w1, second: t.w2 }, got: { first: l, second: r },
      });
    }
  });
  return scenarios;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const core = new Core(opts.cli);
  const total = opts.only !== null ? 1 : opts.cases;
  let passed = 0, failed = 0, reported = 0, done = 0, npmDiverges = 0;
  const t0 = Date.now();
  const report = (s) => {
    reported++;
    console.log(`FAIL seed=${opts.seed} case=${s.index} (rerun: node tests/diff/diff_json0.js --seed ${opts.seed} --only ${s.index})`);
    console.log(`  doc=${show(s.doc)}\n  a=${show(s.a)}\n  b=${show(s.b)}\n  c=${show(s.c)}`);
    for (const f of s.failures) {
      console.log(`  ${f.check}: ${f.why}\n    request:   ${show(f.request)}\n    reference: ${show(f.want)}\n    core:      ${show(f.got)}`);
    }
  };
  let next = 0;
  const launch = () => {
    if (opts.only !== null) {
      if (next > 0) return null;
      next = 1;
      return runBatch(core, opts.seed, [opts.only]);
    }
    const idx = [];
    for (let i = next; i < Math.min(total, next + opts.batch); i++) idx.push(i);
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
        if (s.npmTp1Diverges) npmDiverges++;
        if (s.failures.length === 0) passed++;
        else {
          failed++;
          if (reported < MAX_REPORTED) report(s);
        }
      }
    }
    await Promise.allSettled(inFlight);
  } finally {
    core.close();
  }
  console.error(`diff-test-json0: seed ${opts.seed}, ${done} cases in ${((Date.now() - t0) / 1000).toFixed(1)} s` +
                ` (${npmDiverges} cases where ot-json0 itself does not converge)`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 || done < total ? 1 : 0;
}

main().catch((e) => {
  console.error(`diff-test-json0: ${e.stack}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
