#!/usr/bin/env node
// Replays an editing trace with npm ot-text-unicode's type.apply on JS strings: the reference figure for bench-core.
//
// usage: node bench/trace_replay_node.js [--repeat N] TRACE.json
// Each patch [pos, del, ins] becomes the op [pos, ins, {d: del}] before timing starts; only the applies are timed.
// Fails (exit status 1) unless the final text equals endContent. Prints ops, repeat, best_ms and ns_per_op.
'use strict';

const fs = require('fs');
const path = require('path');

// ot-text-unicode is installed (pinned) with the differential test's dependencies in tests/diff.
const { type } = require(require.resolve('ot-text-unicode', { paths: [path.join(__dirname, '..', 'tests', 'diff')] }));

function main() {
  const args = process.argv.slice(2);
  let repeat = 3;
  let file = null;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--repeat' && i + 1 < args.length) {
      repeat = Number(args[++i]);
      if (!Number.isInteger(repeat) || repeat < 1) throw Error('--repeat needs a positive integer');
    } else if (file === null && !args[i].startsWith('-')) {
      file = args[i];
    } else {
      throw Error(`unexpected argument ${args[i]}\nusage: trace_replay_node.js [--repeat N] TRACE.json`);
    }
  }
  if (file === null) throw Error('usage: trace_replay_node.js [--repeat N] TRACE.json');

  const trace = JSON.parse(fs.readFileSync(file, 'utf8'));
  const ops = [];
  for (const txn of trace.txns) {
    for (const [pos, del, ins] of txn.patches) {
      const op = [];
      if (pos > 0) op.push(pos);
      if (ins.length > 0) op.push(ins);
      if (del > 0) op.push({ d: del });
      if (op.length > 0 && typeof op[op.length - 1] === 'number') op.pop();
      ops.push(op);
    }
  }

  let best = Infinity;
  for (let r = 0; r < repeat; r++) {
    let doc = trace.startContent;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < ops.length; i++) doc = type.apply(doc, ops[i]);
    const t1 = process.hrtime.bigint();
    if (doc !== trace.endContent) {
      console.error(`trace_replay_node: ${file}: final text differs from endContent`);
      process.exit(1);
    }
    best = Math.min(best, Number(t1 - t0));
  }
  console.log(`ops=${ops.length} repeat=${repeat} best_ms=${(best / 1e6).toFixed(3)} ` +
              `ns_per_op=${(best / ops.length).toFixed(1)}`);
}

try {
  main();
} catch (e) {
  console.error(`trace_replay_node: ${e.message}`);
  process.exit(1);
}
