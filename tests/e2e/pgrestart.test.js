'use strict';
// PostgreSQL goes away under the bridges: a stopped cluster (/readyz says 503 meanwhile, /healthz stays 200), a
// restart (pg_ctl restart -m fast) under load, and pg_terminate_backend of every bridge connection under load. The
// bridges recover (/readyz 200 again), clients keep editing (reconnecting when their socket was closed), no acked op
// is lost or applied twice, and every client converges to the database snapshot.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

const T = { timeout: 120000 };
const C = 'pgload';
let A;
let B;

before(async () => {
  await h.setupDatabase();
  [A, B] = await Promise.all([h.startBridge('a'), h.startBridge('b')]);
});
after(() => h.cleanup());

const readyz = (b) => h.httpStatus(`${b.httpUrl}/readyz`);
const healthz = (b) => h.httpStatus(`${b.httpUrl}/healthz`);

// Clients on both bridges editing `ids` in loops (each waits for its ack before the next op). Every connection is
// kept connected by autoReconnect to its own bridge.
async function startLoad(name, ids, seed) {
  for (const id of ids) await h.sqlRetry("SELECT collab.create_doc($1, $2, 'text-unicode', '\"load\"')", [C, id]);
  const homes = [A, B, A, B];
  const conns = [];
  for (let i = 0; i < homes.length; i++) conns.push(await h.connected(homes[i].url, { name: `${name}-${i}` }));
  const stops = conns.map((conn, i) => h.autoReconnect(conn, [homes[i].url]));
  for (const conn of conns) for (const id of ids) await h.subscribe(conn.get(C, id));
  let stopped = false;
  const counts = new Map(); // "conn/doc" -> acks
  const failures = [];
  const loops = conns.flatMap((conn, i) => ids.map(async (id, j) => {
    const r = h.rng(seed + i * 101 + j);
    const doc = conn.get(C, id);
    const key = `${i}/${id}`;
    counts.set(key, 0);
    while (!stopped) {
      try {
        await h.withCallback(`submit on ${conn.e2eName}`, (cb) => doc.submitOp(h.randomEdit(r, doc.data), cb), 90000);
        counts.set(key, counts.get(key) + 1);
      } catch (err) {
        failures.push(`${conn.e2eName} ${id}: ${err.code || ''} ${err.message}`);
        return;
      }
    }
  }));
  const total = () => [...counts.values()].reduce((a, b) => a + b, 0);
  return {
    conns,
    counts,
    total,
    // Waits until every loop has at least `more` acks beyond what it had when called.
    async progress(more, what) {
      const base = new Map(counts);
      await h.waitFor(() => {
        if (failures.length) throw new Error(failures.join('; '));
        return [...counts].every(([k, n]) => n >= base.get(k) + more);
      }, `every client to get ${more} more acks ${what}`, { timeout: 60000 });
    },
    async stop() {
      stopped = true;
      await Promise.all(loops);
      assert.deepEqual(failures, [], 'no submit failed');
      await Promise.all(conns.map((conn) => h.whenNothingPending(conn)));
      stops.forEach((s) => s());
    },
  };
}

async function checkConverged(load, ids) {
  for (const id of ids) {
    const { doc: db } = await h.assertOpLogSound(C, id);
    for (const conn of load.conns) {
      const doc = conn.get(C, id);
      await h.waitDocVersion(doc, db.v);
      await h.assertDocMatchesDb(doc);
    }
  }
  for (const conn of load.conns) await h.assertAcksInOpLog(conn);
  h.assertNoClientErrors(load.conns);
  for (const id of ids) for (const conn of load.conns) h.assertOpStreamContiguous(conn, C, id);
}

test('while the cluster is stopped: /readyz 503, /healthz 200; a submit made then is committed once after', T, async () => {
  await h.sql("SELECT collab.create_doc($1, 'outage', 'text-unicode', '\"up\"')", [C]);
  const conn = await h.connected(A.url, { name: 'outage-client' });
  const watcher = await h.connected(B.url, { name: 'outage-watcher' });
  const stopA = h.autoReconnect(conn, [A.url]);
  const stopB = h.autoReconnect(watcher, [B.url]);
  const doc = conn.get(C, 'outage');
  const wdoc = watcher.get(C, 'outage');
  await h.subscribe(doc);
  await h.subscribe(wdoc);

  let pending;
  await h.pgStop();
  try {
    for (const b of [A, B]) {
      await h.waitFor(async () => (await readyz(b)) === 503, `bridge ${b.name} /readyz to say 503 during the outage`);
      assert.equal(await healthz(b), 200, `bridge ${b.name} /healthz stays 200`);
    }
    pending = h.submitOp(doc, [2, ' and running']);
  } finally {
    await h.pgStart();
  }
  for (const b of [A, B]) await h.waitFor(async () => (await readyz(b)) === 200, `bridge ${b.name} /readyz back to 200`);
  // The submit made during the outage is either committed once after it, or refused with an error (the client then
  // rolls it back); never both, never twice.
  const outcome = await pending.then(() => 'acked', (err) => err);
  const db = await h.sqlRetry("SELECT version, data FROM collab.fetch($1, 'outage')", [C]);
  const seq = conn.sent.find((m) => m.a === 'op' && m.d === 'outage').seq;
  const inLog = (await h.dbOps(C, 'outage')).filter((o) => o.seq === seq && o.src === conn.id);
  if (outcome === 'acked') {
    assert.deepEqual([Number(db[0].version), db[0].data], [2, 'up and running']);
    assert.equal(inLog.length, 1);
  } else {
    assert.equal(typeof outcome.code, 'string', `an error code: ${outcome.message}`);
    assert.deepEqual([Number(db[0].version), db[0].data], [1, 'up']);
    assert.equal(inLog.length, 0, 'a refused op is not in the op-log');
    assert.equal(doc.data, 'up', 'the client rolled the refused op back');
  }
  const v = Number(db[0].version);
  await h.waitDocVersion(wdoc, v);
  assert.equal(wdoc.data, db[0].data);
  // Editing goes on through both bridges.
  await h.submitOp(wdoc, [0, '>']);
  await h.waitDocVersion(doc, v + 1);
  await h.submitOp(doc, [1, '<']);
  await h.waitDocVersion(wdoc, v + 2);
  stopA();
  stopB();
  await h.assertOpLogSound(C, 'outage');
  for (const c of [conn, watcher]) {
    await h.assertDocMatchesDb(c.get(C, 'outage'));
    await h.assertAcksInOpLog(c);
  }
  h.assertNoClientErrors([conn, watcher]);
  for (const c of [conn, watcher]) h.assertOpStreamContiguous(c, C, 'outage');
});

test('pg_ctl restart -m fast under load: recovery, no acked op lost, convergence', T, async (t) => {
  const ids = ['r1', 'r2'];
  const seed = h.testSeed();
  t.diagnostic(`E2E_SEED=${seed}`);
  const load = await startLoad('restart', ids, seed);
  await load.progress(3, 'before the restart');
  await h.pgRestart();
  for (const b of [A, B]) await h.waitFor(async () => (await readyz(b)) === 200, `bridge ${b.name} /readyz back to 200`);
  await load.progress(5, 'after the restart');
  await load.stop();
  await checkConverged(load, ids);
});

test('pg_terminate_backend of every bridge connection under load: recovery, no acked op lost', T, async (t) => {
  const ids = ['t1', 't2'];
  const seed = h.testSeed();
  t.diagnostic(`E2E_SEED=${seed}`);
  const load = await startLoad('terminate', ids, seed + 7);
  for (let round = 0; round < 3; round++) {
    await load.progress(2, `before termination ${round + 1}`);
    const n = await h.terminateBridgeBackends();
    assert.ok(n >= 2, `terminated the bridges' connections (${n})`);
    for (const b of [A, B]) await h.waitFor(async () => (await readyz(b)) === 200, `bridge ${b.name} /readyz back to 200`);
  }
  await load.progress(3, 'after the terminations');
  await load.stop();
  await checkConverged(load, ids);
});
