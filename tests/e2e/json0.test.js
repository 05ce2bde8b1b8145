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

const WORDS = ['a', 'bc', 'déf', '漢字', '🚀', 'x y', '👩‍👩‍👧', 'ñ'];

// A random op of one or two components made against data (the client's current snapshot, never modified here).
function randomOp(r, data) {
  const word = () => WORDS[r.int(WORDS.length)];
  const comps = [];
  let d = h.clone(data);
  for (let k = 1 + r.int(2); k > 0; k--) {
    const c = randomComponent(r, d, word);
    comps.push(c);
    d = json0.apply(d, [c]);
  }
  return comps;
}

// Code point boundaries of a JavaScript string, as UTF-16 offsets (an si / sd never splits a surrogate pair).
function boundaries(s) {
  const out = [0];
  for (const ch of s) out.push(out[out.length - 1] + ch.length);
  return out;
}

function randomComponent(r, d, word) {
  const items = d.items;
  const x = r();
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
  if (x > 0.9) { // a text-unicode subtype op on the notes field: positions in code points
    const at = r.int(boundaries(d.notes).length);
    return { p: ['notes'], t: 'text-unicode', o: at > 0 ? [at, word()] : [word()] };
  }
  // si / sd. (ot-json0 transforms si / sd only against string ops of its own text0 kind: a field is edited with one
  // kind of string op, as a real editor binding does.)
  const onTitle = x < 0.72;
  const path = onTitle ? ['title'] : ['items', i, 'text'];
  const s = onTitle ? d.title : items[i].text;
  const b = boundaries(s);
  if (b.length > 2 && r() < 0.4) {
    const from = r.int(b.length - 1);
    const to = from + 1 + r.int(Math.min(3, b.length - 1 - from));
    return { p: [...path, b[from]], sd: s.slice(b[from], b[to]) };
  }
  return { p: [...path, b[r.int(b.length)]], si: word() };
}

test('5 sockets on two bridges edit one json0 document at once and converge to the database', T, async (t) => {
  const seed = h.testSeed();
  t.diagnostic(`E2E_SEED=${seed}`);
  const d = 'shared';
  const initial = { title: 'Plan 🚀', notes: 'ok', items: [{ text: 'one', n: 1 }, { text: 'two', n: 2 }], meta: {} };
  await h.sql('SELECT collab.create_doc($1, $2, $3, $4::jsonb)', [C, d, 'json0', JSON.stringify(initial)]);
  const { conns, ops, db } = await h.editConcurrently(C, d, [A.url, B.url, A.url, B.url, A.url],
    { rounds: 50, seed, makeOp: randomOp, name: 'json' });

  // Replaying the op-log with npm ot-json0 gives the snapshot, and the queryable column holds it too.
  let data = ops[0].op.create.data;
  for (const o of ops.slice(1)) data = json0.apply(data, o.op);
  assert.deepEqual(data, db.data, 'the op-log replayed with npm ot-json0 equals collab.fetch');
  assert.deepEqual(await dbRow(d), { v: db.v, data: db.data, dataVersion: db.v }, 'collab.documents.data is current');
  for (const conn of conns) conn.close();
});
