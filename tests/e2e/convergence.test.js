'use strict';
// Several stock clients edit one text-unicode document at once with random inserts and deletes (ASCII, CJK, emoji,
// ZWJ sequences, combining marks). They must converge to each other and to the database snapshot, every acked op
// must be in the op-log once at its acked version, and the op-log must replay (with npm ot-text-unicode) to the
// snapshot. Run with E2E_SEED=<seed> to replay a failing run's edits.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

const T = { timeout: 90000 };
let A;
let B;

before(async () => {
  await h.setupDatabase();
  [A, B] = await Promise.all([h.startBridge('a'), h.startBridge('b')]);
});
after(() => h.cleanup());

async function editConcurrently({ name, urls, rounds, seed }) {
  const c = 'conv';
  const d = name;
  await h.sql('SELECT collab.create_doc($1, $2, $3, $4::jsonb)', [c, d, 'text-unicode', JSON.stringify('start 🚀 开始')]);
  const { ops, db, ackCount } = await h.editConcurrently(c, d, urls, { rounds, seed, makeOp: h.randomEdit });
  // Replaying the op-log with the npm type gives the snapshot.
  let text = ops[0].op.create.data;
  for (const o of ops.slice(1)) text = h.textUnicode.apply(text, o.op);
  assert.equal(text, db.data, 'the op-log replayed with npm ot-text-unicode equals collab.fetch');
  return { ackCount, version: db.v };
}

test('5 clients on one bridge converge', T, async (t) => {
  const seed = h.testSeed();
  t.diagnostic(`E2E_SEED=${seed}`);
  const { ackCount } = await editConcurrently({ name: 'one-bridge', urls: [A.url, A.url, A.url, A.url, A.url], rounds: 60, seed });
  assert.ok(ackCount >= 5);
});

test('5 clients on two bridges converge', T, async (t) => {
  const seed = h.testSeed() + 1;
  t.diagnostic(`E2E_SEED=${seed - 1}`);
  const { ackCount } = await editConcurrently({ name: 'two-bridges', urls: [A.url, B.url, A.url, B.url, A.url], rounds: 60, seed });
  assert.ok(ackCount >= 5);
});
