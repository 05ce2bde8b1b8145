#!/usr/bin/env node
// json0 benchmark, Node reference: npm ot-json0 1.1.0's type.apply and type.transform on a ~100 KB JSON document.
// bench/json0_bench.cpp does the same with the C++ core; bench/json0.sh runs both and compares.
//
// usage: node bench/json0_bench_node.js [--ops N] [--repeat N] [--seed N]
//
// Both programs generate the same document and ops from the same seed (mulberry32, identical draws in both): a root
// object of nested objects and lists (keys k0..k11, ASCII letters, integers) of at least 102,400 bytes of canonical
// JSON, then N ops of one component each (oi / od / oi+od on keys, li / ld / li+ld / lm in lists, si / sd in strings,
// na), each made against the document as the previous ops left it (the generator applies them with the library), and
// for each op a concurrent op made against the same document (half of them in the same container). Measured, after
// one warm-up run, `repeat` times (median): (a) apply of the whole sequence, in place, to a fresh copy of the document
// (copy not timed); (b) transform(op, other, left) and transform(other, op, right) for every pair. Prints one line:
// doc_bytes, final_bytes, the FNV-1a hashes of the canonical JSON (sorted keys) of the ops, of the final document and
// of all transform results, and the medians. Also measured: (a') "apply from JSON text", (a) with each op given as its
// JSON text (JSON.stringify, made before timing) and JSON.parse of it inside the timed loop.
'use strict';

const path = require('path');

// ot-json0 is installed (pinned) with the differential test's dependencies in tests/diff.
const { type } = require(require.resolve('ot-json0', { paths: [path.join(__dirname, '..', 'tests', 'diff')] }));

const ALPHA = 'abcdefghijklmnopqrstuvwxyz';
const KEYS = 12;

function makeRng(seed) {
  let s = seed >>> 0;
  return (n) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
}

const hasOwn = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const isContainer = (v) => v !== null && typeof v === 'object';

function canon(v) {
  if (Array.isArray(v)) return '[' + v.map(canon).join(',') + ']';
  if (isContainer(v)) return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canon(v[k])).join(',') + '}';
  return JSON.stringify(v);
}

// FNV-1a 32 over the (ASCII) characters of a sequence of strings.
function Fnv() {
  this.h = 0x811c9dc5;
}
Fnv.prototype.update = function (s) {
  let h = this.h;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  this.h = h >>> 0;
};
Fnv.prototype.hex = function () {
  return (this.h >>> 0).toString(16).padStart(8, '0');
};

function letters(rng, n) {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHA[rng(26)];
  return s;
}

function leaf(rng) {
  if (rng(100) < 60) {
    const n = 5 + rng(36);
    return letters(rng, n);
  }
  return rng(100000);
}

function genValue(rng, depth) {
  if (depth >= 4 || rng(100) < 55) return leaf(rng);
  return genContainer(rng, depth);
}

function genContainer(rng, depth) {
  if (rng(2) === 0) {
    const o = {};
    const n = 2 + rng(7);
    for (let i = 0; i < n; i++) {
      const k = 'k' + rng(KEYS);
      const v = genValue(rng, depth + 1);
      if (!hasOwn(o, k)) o[k] = v;
    }
    return o;
  }
  const a = [];
  const n = 2 + rng(9);
  for (let i = 0; i < n; i++) a.push(genValue(rng, depth + 1));
  return a;
}

function genDoc(rng, target) {
  const root = {};
  let size = 2;
  for (let i = 0; size < target; i++) {
    const c = genContainer(rng, 1);
    const key = 'r' + i;
    root[key] = c;
    size += canon(c).length + key.length + 3 + (i > 0 ? 1 : 0);
  }
  return root;
}

function smallValue(rng) {
  const r = rng(10);
  if (r < 4) {
    const n = 5 + rng(20);
    return letters(rng, n);
  }
  if (r < 7) return rng(1000);
  if (r < 9) {
    const k = 'k' + rng(KEYS);
    return { [k]: rng(1000) };
  }
  const x = rng(1000);
  return [x, rng(1000)];
}

function nodes(v) {
  if (Array.isArray(v)) return v.reduce((n, e) => n + nodes(e), 1);
  if (isContainer(v)) return Object.keys(v).reduce((n, k) => n + nodes(v[k]), 1);
  return 1;
}

const clone = (v) => JSON.parse(JSON.stringify(v));

// Container children of node, in a deterministic order (sorted keys, ascending indices).
function containerChildren(node) {
  if (Array.isArray(node)) {
    const out = [];
    for (let i = 0; i < node.length; i++) if (isContainer(node[i])) out.push(i);
    return out;
  }
  return Object.keys(node)
    .sort()
    .filter((k) => isContainer(node[k]));
}

// One op of one component against doc; start: the path of the container to act on, or null for a random walk.
// Returns {op, container}.
function genOp(rng, doc, start) {
  let node = doc;
  let p = [];
  if (start !== null) {
    for (const k of start) node = node[k];
    p = start.slice();
  } else {
    for (let depth = 0; ; depth++) {
      const cs = containerChildren(node);
      if (cs.length === 0) break;
      const pr = depth === 0 ? 100 : depth === 1 ? 80 : 50;
      if (rng(100) >= pr) break;
      const k = cs[rng(cs.length)];
      node = node[k];
      p.push(k);
    }
  }
  const done = (c) => ({ op: [c], container: p });
  for (;;) {
    const isList = Array.isArray(node);
    let key;
    if (isList) {
      const n = node.length;
      const r = rng(100);
      if (n === 0 || r < 10) {
        const i = rng(n + 1);
        return done({ p: [...p, i], li: smallValue(rng) });
      }
      if (r < 20 && n >= 2) {
        const from = rng(n);
        let to = rng(n - 1);
        if (to >= from) to++;
        return done({ p: [...p, from], lm: to });
      }
      key = rng(n);
    } else {
      key = 'k' + rng(KEYS);
      if (!hasOwn(node, key)) {
        const keys = Object.keys(node).sort();
        if (keys.length === 0 || rng(3) === 0) return done({ p: [...p, key], oi: smallValue(rng) });
        key = keys[rng(keys.length)];
      }
    }
    const v = node[key];
    const cp = [...p, key];
    const del = () => (isList ? { p: cp, ld: clone(v) } : { p: cp, od: clone(v) });
    const repl = () => {
      const nv = smallValue(rng);
      return isList ? { p: cp, ld: clone(v), li: nv } : { p: cp, od: clone(v), oi: nv };
    };
    if (!isContainer(v)) {
      const r = rng(10);
      if (r < 3) return done(del());
      if (r < 4) return done(repl());
      if (typeof v === 'string') {
        const len = v.length;
        if (len === 0 || rng(2) === 0) {
          const off = rng(len + 1);
          const n = 1 + rng(3);
          return done({ p: [...cp, off], si: letters(rng, n) });
        }
        const off = rng(len);
        const n = 1 + rng(Math.min(5, len - off));
        return done({ p: [...cp, off], sd: v.substr(off, n) });
      }
      const mag = 1 + rng(10);
      return done({ p: cp, na: rng(2) === 0 ? mag : -mag });
    }
    if (nodes(v) <= 4) {
      const r = rng(3);
      if (r === 0) return done(del());
      if (r === 1) return done(repl());
    }
    node = v;
    p = cp;
  }
}

function median(xs) {
  const s = xs.slice().sort((a, b) => a - b);
  return s[(s.length - 1) >> 1];
}

function main() {
  const args = process.argv.slice(2);
  let nops = 100000;
  let repeat = 5;
  let seed = 1;
  const usage = 'usage: json0_bench_node.js [--ops N] [--repeat N] [--seed N]';
  for (let i = 0; i < args.length; i++) {
    const num = () => {
      const v = Number(args[++i]);
      if (!Number.isInteger(v) || v < 1) throw Error(`${args[i - 1]} needs a positive integer\n${usage}`);
      return v;
    };
    if (args[i] === '--ops' && i + 1 < args.length) nops = num();
    else if (args[i] === '--repeat' && i + 1 < args.length) repeat = num();
    else if (args[i] === '--seed' && i + 1 < args.length) seed = num();
    else throw Error(`unexpected argument ${args[i]}\n${usage}`);
  }

  const rng = makeRng(seed);
  const docText = JSON.stringify(genDoc(rng, 100 * 1024));
  const docBytes = canon(JSON.parse(docText)).length;
  let state = JSON.parse(docText);
  const ops = [];
  const others = [];
  for (let i = 0; i < nops; i++) {
    const a = genOp(rng, state, null);
    const start = rng(2) === 0 ? a.container : null;
    const b = genOp(rng, state, start);
    ops.push(a.op);
    others.push(b.op);
    state = type.apply(state, a.op);
  }
  const opsHash = new Fnv();
  for (let i = 0; i < nops; i++) {
    opsHash.update(canon(ops[i]) + '\n');
    opsHash.update(canon(others[i]) + '\n');
  }
  const expected = canon(state);

  const applyNs = [];
  let finalText = null;
  for (let r = 0; r <= repeat; r++) {
    let doc = JSON.parse(docText);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < nops; i++) doc = type.apply(doc, ops[i]);
    const t1 = process.hrtime.bigint();
    const text = canon(doc);
    if (text !== expected) throw Error('the final document differs from the generator\'s');
    finalText = text;
    if (r > 0) applyNs.push(Number(t1 - t0));
  }
  const docHash = new Fnv();
  docHash.update(finalText);

  // Apply from JSON text: each op is given as its JSON text, and the timed loop includes JSON.parse.
  const texts = ops.map((op) => JSON.stringify(op));
  const applyTextNs = [];
  for (let r = 0; r <= repeat; r++) {
    let doc = JSON.parse(docText);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < nops; i++) doc = type.apply(doc, JSON.parse(texts[i]));
    const t1 = process.hrtime.bigint();
    if (canon(doc) !== expected) throw Error('the final document (apply from JSON text) differs from the generator\'s');
    if (r > 0) applyTextNs.push(Number(t1 - t0));
  }

  const xformNs = [];
  let xformHex = null;
  const results = new Array(2 * nops);
  for (let r = 0; r <= repeat; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < nops; i++) {
      results[2 * i] = type.transform(ops[i], others[i], 'left');
      results[2 * i + 1] = type.transform(others[i], ops[i], 'right');
    }
    const t1 = process.hrtime.bigint();
    if (r > 0) xformNs.push(Number(t1 - t0));
    if (r === 0 || r === repeat) {
      const h = new Fnv();
      for (let i = 0; i < 2 * nops; i++) h.update(canon(results[i]) + '\n');
      if (xformHex !== null && h.hex() !== xformHex) throw Error('transform results differ between runs');
      xformHex = h.hex();
    }
  }

  const applyMs = median(applyNs) / 1e6;
  const applyTextMs = median(applyTextNs) / 1e6;
  const xformMs = median(xformNs) / 1e6;
  console.log(
    `ops=${nops} repeat=${repeat} seed=${seed} doc_bytes=${docBytes} final_bytes=${finalText.length} ` +
      `ops_hash=${opsHash.hex()} doc_hash=${docHash.hex()} xform_hash=${xformHex} ` +
      `apply_ms=${applyMs.toFixed(3)} apply_ops_s=${Math.round(nops / (applyMs / 1e3))} ` +
      `apply_text_ms=${applyTextMs.toFixed(3)} apply_text_ops_s=${Math.round(nops / (applyTextMs / 1e3))} ` +
      `xform_ms=${xformMs.toFixed(3)} xform_s=${Math.round((2 * nops) / (xformMs / 1e3))}`
  );
}

try {
  main();
} catch (e) {
  console.error(`json0_bench_node: ${e.message}`);
  process.exit(1);
}
