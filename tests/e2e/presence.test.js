'use strict';
// Presence relayed across two bridges: untyped channel presence (connection.getPresence) as is, including the
// request for existing presence when a client subscribes and the retraction (p: null) when a client disconnects; doc
// presence on a text-unicode document with the wrapper type of docs/bridge.md (registered by the harness); and a
// presence made at an older version, which the bridge moves through the ops committed since.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

const T = { timeout: 60000 };
let A;
let B;

before(async () => {
  await h.setupDatabase();
  [A, B] = await Promise.all([h.startBridge('a'), h.startBridge('b')]);
});
after(() => h.cleanup());

const cb = (what, fn) => h.withCallback(what, fn);

// Waits until presence (a Presence or DocPresence) holds `value` for remote presence id `id`.
function waitRemote(presence, id, value, what) {
  return h.waitFor(() => {
    const have = presence.remotePresences[id];
    return value === null ? !(id in presence.remotePresences) : JSON.stringify(have) === JSON.stringify(value);
  }, `${what}: remote presence ${id} = ${JSON.stringify(value)} (have ${JSON.stringify(presence.remotePresences[id])})`);
}

test('untyped channel presence is relayed across bridges', T, async () => {
  const c1 = await h.connected(A.url, { name: 'alice' });
  const c2 = await h.connected(B.url, { name: 'bob' });
  const p1 = c1.getPresence('room-1');
  const p2 = c2.getPresence('room-1');
  await cb('subscribe p1', (done) => p1.subscribe(done));
  await cb('subscribe p2', (done) => p2.subscribe(done));

  const alice = p1.create('alice-presence');
  await cb('alice submit', (done) => alice.submit({ user: 'alice', cursor: [1, 2], note: 'héllo 👋' }, done));
  await waitRemote(p2, 'alice-presence', { user: 'alice', cursor: [1, 2], note: 'héllo 👋' }, 'bob sees alice');
  const bob = p2.create('bob-presence');
  await cb('bob submit', (done) => bob.submit({ user: 'bob' }, done));
  await waitRemote(p1, 'bob-presence', { user: 'bob' }, 'alice sees bob');
  await cb('alice update', (done) => alice.submit({ user: 'alice', cursor: [3, 3] }, done));
  await waitRemote(p2, 'alice-presence', { user: 'alice', cursor: [3, 3] }, 'bob sees alice move');

  // The relayed message on the wire: {a:'p', ch, src, id, p, pv}, untyped (no c/d/v/t).
  // (pv counts alice's sends, including re-broadcasts answering presence requests.)
  const wire = c2.received.filter((m) => m.a === 'p' && m.id === 'alice-presence').pop();
  const sent = c1.sent.filter((m) => m.a === 'p' && m.id === 'alice-presence').pop();
  assert.equal(wire.ch, 'room-1');
  assert.equal(wire.src, c1.id);
  assert.equal(wire.pv, sent.pv);
  assert.deepEqual(wire.p, { user: 'alice', cursor: [3, 3] });
  for (const k of ['c', 'd', 'v', 't']) assert.equal(wire[k] ?? null, null, `untyped presence has no ${k}`);

  // A late subscriber on bridge A gets both existing presences (its subscribe requests them from everyone).
  const c3 = await h.connected(A.url, { name: 'carol' });
  const p3 = c3.getPresence('room-1');
  await cb('subscribe p3', (done) => p3.subscribe(done));
  await waitRemote(p3, 'alice-presence', { user: 'alice', cursor: [3, 3] }, 'carol sees alice');
  await waitRemote(p3, 'bob-presence', { user: 'bob' }, 'carol sees bob');

  // Another channel is not mixed in.
  const other = c1.getPresence('room-2');
  await cb('subscribe room-2', (done) => other.subscribe(done));
  await cb('submit room-2', (done) => other.create('elsewhere').submit({ x: 1 }, done));

  // Alice disconnects: her presence is retracted everywhere.
  c1.close();
  await waitRemote(p2, 'alice-presence', null, 'bob sees alice leave');
  await waitRemote(p3, 'alice-presence', null, 'carol sees alice leave');
  assert.equal('elsewhere' in p2.remotePresences, false, 'room-2 presence never reached room-1');
  assert.equal('elsewhere' in p3.remotePresences, false);
  assert.deepEqual(Object.keys(p3.remotePresences), ['bob-presence']);
  h.assertNoClientErrors([c2, c3]);
});

test('doc presence on text-unicode is relayed across bridges and follows the ops', T, async () => {
  await h.sql("SELECT collab.create_doc('pres', 'doc', 'text-unicode', '\"Hello world\"')");
  const c1 = await h.connected(A.url, { name: 'writer-a' });
  const c2 = await h.connected(B.url, { name: 'writer-b' });
  const d1 = c1.get('pres', 'doc');
  const d2 = c2.get('pres', 'doc');
  await h.subscribe(d1);
  await h.subscribe(d2);
  assert.equal(d1.type, h.textWithPresence, 'the wrapper type (same URI) is what the client uses');
  const dp1 = c1.getDocPresence('pres', 'doc');
  const dp2 = c2.getDocPresence('pres', 'doc');
  await cb('subscribe dp1', (done) => dp1.subscribe(done));
  await cb('subscribe dp2', (done) => dp2.subscribe(done));

  const cursor = dp1.create('cursor-a');
  await cb('submit cursor', (done) => cursor.submit({ index: 6, length: 5 }, done)); // "world"
  await waitRemote(dp2, 'cursor-a', { index: 6, length: 5 }, 'b sees a\'s selection');
  const wire = c2.received.filter((m) => m.a === 'p' && m.id === 'cursor-a').pop();
  assert.deepEqual([wire.ch, wire.c, wire.d, wire.v, wire.t, wire.src], ['pres.doc', 'pres', 'doc', 1, h.TEXT_URI, c1.id]);

  // An edit before the selection moves it on both sides.
  await h.submitOp(d2, ['¡Hola! ']);
  await h.waitDocVersion(d1, 2);
  await waitRemote(dp2, 'cursor-a', { index: 13, length: 5 }, 'b moved a\'s selection with its own op');
  assert.deepEqual(cursor.value, { index: 13, length: 5 }, 'a moved its own selection with b\'s op');
  await cb('submit again', (done) => cursor.submit(cursor.value, done));
  await waitRemote(dp2, 'cursor-a', { index: 13, length: 5 }, 'b still agrees');
  h.assertNoClientErrors([c1, c2]);
});

test('a doc presence made at an older version is transformed by the bridge', T, async () => {
  await h.sql("SELECT collab.create_doc('pres', 'old', 'text-unicode', '\"The quick brown fox\"')");
  const ops = ['["Oh, "]', '[8, {"d": 6}]', '[7, " red"]', '[4, "漢字😀"]'];
  for (const op of ops) await h.sql("SELECT * FROM collab.submit('pres', 'old', NULL, $1::jsonb)", [op]);
  const current = (await h.dbFetch('pres', 'old')).v;
  assert.equal(current, 5);

  const watcher = await h.connected(B.url, { name: 'presence-watcher' });
  const wdoc = watcher.get('pres', 'old');
  await h.subscribe(wdoc);
  const dp = watcher.getDocPresence('pres', 'old');
  await cb('subscribe', (done) => dp.subscribe(done));

  // A raw client on bridge A says: at version 1 ("The quick brown fox"), my selection is "brown" (10, 5).
  const raw = await h.rawSocket(A.url);
  const ps = await raw.request({ a: 'ps', ch: 'pres.old', seq: 1 });
  assert.deepEqual(ps, { a: 'ps', ch: 'pres.old', seq: 1 });
  const message = { a: 'p', ch: 'pres.old', id: 'old-cursor', p: { index: 10, length: 5 }, pv: 0, c: 'pres', d: 'old', v: 1, t: h.TEXT_URI };
  raw.send(message);

  // Expected: the selection moved through ops 1..4 with the wrapper's transformPresence.
  let expected = { index: 10, length: 5 };
  for (const o of await h.dbOps('pres', 'old', 1)) expected = h.textWithPresence.transformPresence(expected, o.op, false);
  const text = wdoc.data;
  assert.equal([...text].slice(expected.index, expected.index + expected.length).join(''), 'brown',
    'the expected selection still covers "brown"');

  await waitRemote(dp, 'old-cursor', expected, 'the watcher on bridge B sees the moved selection');
  const wire = watcher.received.filter((m) => m.a === 'p' && m.id === 'old-cursor');
  assert.equal(wire.length, 1);
  assert.equal(wire[0].v, current, 'relayed at the current version');
  assert.deepEqual(wire[0].p, expected);
  assert.equal(wire[0].src, raw.id);
  // The sender gets its presence back as the reply.
  const reply = await raw.next({ filter: (m) => m.a === 'p', what: 'the reply to p' });
  assert.equal(reply.error, undefined, JSON.stringify(reply));
  assert.equal(reply.id, 'old-cursor');
  assert.equal(reply.pv, 0);

  // Unsubscribe reply.
  const pu = await raw.request({ a: 'pu', ch: 'pres.old', seq: 2 });
  assert.deepEqual(pu, { a: 'pu', ch: 'pres.old', seq: 2 });
  h.assertNoClientErrors([watcher]);
});
