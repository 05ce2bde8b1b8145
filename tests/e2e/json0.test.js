'use strict';
// json0, ShareDB's default type, with the stock client: a create without a type makes a json0 document whose data is
// real jsonb in collab.documents; several sockets on two bridges edit one document at once with every kind of
// component (list inserts, deletes, replacements and moves, object keys, string edits, number adds, text-unicode
// subtype ops on a text field) and converge to the database snapshot, which equals a replay of the op-log with npm ot-json0.
// Run with E2E_SEED=<seed> to replay a failing run's edits.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const json0 = require('ot-json0').type;
const h = require('./harness');

json0.registerSubtype(h.textUnicode);

const T = { timeout: 90000 };
const C = 'board';
let A;
let B;

before(async () => {
  await h.setupDatabase();
  await h.sql("SELECT collab.grant($1, NULL, 'user:anonymous', 'editor')", [C]);
  [A, B] = await Promise.all([h.startBridge('a'), h.startBridge('b')]);
});
after(() => h.cleanup());

// The document's queryable row: its data, the version of that data, and the document's version.
async function dbRow(d) {
  const rows = await h.sql('SELECT version, data, data_version FROM collab.documents WHERE collection = $1 AND id = $2',
    [C, d]);
  return { v: Number(rows[0].version), data: rows[0].data, dataVersion: Number(rows[0].data_version) };
}

test('the stock client creates json0 documents by default; their data is jsonb that SQL can query', T, async () => {
  const conn = await h.connected(A.url, { name: 'creator' });
  const doc = conn.get(C, 'card1');
  await h.subscribe(doc);
  await new Promise((resolve, reject) => doc.create({ title: 'Card', status: 'todo', items: [] },
    (err) => (err ? reject(err) : resolve())));
  assert.equal(doc.type.uri, h.JSON0_URI);
  await h.submitOp(doc, [{ p: ['status'], od: 'todo', oi: 'done' }, { p: ['items', 0], li: { text: 'a', n: 1 } }]);
  const db = await h.dbFetch(C, 'card1');
  assert.equal(db.type, h.JSON0_URI);
  assert.deepEqual(db.data, { title: 'Card', status: 'done', items: [{ text: 'a', n: 1 }] });
  assert.deepEqual(await dbRow('card1'), { v: 2, data: db.data, dataVersion: 2 });
  const done = await h.sql("SELECT id FROM collab.documents WHERE collection = $1 AND data->>'status' = 'done'", [C]);
  assert.deepEqual(done.map((r) => r.id), ['card1']);
  // Numbers are JavaScript numbers end to end: 0.1 + 0.2, and an integer beyond 64 bits.
  await h.submitOp(doc, [{ p: ['price'], oi: 0.1 }, { p: ['price'], na: 0.2 }, { p: ['big'], oi: 1e21 }]);
  assert.equal(doc.data.price, 0.30000000000000004);
  assert.deepEqual((await h.dbFetch(C, 'card1')).data, doc.data);
  // Another client sees the same document.
  const other = await h.connected(B.url, { name: 'reader' });
  const copy = other.get(C, 'card1');
  await h.fetchDoc(copy);
  assert.deepEqual(copy.data, doc.data);
  assert.equal(copy.type.uri, h.JSON0_URI);
  conn.close();
  other.close();
});

test('5 sockets on two bridges edit one json0 document at once and converge to the database', T, async (t) => {
  const seed = h.testSeed();
  t.diagnostic(`E2E_SEED=${seed}`);
  const d = 'shared';
  const initial = { title: 'Plan 🚀', notes: 'ok', items: [{ text: 'one', n: 1 }, { text: 'two', n: 2 }], meta: {} };
  await h.sql('SELECT collab.create_doc($1, $2, $3, $4::jsonb)', [C, d, 'json0', JSON.stringify(initial)]);
  const { conns, ops, db } = await h.editConcurrently(C, d, [A.url, B.url, A.url, B.url, A.url],
    { rounds: 50, seed, makeOp: h.randomJson0Op, name: 'json' });

  // Replaying the op-log with npm ot-json0 gives the snapshot, and the queryable column holds it too.
  let data = ops[0].op.create.data;
  for (const o of ops.slice(1)) data = json0.apply(data, o.op);
  assert.deepEqual(data, db.data, 'the op-log replayed with npm ot-json0 equals collab.fetch');
  assert.deepEqual(await dbRow(d), { v: db.v, data: db.data, dataVersion: db.v }, 'collab.documents.data is current');
  for (const conn of conns) conn.close();
});
