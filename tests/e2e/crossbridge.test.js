'use strict';
// Two bridges on different ports sharing one database: ops submitted on one reach subscribers on the other in
// version order, each once, with no gaps; edits made in SQL (collab.submit, create_doc, delete_doc) show up live on
// both; NOTIFY payloads are only hints (a forged one changes nothing).

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

// Versions of the broadcast ops (not acks) a connection received for a doc.
const broadcastVersions = (conn, c, d) => h.opMessages(conn, c, d).filter((m) => m.kind !== 'ack').map((m) => m.v);

test('ops cross between two bridges in order, each once, no gaps', T, async () => {
  const c = 'cross';
  const ids = ['x1', 'x2'];
  for (const id of ids) await h.sql("SELECT collab.create_doc($1, $2, 'text-unicode', '\"\"')", [c, id]);

  // Subscribers that never submit: one on each bridge.
  const subA = await h.connected(A.url, { name: 'subscriber-a' });
  const subB = await h.connected(B.url, { name: 'subscriber-b' });
  // Submitters: two on A, one on B, all on both docs.
  const writers = [
    await h.connected(A.url, { name: 'writer-a1' }),
    await h.connected(A.url, { name: 'writer-a2' }),
    await h.connected(B.url, { name: 'writer-b1' }),
  ];
  for (const conn of [subA, subB, ...writers]) {
    for (const id of ids) await h.subscribe(conn.get(c, id));
  }

  // Each writer appends its own tokens to each doc, waiting for each ack (so every submit is one op).
  const perWriter = 25;
  await Promise.all(writers.flatMap((conn, w) => ids.map(async (id) => {
    const doc = conn.get(c, id);
    for (let k = 0; k < perWriter; k++) {
      const len = h.cpLength(doc.data);
      await h.submitOp(doc, len ? [len, `${w}.${k}|`] : [`${w}.${k}|`]);
    }
  })));

  for (const id of ids) {
    const db = await h.dbFetch(c, id);
    assert.equal(db.v, 1 + writers.length * perWriter, `${id}: every op committed once`);
    for (const conn of [subA, subB, ...writers]) await h.waitDocVersion(conn.get(c, id), db.v);
    for (const sub of [subA, subB]) {
      // Subscribed at version 1: it must have received exactly ops 1 .. v-1, in order.
      assert.deepEqual(broadcastVersions(sub, c, id), Array.from({ length: db.v - 1 }, (_, i) => i + 1),
        `${sub.e2eName} received every op of ${id} once, in version order`);
      await h.assertDocMatchesDb(sub.get(c, id));
    }
    // The ops a subscriber received are the committed ops, as committed.
    const log = await h.dbOps(c, id, 1);
    for (const sub of [subA, subB]) {
      const got = h.opMessages(sub, c, id).map((m) => ({ v: m.v, op: m.message.op, src: m.src, seq: m.seq }));
      assert.deepEqual(got, log, `${sub.e2eName} got the op-log of ${id}`);
    }
    for (const conn of writers) await h.assertDocMatchesDb(conn.get(c, id));
    await h.assertOpLogSound(c, id);
  }
  for (const conn of writers) await h.assertAcksInOpLog(conn);
  h.assertNoClientErrors([subA, subB, ...writers]);
  // Writers: each op once on the socket, in order (others' ops and own acks together); own ops come back as acks
  // only, never as broadcasts (ShareDB never sends a connection its own ops).
  for (const id of ids) {
    for (const conn of writers) {
      const own = h.opMessages(conn, c, id).filter((m) => m.kind !== 'ack' && m.src === conn.id);
      assert.deepEqual(own.map((m) => `v${m.v} seq ${m.seq}`), [], `${conn.e2eName} is not sent its own ops on ${id} ` +
        '(ShareDB answers a live submit with the ack {a, c, d, src, seq, v} only; the stock client also takes the ' +
        'full op as the ack, but other clients may not, and it sends every op back to its author)');
      h.assertOpStreamContiguous(conn, c, id);
    }
  }
});

test('an edit made in SQL shows up live on both bridges', T, async () => {
  const c = 'sql';
  const subA = await h.connected(A.url, { name: 'sql-sub-a' });
  const subB = await h.connected(B.url, { name: 'sql-sub-b' });
  const docA = subA.get(c, 'live');
  const docB = subB.get(c, 'live');
  await h.subscribe(docA);
  await h.subscribe(docB);
  assert.equal(docA.type, null);

  const created = [h.waitForEvent(docA, 'create'), h.waitForEvent(docB, 'create')];
  await h.sql("SELECT collab.create_doc($1, 'live', 'text-unicode', '\"from SQL\"')", [c]);
  await Promise.all(created);
  assert.equal(docA.data, 'from SQL');
  assert.equal(docB.data, 'from SQL');

  const edited = [h.waitForEvent(docA, 'op'), h.waitForEvent(docB, 'op')];
  const [row] = await h.sql("SELECT version, op FROM collab.submit($1, 'live', 1, '[8, \", with ❤️\"]')", [c]);
  assert.equal(Number(row.version), 1);
  const [[opA], [opB]] = await Promise.all(edited);
  assert.deepEqual(opA, [8, ', with ❤️']);
  assert.deepEqual(opB, [8, ', with ❤️']);
  assert.equal(docA.data, 'from SQL, with ❤️');
  assert.equal(docB.data, 'from SQL, with ❤️');

  // Several ops in one transaction: one NOTIFY for the document, all ops delivered in order.
  const client = await h.sqlClient();
  try {
    await client.query('BEGIN');
    for (let i = 0; i < 5; i++) await client.query("SELECT * FROM collab.submit($1, 'live', NULL, $2::jsonb)", [c, JSON.stringify([String(i)])]);
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
  await h.waitDocVersion(docA, 7);
  await h.waitDocVersion(docB, 7);
  assert.equal(docA.data, '43210from SQL, with ❤️');

  // A rolled-back transaction delivers nothing; the next committed op arrives right after version 7.
  const rb = await h.sqlClient();
  try {
    await rb.query('BEGIN');
    await rb.query("SELECT * FROM collab.submit($1, 'live', NULL, '[\"rolled back\"]')", [c]);
    await rb.query('ROLLBACK');
  } finally {
    await rb.end();
  }
  const gone = [h.waitForEvent(docA, 'del'), h.waitForEvent(docB, 'del')];
  await h.sql("SELECT collab.delete_doc($1, 'live')", [c]);
  await Promise.all(gone);
  assert.equal(docA.type, null);
  assert.equal(docB.version, 8);

  for (const conn of [subA, subB]) {
    assert.deepEqual(broadcastVersions(conn, c, 'live'), [0, 1, 2, 3, 4, 5, 6, 7]);
    await h.assertDocMatchesDb(conn.get(c, 'live'));
  }
  h.assertNoClientErrors([subA, subB]);
});

test('a forged or garbage NOTIFY changes nothing', T, async () => {
  const c = 'hint';
  await h.sql("SELECT collab.create_doc($1, 'n', 'text-unicode', '\"abc\"')", [c]);
  const subA = await h.connected(A.url, { name: 'hint-sub-a' });
  const subB = await h.connected(B.url, { name: 'hint-sub-b' });
  for (const conn of [subA, subB]) await h.subscribe(conn.get(c, 'n'));

  await h.sql(`NOTIFY collab, '{"c": "hint", "d": "n", "v": 999}'`);
  await h.sql("NOTIFY collab, 'not json at all'");
  await h.sql(`NOTIFY collab, '{"c": 1}'`);
  await h.sql("NOTIFY collab_presence, 'garbage'");
  await h.sql(`SELECT pg_notify('collab', '{"c": "hint", "d": "n", "v": 1}')`);

  // The bridges are still ready, and the next real op arrives as version 1 on both.
  for (const b of [A, B]) assert.equal(await h.httpStatus(`${b.httpUrl}/readyz`), 200);
  const got = [h.waitForEvent(subA.get(c, 'n'), 'op'), h.waitForEvent(subB.get(c, 'n'), 'op')];
  await h.sql("SELECT * FROM collab.submit($1, 'n', 1, '[3, \"d\"]')", [c]);
  await Promise.all(got);
  for (const conn of [subA, subB]) {
    assert.deepEqual(broadcastVersions(conn, c, 'n'), [1], `${conn.e2eName} got only the real op`);
    await h.assertDocMatchesDb(conn.get(c, 'n'));
  }
  assert.equal(A.running && B.running, true);
  h.assertNoClientErrors([subA, subB]);
});
