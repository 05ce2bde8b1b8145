'use strict';
// The document lifecycle through one bridge with the stock client: handshake, create, fetch, subscribe, submit,
// unsubscribe, bulk fetch/subscribe/unsubscribe, catch-up from a version, delete and re-create, and read-only
// snapshots at a version (nf) and at a time (nt).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

const T = { timeout: 60000 };
let A;

before(async () => {
  await h.setupDatabase();
  A = await h.startBridge('a');
});
after(() => h.cleanup());

test('handshake: protocol 1.2, json0 default type, ids issued by the bridge and kept on reconnect', T, async () => {
  const s1 = await h.rawSocket(A.url, { handshake: false });
  const hs = await s1.request({ a: 'hs', id: null, protocol: 1, protocolMinor: 2 });
  assert.equal(hs.a, 'hs');
  assert.equal(hs.protocol, 1);
  assert.equal(hs.protocolMinor, 2);
  assert.equal(hs.type, h.JSON0_URI);
  assert.equal(typeof hs.id, 'string');
  assert.ok(hs.id.length > 0);
  assert.equal(hs.error, undefined);

  // A reconnecting client keeps the id the system issued.
  const s2 = await h.rawSocket(A.url, { handshake: false });
  const again = await s2.handshake(hs.id);
  assert.equal(again.id, hs.id, 'an id issued by the bridge is accepted back');

  // An id the system did not issue is replaced by a new one.
  const s3 = await h.rawSocket(A.url, { handshake: false });
  const forged = await s3.handshake('made-up-by-the-client');
  assert.notEqual(forged.id, 'made-up-by-the-client');
  assert.notEqual(forged.id, hs.id);
  const tampered = await (await h.rawSocket(A.url, { handshake: false })).handshake(`${hs.id}x`);
  assert.notEqual(tampered.id, `${hs.id}x`, 'an altered issued id is not accepted');

  // Two fresh handshakes get different ids.
  const s4 = await h.rawSocket(A.url, { handshake: false });
  const other = await s4.handshake(null);
  assert.notEqual(other.id, hs.id);

  // ping
  const conn = await h.connected(A.url, { name: 'pinger' });
  assert.equal(typeof conn.id, 'string');
  conn.ping();
  await h.waitForEvent(conn, 'pong', { what: 'pong' });
  h.assertNoClientErrors([conn]);
});

test('create, fetch, subscribe, submit, unsubscribe', T, async () => {
  const c1 = await h.connected(A.url, { name: 'c1' });
  const c2 = await h.connected(A.url, { name: 'c2' });

  // A document that was never created: version 0, no type.
  const ghost = c2.get('notes', 'never');
  await h.fetchDoc(ghost);
  assert.equal(ghost.version, 0);
  assert.equal(ghost.type, null);

  const d1 = c1.get('notes', 'life');
  await h.fetchDoc(d1);
  assert.equal(d1.type, null);
  await h.create(d1, 'Hello', 'text-unicode');
  assert.equal(d1.version, 1);
  assert.deepEqual(await h.dbFetch('notes', 'life'), { v: 1, type: h.TEXT_URI, data: 'Hello' });
  const createAck = h.acks(c1).find((a) => a.d === 'life');
  assert.deepEqual(createAck, { c: 'notes', d: 'life', src: c1.id, seq: createAck.seq, v: 0 },
    'the create is acked at version 0');

  // fetch from another connection
  const d2 = c2.get('notes', 'life');
  await h.fetchDoc(d2);
  assert.equal(d2.version, 1);
  assert.equal(d2.data, 'Hello');
  assert.equal(d2.type.uri, h.TEXT_URI);

  // subscribe, then an op from c1 shows up live on c2
  await h.subscribe(d2);
  assert.equal(d2.subscribed, true);
  const seen = h.waitForEvent(d2, 'op', { what: 'the op from c1' });
  await h.submitOp(d1, [5, ' world']);
  assert.equal(d1.version, 2);
  const [op, source] = await seen;
  assert.deepEqual(op, [5, ' world']);
  assert.equal(source, false, 'a remote op');
  assert.equal(d2.data, 'Hello world');
  assert.equal(d2.version, 2);
  await h.assertDocMatchesDb(d1);
  await h.assertDocMatchesDb(d2);

  // The wire messages: the broadcast carries v, src, seq and op; the ack has no op.
  const bcast = h.opMessages(c2, 'notes', 'life').find((m) => m.v === 1);
  assert.equal(bcast.kind, 'op');
  assert.equal(bcast.src, c1.id);
  assert.deepEqual(bcast.message.op, [5, ' world']);
  const ack = h.acks(c1).find((a) => a.d === 'life' && a.v === 1);
  assert.ok(ack, 'c1 got an ack at version 1');
  assert.equal(ack.src, c1.id);
  const log = await h.dbOps('notes', 'life');
  assert.deepEqual(log.map((o) => [o.v, o.src, o.seq]), [[0, c1.id, createAck.seq], [1, c1.id, ack.seq]]);
  assert.deepEqual(log[0].op, { create: { type: h.TEXT_URI, data: 'Hello' } });
  assert.deepEqual(log[1].op, [5, ' world']);

  // c2 edits too; c1 is not subscribed, so it catches up with fetch.
  await h.submitOp(d2, ['¡', 5, { d: 6 }]);
  assert.equal(d2.data, '¡Hello');
  assert.equal(d1.version, 2, 'an unsubscribed doc is not updated');
  await h.fetchDoc(d1);
  assert.equal(d1.version, 3);
  assert.equal(d1.data, '¡Hello');

  // unsubscribe: no more ops arrive on c2's socket for that doc.
  await h.unsubscribe(d2);
  assert.equal(d2.subscribed, false);
  const before = h.opMessages(c2, 'notes', 'life').length;
  await h.submitOp(d1, [6, '!']);
  // The op is committed and acked; local fan-out happens at commit, before the ack. A ping round trip on c2 after
  // that shows nothing was queued for it.
  c2.ping();
  await h.waitForEvent(c2, 'pong');
  assert.equal(h.opMessages(c2, 'notes', 'life').length, before, 'no op for an unsubscribed doc');
  assert.equal(d2.version, 3);
  // Subscribe again: from its version, the missed op is sent.
  await h.subscribe(d2);
  await h.waitDocVersion(d2, 4);
  assert.equal(d2.data, '¡Hello!');
  await h.assertDocMatchesDb(d2);

  for (const c of [c1, c2]) h.assertOpStreamContiguous(c, 'notes', 'life');
  h.assertNoClientErrors([c1, c2]);
});

test('fetch and subscribe from a version send the ops first, then a reply without data', T, async () => {
  await h.sql("SELECT collab.create_doc('notes', 'fromv', 'text-unicode', '\"abc\"')");
  for (const op of ['[3, "d"]', '[4, "e"]', '[{"d": 1}]']) {
    await h.sql('SELECT * FROM collab.submit($1, $2, NULL, $3::jsonb)', ['notes', 'fromv', op]);
  }
  const log = await h.dbOps('notes', 'fromv');
  const s = await h.rawSocket(A.url);
  for (const a of ['f', 's']) {
    s.send({ a, c: 'notes', d: 'fromv', v: 2 });
    const got = [];
    for (;;) {
      const m = await s.next();
      if (m.a === a) {
        assert.deepEqual(m, { a, c: 'notes', d: 'fromv' }, `the ${a} reply after the ops has no data`);
        break;
      }
      got.push(m);
    }
    assert.deepEqual(got.map((m) => [m.a, m.c, m.d, m.v, m.op]),
      log.slice(2).map((o) => ['op', 'notes', 'fromv', o.v, o.op]), `${a} from v 2: ops 2 and 3, in order`);
  }
  // Subscribed from version 4 (current): a new op arrives as a broadcast.
  await h.sql('SELECT * FROM collab.submit($1, $2, NULL, $3::jsonb)', ['notes', 'fromv', '["z"]']);
  const live = await s.next({ filter: (m) => m.a === 'op' });
  assert.deepEqual([live.c, live.d, live.v, live.op], ['notes', 'fromv', 4, ['z']]);
  // Without v: the snapshot.
  const snap = await s.request({ a: 'f', c: 'notes', d: 'fromv' });
  assert.deepEqual(snap, { a: 'f', c: 'notes', d: 'fromv', data: { v: 5, type: h.TEXT_URI, data: 'zbcde' } });
  // A doc that does not exist: v 0 and type null (sent, not omitted, since text is not the default type).
  const none = await s.request({ a: 'f', c: 'notes', d: 'nothing-here' });
  assert.equal(none.data.v, 0);
  assert.ok('type' in none.data && none.data.type === null, `type null in ${JSON.stringify(none)}`);
  // Unsubscribe reply.
  assert.deepEqual(await s.request({ a: 'u', c: 'notes', d: 'fromv' }), { a: 'u', c: 'notes', d: 'fromv' });
});

test('bulk fetch, subscribe and unsubscribe; catch-up of several docs at reconnect', T, async () => {
  const ids = ['b1', 'b2', 'b3'];
  for (const id of ids) {
    await h.sql('SELECT collab.create_doc($1, $2, $3, $4::jsonb)', ['bulk', id, 'text-unicode', JSON.stringify(`doc ${id}`)]);
  }
  const conn = await h.connected(A.url, { name: 'bulk' });
  const docs = ids.map((id) => conn.get('bulk', id));
  const missing = conn.get('bulk', 'b-missing');

  // bulk fetch: one bf with the ids
  conn.startBulk();
  const fetched = [...docs, missing].map((d) => h.fetchDoc(d));
  conn.endBulk();
  await Promise.all(fetched);
  const bf = conn.sent.filter((m) => m.a === 'bf' || m.a === 'f');
  assert.deepEqual(bf.map((m) => m.a), ['bf'], 'one bulk fetch was sent');
  assert.deepEqual([...bf[0].b].sort(), [...ids, 'b-missing'].sort());
  for (const d of docs) {
    assert.equal(d.version, 1);
    assert.equal(d.data, `doc ${d.id}`);
  }
  assert.equal(missing.version, 0);
  assert.equal(missing.type, null);
  const bfReply = conn.received.find((m) => m.a === 'bf');
  assert.equal(bfReply.c, 'bulk');
  assert.deepEqual(bfReply.data.b1, { v: 1, type: h.TEXT_URI, data: 'doc b1' });

  // bulk subscribe: the docs have versions now, so it is a bs with a map {id: version}
  conn.startBulk();
  const subscribed = docs.map((d) => h.subscribe(d));
  conn.endBulk();
  await Promise.all(subscribed);
  const bs = conn.sent.filter((m) => m.a === 'bs' || m.a === 's');
  assert.deepEqual(bs.map((m) => m.a), ['bs']);
  assert.deepEqual(bs[0].b, { b1: 1, b2: 1, b3: 1 });
  const bsReply = conn.received.find((m) => m.a === 'bs');
  assert.deepEqual(bsReply, { socket: 0, a: 'bs', c: 'bulk', b: { b1: 1, b2: 1, b3: 1 } });

  // Edits in SQL reach every subscribed doc.
  for (const id of ids) await h.sql('SELECT * FROM collab.submit($1, $2, NULL, $3::jsonb)', ['bulk', id, '["+"]']);
  for (const d of docs) await h.waitDocVersion(d, 2);

  // Reconnect while edits happen: the client resubscribes all three in one bs with their versions, and the
  // bridge sends the missed ops first.
  conn.close();
  await h.waitFor(() => conn.state === 'disconnected', 'the connection to close');
  for (const id of ids) await h.sql('SELECT * FROM collab.submit($1, $2, NULL, $3::jsonb)', ['bulk', id, '["-"]']);
  await h.sql('SELECT * FROM collab.submit($1, $2, NULL, $3::jsonb)', ['bulk', 'b2', '["="]']);
  const sentBefore = conn.sent.length;
  await h.reconnect(conn, A.url);
  for (const d of docs) await h.waitDocVersion(d, d.id === 'b2' ? 4 : 3);
  const resub = conn.sent.slice(sentBefore).filter((m) => m.a === 'bs' || m.a === 's');
  assert.deepEqual(resub.map((m) => [m.a, m.b]), [['bs', { b1: 2, b2: 2, b3: 2 }]]);
  const afterReconnect = conn.received.filter((m) => m.socket === 1 && m.c === 'bulk');
  const bsAt = afterReconnect.findIndex((m) => m.a === 'bs');
  assert.ok(bsAt >= 0, 'a bs reply arrived');
  assert.deepEqual(afterReconnect.slice(0, bsAt).map((m) => [m.a, m.d, m.v]).sort(),
    [['op', 'b1', 2], ['op', 'b2', 2], ['op', 'b2', 3], ['op', 'b3', 2]], 'missed ops come before the bs reply');
  for (const d of docs) await h.assertDocMatchesDb(d);

  // bulk unsubscribe
  conn.startBulk();
  const unsubscribed = docs.map((d) => h.unsubscribe(d));
  conn.endBulk();
  await Promise.all(unsubscribed);
  const bu = conn.sent.filter((m) => m.a === 'bu');
  assert.equal(bu.length, 1);
  assert.deepEqual([...bu[0].b].sort(), ids);
  assert.deepEqual(conn.received.filter((m) => m.a === 'bu').map((m) => [m.c, [...m.b].sort()]), [['bulk', ids]]);
  for (const d of docs) assert.equal(d.subscribed, false);

  for (const id of ids) h.assertOpStreamContiguous(conn, 'bulk', id);
  h.assertNoClientErrors([conn]);
});

test('delete and re-create', T, async () => {
  const c1 = await h.connected(A.url, { name: 'deleter' });
  const c2 = await h.connected(A.url, { name: 'watcher' });
  const d1 = c1.get('notes', 'phoenix');
  const d2 = c2.get('notes', 'phoenix');
  await h.subscribe(d1);
  await h.subscribe(d2);
  await h.create(d1, 'first life');
  await h.waitDocVersion(d2, 1);
  await h.submitOp(d1, [10, '!']);
  await h.waitDocVersion(d2, 2);

  const gone = h.waitForEvent(d2, 'del', { what: 'the del event' });
  await h.del(d1);
  await gone;
  assert.equal(d1.type, null);
  assert.equal(d1.version, 3);
  assert.equal(d2.type, null);
  assert.equal(d2.version, 3);
  assert.deepEqual(await h.dbFetch('notes', 'phoenix'), { v: 3, type: null, data: null });
  const del = h.opMessages(c2, 'notes', 'phoenix').find((m) => m.kind === 'del');
  assert.equal(del.v, 2);
  assert.equal(del.message.del, true);

  const born = h.waitForEvent(d2, 'create', { what: 'the create event' });
  await h.create(d1, 'second life');
  await born;
  assert.equal(d1.version, 4);
  assert.equal(d2.version, 4);
  assert.equal(d2.data, 'second life');
  assert.equal(d2.type.uri, h.TEXT_URI);
  const create = h.opMessages(c2, 'notes', 'phoenix').filter((m) => m.kind === 'create').pop();
  assert.equal(create.v, 3);
  assert.deepEqual(create.message.create, { type: h.TEXT_URI, data: 'second life' });
  await h.submitOp(d2, [0, '2nd: ']);
  await h.waitDocVersion(d1, 5);
  assert.equal(d1.data, '2nd: second life');

  const { ops } = await h.assertOpLogSound('notes', 'phoenix');
  assert.deepEqual(ops.map((o) => Object.keys(o.op).includes('create') ? 'create' : o.op.del ? 'del' : 'edit'),
    ['create', 'edit', 'del', 'create', 'edit']);
  await h.assertDocMatchesDb(d1);
  await h.assertDocMatchesDb(d2);
  for (const c of [c1, c2]) h.assertOpStreamContiguous(c, 'notes', 'phoenix');
  h.assertNoClientErrors([c1, c2]);
});

test('snapshot at a version (fetchSnapshot / nf)', T, async () => {
  const conn = await h.connected(A.url, { name: 'history' });
  const doc = conn.get('hist', 'v');
  await h.create(doc, 'v1 😀');
  for (const op of [[4, '漢字'], [0, 'X'], [{ d: 2 }], [3, ' end']]) await h.submitOp(doc, op);
  await h.del(doc);
  await h.create(doc, 'reborn');
  const current = (await h.dbFetch('hist', 'v')).v;
  assert.equal(current, 7);
  for (let v = 0; v <= current; v++) {
    const snap = await h.fetchSnapshot(conn, 'hist', 'v', v);
    const rows = await h.sql('SELECT version, type, data FROM collab.snapshot_at($1, $2, $3)', ['hist', 'v', v]);
    assert.equal(snap.v, v, `snapshot at ${v}: version`);
    assert.equal(snap.type, rows[0].type, `snapshot at ${v}: type`);
    if (rows[0].type) assert.deepEqual(snap.data, rows[0].data, `snapshot at ${v}: data`);
    else assert.equal(snap.data, undefined, `snapshot at ${v}: no data without a type`);
  }
  const first = await h.fetchSnapshot(conn, 'hist', 'v', 1);
  assert.equal(first.data, 'v1 😀');
  const latest = await h.fetchSnapshot(conn, 'hist', 'v', null);
  assert.deepEqual([latest.v, latest.type, latest.data], [7, h.TEXT_URI, 'reborn']);
  const mid = await h.fetchSnapshot(conn, 'hist', 'v', 5);
  assert.equal(mid.data, '1 😀 end漢字');
  // The wire reply: {a:'nf', id:<request id>, v, type, data}, no c/d.
  const reply = conn.received.filter((m) => m.a === 'nf').pop();
  assert.equal(typeof reply.id, 'number');
  assert.equal(reply.c, undefined);
  assert.equal(reply.d, undefined);
  await assert.rejects(h.fetchSnapshot(conn, 'hist', 'v', current + 1),
    (err) => err.code === 'ERR_OP_VERSION_NEWER_THAN_CURRENT_SNAPSHOT');
  h.assertNoClientErrors([conn]);
});

test('snapshot at a time (fetchSnapshotByTimestamp / nt)', T, async () => {
  const conn = await h.connected(A.url, { name: 'timeline' });
  const doc = conn.get('hist', 't');
  const [{ t0 }] = await h.sql("SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint - 1 AS t0");
  await h.create(doc, 'one');
  for (const op of [[3, ' two'], [7, ' three'], [{ d: 4 }]]) {
    await h.sleep(3); // distinct milliseconds make the times below fall between ops (not an assertion)
    await h.submitOp(doc, op);
  }
  const rows = await h.sql(`SELECT version,
      (extract(epoch from created_at) * 1000000)::bigint AS us FROM collab.ops_since('hist', 't', 0)`);
  const opTimesUs = rows.map((r) => Number(r.us));
  // Times: before the create, each op's millisecond (rounded up), and far in the future.
  const times = [Number(t0), ...opTimesUs.map((us) => Math.ceil(us / 1000)), Date.now() + 3600000];
  let checked = 0;
  for (const ts of times) {
    if (opTimesUs.includes(ts * 1000)) continue; // exactly on an op's microsecond: skip the boundary case
    const snap = await h.fetchSnapshotByTimestamp(conn, 'hist', 't', ts);
    const [expected] = await h.sql(
      "SELECT version, type, data FROM collab.snapshot_at_time('hist', 't', 'epoch'::timestamptz + $1::bigint * interval '1 millisecond')",
      [ts]);
    assert.equal(snap.v, Number(expected.version), `snapshot at time ${ts}: version`);
    assert.equal(snap.type, expected.type, `snapshot at time ${ts}: type`);
    if (expected.type) assert.deepEqual(snap.data, expected.data, `snapshot at time ${ts}: data`);
    checked++;
  }
  assert.ok(checked >= 4, 'enough times were checked');
  const before = await h.fetchSnapshotByTimestamp(conn, 'hist', 't', Number(t0));
  assert.deepEqual([before.v, before.type], [0, null], 'before the create: version 0, no type');
  const latest = await h.fetchSnapshotByTimestamp(conn, 'hist', 't', null);
  assert.deepEqual([latest.v, latest.data], [4, 'two three']);
  const future = await h.fetchSnapshotByTimestamp(conn, 'hist', 't', Date.now() + 3600000);
  assert.deepEqual([future.v, future.data], [4, 'two three']);
  const reply = conn.received.filter((m) => m.a === 'nt').pop();
  assert.equal(typeof reply.id, 'number');
  h.assertNoClientErrors([conn]);
});
