'use strict';
// SIGTERM drains: /readyz answers 503 and new WebSocket upgrades are refused with 503 while in-flight commits finish;
// those submits are acked, then every socket is closed with 1012 and the process exits 0. To hold the drain open
// deterministically, the in-flight commit waits on a row lock held by the test until it has checked all that.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

const T = { timeout: 60000 };
const C = 'drain';
let A;
let B;

before(async () => {
  await h.setupDatabase();
  [A, B] = await Promise.all([h.startBridge('a', ['--drain-timeout', '60']), h.startBridge('b')]);
});
after(() => h.cleanup());

const waitingOnLock = async () => Number((await h.sql(
  "SELECT count(*) AS n FROM pg_stat_activity WHERE usename = $1 AND wait_event_type = 'Lock'", [h.BRIDGE_ROLE]))[0].n);

test('SIGTERM: in-flight submits are acked, then sockets close with 1012; not ready meanwhile', T, async () => {
  await h.sql("SELECT collab.create_doc($1, 'd', 'text-unicode', '\"before\"')", [C]);
  const writer = await h.connected(A.url, { name: 'drain-writer' });
  const idle = await h.connected(A.url, { name: 'drain-idle' });
  const watcher = await h.connected(B.url, { name: 'drain-watcher' });
  const doc = writer.get(C, 'd');
  for (const conn of [writer, idle, watcher]) await h.subscribe(conn.get(C, 'd'));

  const locker = await h.sqlClient();
  let acked = false;
  let submitted;
  let upgrade;
  try {
    await locker.query('BEGIN');
    await locker.query('SELECT 1 FROM collab.documents WHERE collection = $1 AND id = $2 FOR UPDATE', [C, 'd']);
    submitted = h.submitOp(doc, [6, ' and after']).then(() => { acked = true; });
    await h.waitFor(async () => (await waitingOnLock()) === 1, 'the commit to wait on the row lock');

    A.kill('SIGTERM');
    await h.waitFor(async () => (await h.httpStatus(`${A.httpUrl}/readyz`)) === 503, '/readyz to say 503 while draining');
    assert.equal(await h.httpStatus(`${A.httpUrl}/healthz`), 200, '/healthz: the process still runs');
    // A new WebSocket upgrade: checked at the end (refused with 503, docs/bridge.md "Lifecycle").
    const late = new h.RawSocket(A.url);
    upgrade = await late.opened.then(async () => ({ accepted: true, closed: await late.closed }),
      (err) => ({ status: err.statusCode, error: err.message }));
    assert.equal(acked, false, 'not acked before the commit');
    assert.deepEqual(writer.closeEvents, [], 'the writer socket is still open');
    assert.deepEqual(idle.closeEvents, [], 'the idle socket is still open');
    assert.equal(A.running, true);
  } finally {
    await locker.query('ROLLBACK').catch(() => {});
    await locker.end();
  }

  await submitted;
  const exit = await A.exited;
  assert.deepEqual(exit, { code: 0, signal: null }, 'the bridge exits 0 after draining');
  await h.waitFor(() => writer.closeEvents.length && idle.closeEvents.length, 'both sockets to close');
  assert.deepEqual(writer.closeEvents.map((e) => e.code), [1012], 'the writer socket closed with 1012');
  assert.deepEqual(idle.closeEvents.map((e) => e.code), [1012], 'the idle socket closed with 1012');
  // The ack came before the close: it is among the messages of socket 0.
  const ack = h.acks(writer).find((a) => a.d === 'd');
  assert.equal(ack.v, 1);
  assert.deepEqual(await h.dbFetch(C, 'd'), { v: 2, type: h.TEXT_URI, data: 'before and after' });

  // The clients go on through the other bridge.
  await h.reconnect(writer, B.url);
  await h.reconnect(idle, B.url);
  await h.submitOp(doc, [0, '>']);
  for (const conn of [writer, idle, watcher]) {
    await h.waitDocVersion(conn.get(C, 'd'), 3);
    await h.assertDocMatchesDb(conn.get(C, 'd'));
    h.assertOpStreamContiguous(conn, C, 'd');
  }
  await h.assertOpLogSound(C, 'd');
  h.assertNoClientErrors([writer, idle, watcher]);
  assert.equal(upgrade.status, 503, `a WebSocket upgrade during drain is refused with 503: ${JSON.stringify(upgrade)}`);
});

test('SIGTERM with nothing in flight: sockets close with 1012, exit 0; restarts on the same port', T, async () => {
  if (A.running) await A.stop(); // after a failed test
  await A.start();
  const conn = await h.connected(A.url, { name: 'quiet' });
  await h.subscribe(conn.get(C, 'd'));
  const exit = await A.kill('SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null });
  await h.waitFor(() => conn.closeEvents.length, 'the socket to close');
  assert.equal(conn.closeEvents[0].code, 1012);
  await A.start();
  await h.reconnect(conn, A.url);
  await h.submitOp(conn.get(C, 'd'), [1, '!']);
  await h.assertDocMatchesDb(conn.get(C, 'd'));
  h.assertNoClientErrors([conn]);
});
