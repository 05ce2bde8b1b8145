'use strict';
// Rights in the database (collab.grant / collab.revoke, organizations) enforced by bridges with authentication: a
// viewer's submit is rejected and rolled back by the stock client; without a right nothing is read (fetch, subscribe,
// nf, nt, doc presence, GET /docs); a grant across organizations gives nothing; grants and revokes take effect on open
// sockets (a revoke ends the subscription with an error op message and no op follows); client ids are bound to users.
//
// Users sign in with HS256 tokens of a test issuer (sub, org). Documents belong to organization acme unless said.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

const T = { timeout: 60000 };
const READS = 'ERR_SNAPSHOT_READS_REJECTED';
const WRITES = 'ERR_OP_SUBMIT_REJECTED';
let iss;
let R;
let S;

before(async () => {
  await h.setupDatabase();
  iss = h.testIssuer();
  const args = [...iss.args(['hs256'])];
  [R, S] = await Promise.all(['r', 's'].map(async (name) =>
    h.waitAuthReady(await h.startBridge(name, args, { secure: true }))));
  await h.sql("SELECT collab.create_doc('r', 'doc', 'text-unicode', '\"hello\"', 'acme')");
  await h.sql("SELECT collab.grant('r', 'doc', 'user:viv', 'viewer')");
  await h.sql("SELECT collab.grant('r', 'doc', 'user:ed', 'editor')");
});
after(() => h.cleanup());

const token = (sub, org = 'acme') => iss.token(sub, { alg: 'HS256', org });
const as = (sub, { org = 'acme', bridge = R, name = sub } = {}) =>
  h.connectedAuth(bridge.url, { token: token(sub, org) }, { name });
const rawAs = (sub, { org = 'acme', bridge = R, id = null } = {}) =>
  h.rawSocketAuth(bridge.url, { token: token(sub, org) }, { id });
const cb = (what, fn) => h.withCallback(what, fn);

async function rejectsWith(promise, code, what) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.code, code, `${what}: ${err.message}`);
    return true;
  }, `${what} is refused with ${code}`);
}

// The error replies a stock connection received for its op messages on c/d.
const opErrors = (conn, c, d) => conn.received.filter((m) => m.a === 'op' && m.c === c && m.d === d && m.error);

// Sends a raw request and returns its one reply, asserting it is an error with `code`.
async function rawError(raw, request, code) {
  const reply = await raw.request(request);
  assert.ok(reply.error, `reply to ${JSON.stringify(request)} is an error: ${JSON.stringify(reply)}`);
  assert.equal(reply.error.code, code, `reply to ${JSON.stringify(request)}: ${JSON.stringify(reply)}`);
  return reply;
}

test('a viewer\'s submit, create and delete are rejected, rolled back by the stock client, and not stored', T, async () => {
  const conn = await as('viv');
  const doc = conn.get('r', 'doc');
  await h.subscribe(doc);
  assert.equal(doc.data, 'hello');
  const version = doc.version;
  const before = await h.dbOps('r', 'doc');
  const rejected = new Set();
  conn.on('receive', (req) => { if (req.data && req.data.error) rejected.add(req.data.error.code); });

  // ShareDB's client takes ERR_OP_SUBMIT_REJECTED as an intentional rejection: it rolls the op back and calls back
  // without an error.
  await h.submitOp(doc, [5, ' world']);
  await h.waitFor(() => !doc.hasWritePending(), 'the rollback');
  assert.equal(doc.data, 'hello', 'rolled back locally');
  assert.equal(doc.version, version);
  const errs = opErrors(conn, 'r', 'doc');
  assert.equal(errs.length, 1, JSON.stringify(errs));
  assert.equal(errs[0].error.code, WRITES);
  const sent = conn.sent.filter((m) => m.a === 'op' && m.d === 'doc');
  assert.equal(errs[0].seq, sent[sent.length - 1].seq, 'the rejection answers the op');

  await h.del(doc);
  await h.waitFor(() => !doc.hasWritePending() && doc.type, 'the rollback of the delete (a fetch)');
  assert.equal(doc.data, 'hello');
  assert.equal(opErrors(conn, 'r', 'doc').length, 2);
  assert.equal(opErrors(conn, 'r', 'doc')[1].error.code, WRITES);

  // (viv may read r/viv-new, so that the stock client's rollback of the create, a fetch, succeeds.)
  await h.sql("SELECT collab.grant('r', 'viv-new', 'user:viv', 'viewer')");
  const fresh = conn.get('r', 'viv-new');
  await h.create(fresh, 'mine', 'text-unicode');
  await h.waitFor(() => !fresh.hasWritePending(), 'the rollback of the create');
  assert.equal(fresh.type, null, 'no document after the rollback');
  assert.equal(opErrors(conn, 'r', 'viv-new')[0].error.code, WRITES);

  assert.deepEqual(await h.dbOps('r', 'doc'), before, 'collab.ops unchanged');
  assert.deepEqual(await h.dbFetch('r', 'doc'), { v: version, type: h.TEXT_URI, data: 'hello' });
  assert.deepEqual(await h.sql("SELECT id FROM collab.documents WHERE collection = 'r' AND id = 'viv-new'"), []);
  assert.deepEqual([...rejected], [WRITES]);
  h.assertNoClientErrors([conn]);
});

test('without a right nothing is read: fetch, subscribe, nf, nt, doc presence', T, async () => {
  const conn = await as('noah');
  const doc = conn.get('r', 'doc');
  await rejectsWith(h.fetchDoc(doc), READS, 'fetch');
  await rejectsWith(h.subscribe(doc), READS, 'subscribe');
  await rejectsWith(h.fetchSnapshot(conn, 'r', 'doc', 1), READS, 'fetchSnapshot (nf) at version 1');
  await rejectsWith(h.fetchSnapshot(conn, 'r', 'doc', null), READS, 'fetchSnapshot (nf) latest');
  await rejectsWith(h.fetchSnapshotByTimestamp(conn, 'r', 'doc', Date.now()), READS, 'fetchSnapshotByTimestamp (nt)');
  const dp = conn.getDocPresence('r', 'doc');
  await rejectsWith(cb('doc presence subscribe', (done) => dp.subscribe(done)), READS, 'doc presence subscribe');
  assert.ok(!JSON.stringify(conn.received).includes('hello'), 'no content reached the client');
  assert.equal(doc.type, null);

  // Raw: fetch, subscribe, nf, nt, bulk fetch and subscribe, presence subscribe and request.
  const raw = await rawAs('noah');
  await rawError(raw, { a: 'f', c: 'r', d: 'doc' }, READS);
  await rawError(raw, { a: 's', c: 'r', d: 'doc' }, READS);
  await rawError(raw, { a: 'nf', id: 7, c: 'r', d: 'doc', v: 1 }, READS);
  await rawError(raw, { a: 'nt', id: 8, c: 'r', d: 'doc', ts: Date.now() }, READS);
  await rawError(raw, { a: 'ps', ch: 'r.doc', seq: 1 }, READS);
  await rawError(raw, { a: 'pr', ch: 'r.doc' }, READS);
  for (const a of ['bf', 'bs']) {
    const bulk = await raw.request({ a, c: 'r', b: ['doc'] });
    assert.deepEqual([bulk.a, bulk.error, bulk.data && bulk.data.doc && bulk.data.doc.error && bulk.data.doc.error.code],
      [a, undefined, READS], `${a}: the document's entry is the error: ${JSON.stringify(bulk)}`);
    assert.deepEqual(Object.keys(bulk.data.doc), ['error'], `${a} leaks nothing: ${JSON.stringify(bulk)}`);
  }
  assert.deepEqual(await raw.sync(), []);

  // Presence of others on the doc channel does not reach noah, and noah's does not reach them.
  const viewer = await as('viv', { name: 'viv-presence' });
  await h.subscribe(viewer.get('r', 'doc')); // the stock client applies doc presence to a doc it has
  const vdp = viewer.getDocPresence('r', 'doc');
  await cb('viv presence subscribe', (done) => vdp.subscribe(done));
  const editor = await as('ed');
  const edoc = editor.get('r', 'doc');
  await h.subscribe(edoc);
  const edp = editor.getDocPresence('r', 'doc');
  await cb('ed presence subscribe', (done) => edp.subscribe(done));
  raw.send({ a: 'p', ch: 'r.doc', id: 'noah-cursor', p: { index: 1, length: 1 }, pv: 0, c: 'r', d: 'doc', v: edoc.version,
    t: h.TEXT_URI });
  const reply = await raw.next({ what: 'the reply to noah\'s presence' });
  assert.equal(reply.error && reply.error.code, READS, JSON.stringify(reply));
  await cb('ed cursor', (done) => edp.create('ed-cursor').submit({ index: 0, length: 5 }, done));
  await h.waitFor(() => vdp.remotePresences['ed-cursor'], 'viv (a viewer) to see ed\'s cursor');
  assert.deepEqual(await raw.sync(), [], 'noah (raw) got no presence');
  assert.equal(conn.received.filter((m) => m.a === 'p').length, 0, 'noah (stock) got no presence');
  assert.equal('noah-cursor' in vdp.remotePresences, false, 'noah\'s presence reached nobody');
  assert.equal('noah-cursor' in edp.remotePresences, false);

  // Creating a document in the collection needs a right too.
  await rawError(raw, { a: 'op', c: 'r', d: 'noah-new', v: 0, seq: 1, create: { type: h.TEXT_URI, data: 'x' } }, WRITES);
  assert.deepEqual(await h.sql("SELECT id FROM collab.documents WHERE collection = 'r' AND id = 'noah-new'"), []);
  h.assertNoClientErrors([viewer, editor]);
});

test('without a right, a subscribe or fetch from a version is refused too (the reply is the error)', T, async () => {
  // The stock client resubscribes with the version it has (after a reconnect, say when its right was revoked while it
  // was away); ShareDB answers a refused read with an error reply. Each request on a fresh socket: its reply is the
  // message with the same action.
  await h.sql("SELECT collab.submit('r', 'doc', NULL, '[5, \"!\"]'::jsonb)"); // r/doc has ops from version 1
  const current = (await h.dbFetch('r', 'doc')).v;
  const problems = [];
  for (const request of [
    { a: 's', c: 'r', d: 'doc', v: 0 },
    { a: 's', c: 'r', d: 'doc', v: 1 },
    { a: 's', c: 'r', d: 'doc', v: current },
    { a: 'f', c: 'r', d: 'doc', v: 1 },
    { a: 'bs', c: 'r', b: { doc: 1 } },
    { a: 'bf', c: 'r', b: { doc: 1 } },
  ]) {
    const raw = await rawAs('noah');
    raw.send(request);
    const reply = await raw.next({ filter: (m) => m.a === request.a, what: `the reply to ${JSON.stringify(request)}` });
    const all = raw.messages.slice(1);
    assert.ok(!JSON.stringify(all).includes('hello'), `nothing of the document: ${JSON.stringify(all)}`);
    assert.ok(!all.some((m) => m.a === 'op' && !m.error), `no op: ${JSON.stringify(all)}`);
    const code = reply.error ? reply.error.code
      : reply.data && reply.data.doc && reply.data.doc.error ? reply.data.doc.error.code : null;
    if (code !== READS) problems.push(`${JSON.stringify(request)} -> ${JSON.stringify(all)}`);
  }
  assert.deepEqual(problems, [], `each request is answered with ${READS} (got a success reply instead)`);
});

test('a grant across organizations gives nothing', T, async () => {
  // gus of globex, granted editor on acme's document by name.
  await h.sql("SELECT collab.grant('r', 'doc', 'user:gus', 'editor')");
  await h.sql("SELECT collab.grant('r', NULL, 'org:acme', 'viewer')"); // every acme user may read the collection
  const before = await h.dbOps('r', 'doc');
  const gus = await rawAs('gus', { org: 'globex' });
  await rawError(gus, { a: 'f', c: 'r', d: 'doc' }, READS);
  await rawError(gus, { a: 's', c: 'r', d: 'doc' }, READS);
  await rawError(gus, { a: 'nf', id: 1, c: 'r', d: 'doc', v: 1 }, READS);
  await rawError(gus, { a: 'op', c: 'r', d: 'doc', v: before.length, seq: 1, op: [0, 'x'] }, WRITES);
  await rawError(gus, { a: 'op', c: 'r', d: 'doc', v: before.length, seq: 2, del: true }, WRITES);
  await rawError(gus, { a: 'ps', ch: 'r.doc', seq: 1 }, READS);
  const docs = await h.httpGet(`${R.httpUrl}/docs/r/doc`, { Authorization: `Bearer ${token('gus', 'globex')}` });
  assert.equal(docs.status, 403, docs.body);
  assert.deepEqual(await h.dbOps('r', 'doc'), before, 'nothing written');

  // A user without an organization, granted by name, is refused too.
  await h.sql("SELECT collab.grant('r', 'doc', 'user:solo', 'editor')");
  const solo = await rawAs('solo', { org: null });
  await rawError(solo, { a: 'f', c: 'r', d: 'doc' }, READS);

  // Controls: the same grants work within the organization, and for globex on globex's document.
  const noah = await rawAs('noah');
  const f = await noah.request({ a: 'f', c: 'r', d: 'doc' });
  assert.equal(f.error, undefined, JSON.stringify(f));
  assert.equal(f.data.data, (await h.dbFetch('r', 'doc')).data, 'org:acme viewer reads');
  await h.sql("SELECT collab.create_doc('r', 'globex-doc', 'text-unicode', '\"g\"', 'globex')");
  await h.sql("SELECT collab.grant('r', 'globex-doc', 'user:gus', 'editor')");
  const g = await gus.request({ a: 'f', c: 'r', d: 'globex-doc' });
  assert.equal(g.data.data, 'g', JSON.stringify(g));
  const ack = await gus.request({ a: 'op', c: 'r', d: 'globex-doc', v: 1, seq: 3, op: [1, '!'] });
  assert.equal(ack.error, undefined, JSON.stringify(ack));
  assert.deepEqual(await h.dbFetch('r', 'globex-doc'), { v: 2, type: h.TEXT_URI, data: 'g!' });
  await rawError(noah, { a: 'f', c: 'r', d: 'globex-doc' }, READS); // org:acme's collection grant stops at globex
});

test('a grant takes effect on open sockets: a denied subscribe then succeeds, without reconnecting', T, async () => {
  await h.sql("SELECT collab.create_doc('g', 'late', 'text-unicode', '\"later\"', 'acme')");
  const conn = await as('lars');
  const doc = conn.get('g', 'late');
  await rejectsWith(h.subscribe(doc), READS, 'subscribe before the grant');
  const raw = await rawAs('lars');
  await rawError(raw, { a: 'ps', ch: 'g.late', seq: 1 }, READS);

  await h.sql("SELECT collab.grant('g', 'late', 'user:lars', 'viewer')");
  await h.subscribe(doc);
  assert.equal(doc.data, 'later');
  let seq = 1;
  await h.waitFor(async () => {
    const reply = await raw.request({ a: 'ps', ch: 'g.late', seq: ++seq });
    if (reply.error && reply.error.code !== READS) throw new Error(JSON.stringify(reply));
    return !reply.error;
  }, 'presence subscribe to succeed after the grant');

  // Viewer: the submit is rejected. Editor (granted now): accepted.
  await h.submitOp(doc, [5, '!']);
  await h.waitFor(() => !doc.hasWritePending(), 'rollback');
  assert.equal(opErrors(conn, 'g', 'late').pop().error.code, WRITES);
  await h.sql("SELECT collab.grant('g', 'late', 'user:lars', 'editor')");
  await h.submitOp(doc, [5, '!']);
  assert.deepEqual(await h.dbFetch('g', 'late'), { v: 2, type: h.TEXT_URI, data: 'later!' });
  await h.assertDocMatchesDb(doc);
  assert.equal(conn.sockets.length, 1, 'the same socket throughout');
  assert.equal(raw.closeInfo, undefined, 'the raw socket is still open');
  h.assertOpStreamContiguous(conn, 'g', 'late');
});

test('a revoke ends open subscriptions on every bridge: an error op message, then no op of that document', T, async () => {
  await h.sql("SELECT collab.create_doc('rv', 'doc', 'text-unicode', '\"abc\"', 'acme')");
  await h.sql("SELECT collab.grant('rv', 'doc', 'user:ed', 'editor')");
  await h.sql("SELECT collab.grant('rv', 'doc', 'user:wat', 'viewer')");
  await h.sql("SELECT collab.grant('rv', 'doc', 'user:wit', 'viewer')");
  const ed = await as('ed', { name: 'ed-rv' });
  const watR = await as('wat', { name: 'wat-r' });
  const watS = await as('wat', { bridge: S, name: 'wat-s' });
  const wit = await as('wit', { bridge: S });
  const edoc = ed.get('rv', 'doc');
  const docs = [watR, watS, wit].map((c) => c.get('rv', 'doc'));
  await Promise.all([edoc, ...docs].map((d) => h.subscribe(d)));
  const presences = [watR, watS, wit].map((c) => c.getDocPresence('rv', 'doc'));
  for (const p of presences) await cb('presence subscribe', (done) => p.subscribe(done));
  const edp = ed.getDocPresence('rv', 'doc');
  await cb('ed presence subscribe', (done) => edp.subscribe(done));
  const cursor = edp.create('ed-cursor');
  await cb('ed cursor', (done) => cursor.submit({ index: 0, length: 1 }, done));
  await h.submitOp(edoc, [3, 'd']);
  for (const d of docs) await h.waitDocVersion(d, 2);
  for (const p of presences) await h.waitFor(() => p.remotePresences['ed-cursor'], 'ed\'s cursor before the revoke');

  await h.sql("SELECT collab.revoke('rv', 'doc', 'user:wat')");
  const ends = [];
  for (const w of [watR, watS]) {
    await h.waitFor(() => w.errors.some((e) => e.code === READS), `${w.e2eName}: the doc's 'error' event (${READS})`);
    const i = w.received.findIndex((m) => m.a === 'op' && m.c === 'rv' && m.d === 'doc' && m.error);
    assert.ok(i >= 0);
    const { socket, ...m } = w.received[i]; // eslint-disable-line no-unused-vars
    assert.deepEqual(Object.keys(m).sort(), ['a', 'c', 'd', 'error'], `the error op message: ${JSON.stringify(m)}`);
    assert.deepEqual([m.a, m.c, m.d, m.error.code], ['op', 'rv', 'doc', READS]);
    assert.equal(typeof m.error.message, 'string');
    ends.push(i);
  }

  // Ed keeps editing and moving the cursor; wit sees it all; wat sees nothing more of the document.
  for (const op of [[4, 'e'], [5, 'f'], [0, '>']]) await h.submitOp(edoc, op);
  await cb('ed cursor moves', (done) => cursor.submit({ index: 2, length: 2 }, done));
  await h.waitDocVersion(docs[2], 5);
  await h.waitFor(() => JSON.stringify(presences[2].remotePresences['ed-cursor']) === '{"index":2,"length":2}',
    'wit sees the moved cursor');
  for (const [k, w] of [watR, watS].entries()) {
    w.ping();
    await h.waitForEvent(w, 'pong', { what: `pong ${w.e2eName}` });
    const later = w.received.slice(ends[k] + 1);
    assert.deepEqual(later.filter((m) => (m.a === 'op' && m.d === 'doc') || m.a === 'p'
      || (m.a === 's' && m.d === 'doc')).map((m) => JSON.stringify(m).slice(0, 200)), [],
    `${w.e2eName}: no op or presence of rv/doc after the error`);
    assert.equal(docs[k].version, 2, `${w.e2eName}: the doc stayed at version 2`);
    assert.notDeepEqual(presences[k].remotePresences['ed-cursor'], { index: 2, length: 2 },
      `${w.e2eName}: ed's cursor did not move for wat`);
  }
  // wat cannot subscribe again; wit still can.
  const raw = await rawAs('wat', { bridge: S });
  await rawError(raw, { a: 's', c: 'rv', d: 'doc' }, READS);
  await rawError(raw, { a: 'ps', ch: 'rv.doc', seq: 1 }, READS);
  assert.deepEqual(await h.dbFetch('rv', 'doc'), { v: 5, type: h.TEXT_URI, data: '>abcdef' });
  await h.assertDocMatchesDb(docs[2]);
  h.assertNoClientErrors([ed, wit]);
  for (const w of [watR, watS]) {
    assert.deepEqual(w.errors.map((e) => e.code), [READS], `${w.e2eName}: one error event`);
  }
});

test('client ids are bound to users: another user\'s src is rejected, proposing it at handshake gets a new id', T, async () => {
  await h.sql("SELECT collab.create_doc('ids', 'doc', 'text-unicode', '\"\"', 'acme')");
  await h.sql("SELECT collab.grant('ids', NULL, 'org:acme', 'editor')");
  const sam = await rawAs('sam');
  const samId = sam.id;
  const tom = await rawAs('tom', { id: samId });
  assert.notEqual(tom.id, samId, 'tom proposing sam\'s id gets another');
  const samAgain = await rawAs('sam', { id: samId });
  assert.equal(samAgain.id, samId, 'sam gets his id back (control)');
  const tomOnS = await rawAs('tom', { bridge: S, id: samId });
  assert.notEqual(tomOnS.id, samId, 'also on another bridge');

  const before = await h.dbOps('ids', 'doc');
  await rawError(tom, { a: 'op', c: 'ids', d: 'doc', v: 1, src: samId, seq: 1, op: ['forged'] }, WRITES);
  await rawError(tomOnS, { a: 'op', c: 'ids', d: 'doc', v: 1, src: samId, seq: 2, op: ['forged'] }, WRITES);
  assert.deepEqual(await h.dbOps('ids', 'doc'), before, 'nothing stored');

  // Controls: tom's own id from another of his sockets is accepted, so is sam's on sam's socket.
  const tom2 = await rawAs('tom');
  const ack = await tom2.request({ a: 'op', c: 'ids', d: 'doc', v: 1, src: tom.id, seq: 1, op: ['t'] });
  assert.equal(ack.error, undefined, JSON.stringify(ack));
  const ack2 = await sam.request({ a: 'op', c: 'ids', d: 'doc', v: 2, src: samId, seq: 1, op: ['s'] });
  assert.equal(ack2.error, undefined, JSON.stringify(ack2));
  const ops = await h.dbOps('ids', 'doc', 1);
  assert.deepEqual(ops.map((o) => [o.src, o.seq]), [[tom.id, 1], [samId, 1]]);
  assert.equal((await h.dbFetch('ids', 'doc')).data, 'st');
});

test('GET /docs/<c>/<id>: 401 without a token, 403 without the right, 200 with it', T, async () => {
  const url = `${R.httpUrl}/docs/r/doc`;
  const none = await h.httpGet(url);
  assert.equal(none.status, 401, none.body);
  assert.match(none.body, /token_missing/);
  const bad = await h.httpGet(url, { Authorization: 'Bearer not.a.token' });
  assert.equal(bad.status, 401, bad.body);
  const other = await h.httpGet(`${R.httpUrl}/docs/g/late`, { Authorization: `Bearer ${token('zoe')}` });
  assert.equal(other.status, 403, `zoe, no right on g/late: ${other.body}`);
  assert.ok(!other.body.includes('later'));
  const db = await h.dbFetch('r', 'doc');
  for (const headers of [{ Authorization: `Bearer ${token('viv')}` }, { Cookie: `collab_access=${token('viv')}` }]) {
    const ok = await h.httpGet(url, headers);
    assert.equal(ok.status, 200, ok.body);
    assert.deepEqual(JSON.parse(ok.body), { v: db.v, type: db.type, data: db.data });
  }
  const viewerElsewhere = await h.httpGet(`${R.httpUrl}/docs/g/late`, { Authorization: `Bearer ${token('viv')}` });
  assert.equal(viewerElsewhere.status, 403, 'viv may read r/doc only');
});

test('GET /api/me and /api/documents (the web editor\'s list): 401 without a token, only readable documents', T, async () => {
  await h.sql("SELECT collab.create_doc('list', 'mine', 'text-unicode', '\"a\"', 'acme')");
  await h.sql("SELECT collab.create_doc('list', 'theirs', 'text-unicode', '\"b\"', 'acme')");
  await h.sql("SELECT collab.create_doc('list', 'json', 'json0', '{}', 'acme')");
  await h.sql("SELECT collab.grant('list', 'mine', 'user:lea', 'editor')");
  await h.sql("SELECT collab.grant('list', 'json', 'user:lea', 'viewer')");
  const auth = { Authorization: `Bearer ${token('lea')}` };

  const none = await h.httpGet(`${R.httpUrl}/api/me`);
  assert.equal(none.status, 401, none.body);
  assert.equal(none.headers['cache-control'], 'no-cache');
  const me = await h.httpGet(`${R.httpUrl}/api/me`, auth);
  assert.equal(me.status, 200, me.body);
  assert.equal(me.headers['cache-control'], 'no-cache');
  const who = JSON.parse(me.body);
  assert.equal(who.user, 'lea');
  assert.equal(who.org, 'acme');
  assert.ok(who.expires_at > Date.now() / 1000);

  assert.equal((await h.httpGet(`${R.httpUrl}/api/documents?collection=list`)).status, 401);
  const list = await h.httpGet(`${R.httpUrl}/api/documents?collection=list`, auth);
  assert.equal(list.status, 200, list.body);
  assert.equal(list.headers['cache-control'], 'no-cache');
  const body = JSON.parse(list.body);
  assert.equal(body.collection, 'list');
  assert.deepEqual(body.documents.map((d) => [d.id, d.type, d.version]).sort(),
    [['json', h.JSON0_URI, 1], ['mine', h.TEXT_URI, 1]]);
  for (const d of body.documents) assert.ok(!Number.isNaN(Date.parse(d.updated_at)), d.updated_at);
  // Another organization's user sees nothing, even with a collection-wide grant.
  await h.sql("SELECT collab.grant('list', NULL, 'user:gus', 'owner')");
  const gus = await h.httpGet(`${R.httpUrl}/api/documents?collection=list`, { Authorization: `Bearer ${token('gus', 'globex')}` });
  assert.deepEqual(JSON.parse(gus.body).documents, []);
  const missing = await h.httpGet(`${R.httpUrl}/api/documents`, auth);
  assert.equal(missing.status, 400, missing.body);
  const notUtf8 = await h.httpGet(`${R.httpUrl}/api/documents?collection=%ff%fe`, auth);
  assert.equal(notUtf8.status, 400, notUtf8.body);
  assert.equal((await h.httpGet(`${R.httpUrl}/api/nothing`, auth)).status, 404);
});
