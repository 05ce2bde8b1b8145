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
  const conns = [];
  for (let i = 0; i < urls.length; i++) conns.push(await h.connected(urls[i], { name: `${name}-client${i}` }));
  const docs = conns.map((conn) => conn.get(c, d));
  await Promise.all(docs.map((doc) => h.subscribe(doc)));

  let submitted = 0;
  const errors = [];
  await Promise.all(docs.map(async (doc, i) => {
    const r = h.rng(seed * 31 + i);
    for (let k = 0; k < rounds; k++) {
      const op = h.randomEdit(r, doc.data);
      const acked = new Promise((resolve) => doc.submitOp(op, (err) => {
        if (err) errors.push(`${doc.connection.e2eName}: ${err.code} ${err.message}`);
        resolve();
      }));
      submitted++;
      // Sometimes wait for the ack, sometimes keep typing (ops pile up and compose), sometimes yield a little.
      const choice = r();
      if (choice < 0.4) await acked;
      else if (choice < 0.8) await h.sleep(r.int(4));
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }));
  await Promise.all(conns.map((conn) => h.whenNothingPending(conn)));
  assert.deepEqual(errors, [], 'no submit failed');

  // Everyone reaches the database's version, with the same text.
  const db = await h.dbFetch(c, d);
  for (const doc of docs) await h.waitDocVersion(doc, db.v);
  for (const doc of docs) {
    assert.equal(doc.data, docs[0].data, `${doc.connection.e2eName} converged with ${docs[0].connection.e2eName}`);
    await h.assertDocMatchesDb(doc, `seed ${seed}`);
  }

  // The op-log: contiguous, (src, seq) unique, every ack in it once at its version, nothing else but the create.
  const { ops } = await h.assertOpLogSound(c, d);
  let ackCount = 0;
  for (const conn of conns) {
    await h.assertAcksInOpLog(conn);
    ackCount += h.acks(conn).filter((a) => a.c === c && a.d === d).length;
  }
  assert.equal(ops.length, 1 + ackCount, 'the op-log holds the create and exactly the acked ops');
  assert.ok(ackCount > 0 && ackCount <= submitted);

  // Replaying the op-log with the npm type gives the snapshot.
  let text = ops[0].op.create.data;
  for (const o of ops.slice(1)) text = h.textUnicode.apply(text, o.op);
  assert.equal(text, db.data, 'the op-log replayed with npm ot-text-unicode equals collab.fetch');
  h.assertNoClientErrors(conns);
  // Each socket got each op once, in order (broadcasts and acks together), no gaps.
  for (const conn of conns) h.assertOpStreamContiguous(conn, c, d);
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
