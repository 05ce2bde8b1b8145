'use strict';
// A bridge killed with SIGKILL while a client has an op in flight: the client moves to the other bridge with
// bindToSocket() (same Connection, so the inflight and pending ops are resent with the same src and seq) and every op
// is applied exactly once. Three moments of the kill: just after the op was sent; after it was committed but before
// the client read its ack (with another client's op committed in between, so the missed op must come before the
// ack); and while its commit waits on a row lock in PostgreSQL (the dead bridge's backend and the other bridge's then
// race to commit it). The killed bridge is restarted on the same port each time.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

const T = { timeout: 60000 };
const C = 'failover';
let A;
let B;

before(async () => {
  await h.setupDatabase();
  [A, B] = await Promise.all([h.startBridge('a'), h.startBridge('b')]);
});
after(() => h.cleanup());

// The op messages a connection sent for a doc (edits only).
const sentEdits = (conn, d) => conn.sent.filter((m) => m.a === 'op' && m.d === d && 'op' in m);

async function occurrences(d, src, seq) {
  return (await h.dbOps(C, d)).filter((o) => o.src === src && o.seq === seq);
}

async function setup(d, text, victimUrl) {
  if (!A.running) await A.start(); // after a failed test
  await h.sql("SELECT collab.create_doc($1, $2, 'text-unicode', $3::jsonb)", [C, d, JSON.stringify(text)]);
  const victim = await h.connected(victimUrl || A.url, { name: `victim-${d}` });
  const watcher = await h.connected(B.url, { name: `watcher-${d}` });
  await h.subscribe(victim.get(C, d));
  await h.subscribe(watcher.get(C, d));
  return { victim, watcher, doc: victim.get(C, d), wdoc: watcher.get(C, d) };
}

// Common checks, then extra (test-specific) checks, then the per-socket op stream checks.
async function finish({ victim, watcher, doc, wdoc }, extra = async () => {}) {
  const db = await h.dbFetch(C, doc.id);
  await h.waitDocVersion(doc, db.v);
  await h.waitDocVersion(wdoc, db.v);
  await h.assertDocMatchesDb(doc);
  await h.assertDocMatchesDb(wdoc);
  await h.assertOpLogSound(C, doc.id);
  await h.assertAcksInOpLog(victim);
  h.assertNoClientErrors([victim, watcher]);
  // The killed bridge comes back on the same port.
  await A.start();
  assert.equal(await h.httpStatus(`${A.httpUrl}/readyz`), 200);
  await extra();
  h.assertOpStreamContiguous(watcher, C, doc.id);
  h.assertOpStreamContiguous(victim, C, doc.id);
}

test('killed just after the op was sent: resent to the other bridge, applied once', T, async (t) => {
  const ctx = await setup('k1', 'base');
  const { victim, doc } = ctx;
  const id = victim.id;
  let killed;
  const onSend = (m) => {
    if (m.a !== 'op' || m.d !== 'k1') return;
    victim.off('send', onSend);
    // Two more edits while the first is in flight: they wait (composed) in pendingOps.
    doc.submitOp([5, '+1']);
    doc.submitOp([7, '+2']);
    setImmediate(() => { killed = A.kill('SIGKILL'); });
  };
  victim.on('send', onSend);
  const first = h.submitOp(doc, [0, '>']);
  await h.waitFor(() => killed, 'the kill');
  assert.equal((await killed).signal, 'SIGKILL');
  await h.waitFor(() => victim.state === 'disconnected', 'the victim to see its socket close');

  await h.reconnect(victim, B.url);
  assert.equal(victim.id, id, 'the other bridge accepts the id the first one issued');
  await first;
  await h.whenNothingPending(victim);
  assert.equal(doc.data, '>base+1+2');

  const sent = sentEdits(victim, 'k1');
  const original = sent.find((m) => m.socket === 0);
  const ackedBeforeKill = victim.received.some((m) => m.socket === 0 && m.a === 'op' && m.seq === original.seq);
  if (ackedBeforeKill) {
    // The kill comes right after the send, long before a commit can be acked; should the machine stall that long,
    // the op was simply not in flight any more.
    t.diagnostic('the ack arrived before the kill: no resend to check this time');
  } else {
    const resent = sent.find((m) => m.socket === 1 && m.seq === original.seq);
    assert.ok(resent, 'the inflight op was resent on the new socket with the same seq');
    assert.equal(resent.src, id, 'and with its src');
    assert.deepEqual(resent.op, original.op);
  }
  assert.equal((await occurrences('k1', id, original.seq)).length, 1, 'the inflight op is in the op-log once');
  assert.equal((await h.dbFetch(C, 'k1')).data, '>base+1+2');
  await finish(ctx);
});

test('killed after the commit, before the ack was read: acked with its version, missed op first', T, async () => {
  // The victim talks to bridge a through a TCP proxy that can hold back what the bridge sends.
  const proxy = await h.tcpProxy(A.port);
  const ctx = await setup('k2', 'base', proxy.url);
  const { victim, doc } = ctx;
  const id = victim.id;
  const other = await h.connected(B.url, { name: 'other-writer' });
  const odoc = other.get(C, 'k2');
  await h.subscribe(odoc);

  proxy.freezeDownstream(); // from now on the victim receives nothing
  await h.submitOp(odoc, ['other ']); // committed at version 1; the victim does not see it
  assert.equal(doc.version, 1);
  const mine = h.submitOp(doc, [4, '!']); // based on version 1, committed at version 2 after a transform
  const sent = await h.waitFor(() => sentEdits(victim, 'k2')[0], 'the victim to send its op');
  const [committed] = await h.waitFor(async () => {
    const found = await occurrences('k2', id, sent.seq);
    return found.length ? found : null;
  }, "the victim's op to be committed");
  assert.equal(committed.v, 2);
  await A.kill('SIGKILL');
  proxy.cut(); // the ack and the other op held in the proxy are lost with the connection
  await h.waitFor(() => victim.state === 'disconnected', 'the victim to see its socket close');
  assert.equal(doc.version, 1, 'the victim never got its ack');

  await h.reconnect(victim, B.url);
  await mine;
  assert.equal(doc.version, 3);
  assert.equal(doc.data, 'other base!');
  assert.equal((await occurrences('k2', id, sent.seq)).length, 1, 'the op is in the op-log once');
  await h.waitDocVersion(odoc, 3);
  await h.assertDocMatchesDb(odoc);
  await h.assertAcksInOpLog(other);
  h.assertNoClientErrors([other]);
  await finish(ctx, async () => {
    // On the new socket: the op it was transformed against (version 1), then its own op at version 2 (the ack, or
    // the op itself, which the client also takes as the ack), each once.
    const newSocket = victim.received.filter((m) => m.socket === 1 && m.a === 'op' && m.d === 'k2');
    assert.deepEqual(newSocket.map((m) => [m.v, m.src, m.seq]),
      [[1, other.id, h.acks(other)[0].seq], [2, id, sent.seq]], 'the missed op, then the ack at the original version');
  });
});

test('killed while its commit waits on a lock: the dead bridge\'s backend and the other bridge race, once wins', T, async () => {
  const ctx = await setup('k3', 'base');
  const { victim, doc } = ctx;
  const id = victim.id;
  const waiting = async () => Number((await h.sql(
    "SELECT count(*) AS n FROM pg_stat_activity WHERE usename = $1 AND wait_event_type = 'Lock'", [h.BRIDGE_ROLE]))[0].n);

  const locker = await h.sqlClient();
  try {
    await locker.query('BEGIN');
    await locker.query('SELECT 1 FROM collab.documents WHERE collection = $1 AND id = $2 FOR UPDATE', [C, 'k3']);
    const mine = h.submitOp(doc, [4, ' locked']);
    await h.waitFor(async () => (await waiting()) === 1, "bridge a's commit to wait on the row lock");
    await A.kill('SIGKILL');
    await h.waitFor(() => victim.state === 'disconnected', 'the victim to see its socket close');
    assert.equal(await waiting(), 1, "the dead bridge's backend still waits on the lock");

    await h.reconnect(victim, B.url);
    await h.waitFor(async () => (await waiting()) === 2, "bridge b's commit of the resent op to wait on the lock too");
    await locker.query('ROLLBACK');
    await mine;
  } finally {
    await locker.end();
  }
  await h.whenNothingPending(victim);
  assert.equal(doc.data, 'base locked');
  const seq = sentEdits(victim, 'k3')[0].seq;
  const found = await occurrences('k3', id, seq);
  assert.equal(found.length, 1, 'applied exactly once');
  assert.equal((await h.dbFetch(C, 'k3')).v, 2);
  assert.equal(h.acks(victim).find((a) => a.seq === seq).v, found[0].v, 'acked with the version it was committed at');
  await finish(ctx);
});

test('subscriptions move with the client: ops committed while it was away arrive after it reconnects', T, async () => {
  const ctx = await setup('k4', '');
  const { victim, doc } = ctx;
  await A.kill('SIGKILL');
  await h.waitFor(() => victim.state === 'disconnected', 'the victim to see its socket close');
  for (let i = 0; i < 5; i++) await h.sql("SELECT * FROM collab.submit($1, 'k4', NULL, $2::jsonb)", [C, JSON.stringify([String(i)])]);
  await h.reconnect(victim, B.url);
  await h.waitDocVersion(doc, 6);
  assert.equal(doc.data, '43210');
  await h.submitOp(doc, [5, '!']);
  await finish(ctx);
});
