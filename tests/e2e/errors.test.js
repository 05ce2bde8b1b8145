'use strict';
// Every malformed or invalid message gets its error reply and changes nothing. On a raw `ws` socket: bad JSON,
// non-object JSON, unknown actions, missing fields, wrong field types, ops invalid for the document, versions in the
// future, creates of existing documents, unknown types, queries; then frames: binary (error reply), too large (close
// 1009, also when fragmented), invalid UTF-8 (close 1007); and the per-socket subscription limit. An error reply
// echoes the request with error: {code, message} (ShareDB's codes; docs/bridge.md, docs/errors.md), it is the only
// reply, the socket stays usable, and the op-log is unchanged.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

const T = { timeout: 60000 };
let A;
let L;
let raw;
let seq = 0;

before(async () => {
  await h.setupDatabase();
  [A, L] = await Promise.all([h.startBridge('a'), h.startBridge('limits', ['--max-subscriptions', '3'])]);
  await h.sql("SELECT collab.create_doc('err', 'doc', 'text-unicode', '\"hello\"')");
  raw = await h.rawSocket(A.url);
});
after(() => h.cleanup());

const totalOps = async () => Number((await h.sql('SELECT count(*) AS n FROM collab.ops'))[0].n);
const totalDocs = async () => Number((await h.sql('SELECT count(*) AS n FROM collab.documents WHERE type IS NOT NULL'))[0].n);

const BADLY = 'ERR_MESSAGE_BADLY_FORMED';
const OP_BADLY = 'ERR_OT_OP_BADLY_FORMED';

// Sends `request` (an object, or a string sent as is) and checks the one reply: an error with one of `codes`, echoing
// the request when it was a JSON object; nothing else is sent; nothing is committed.
async function expectError(request, codes, { echo = typeof request === 'object' } = {}) {
  codes = [].concat(codes);
  const opsBefore = await totalOps();
  const docsBefore = await totalDocs();
  const text = typeof request === 'string' ? request : JSON.stringify(request);
  raw.send(text);
  const reply = await raw.next({ what: `the reply to ${text.slice(0, 200)}` });
  const label = `reply to ${text.slice(0, 200)}: ${JSON.stringify(reply).slice(0, 300)}`;
  assert.ok(reply && typeof reply === 'object' && reply.error, `${label}: an error reply`);
  assert.ok(codes.includes(reply.error.code), `${label}: code is one of ${codes.join(', ')}`);
  assert.equal(typeof reply.error.message, 'string', `${label}: has a message`);
  assert.ok(reply.error.message.length > 0, `${label}: the message is not empty`);
  if (echo) {
    const { error, ...rest } = reply;
    assert.deepEqual(rest, request, `${label}: echoes the request`);
  }
  assert.deepEqual(await raw.sync(), [], `${label}: no other message`);
  assert.equal(await totalOps(), opsBefore, `${label}: the op-log is unchanged`);
  assert.equal(await totalDocs(), docsBefore, `${label}: no document was created or deleted`);
  return reply;
}

const op = (fields) => ({ a: 'op', c: 'err', d: 'doc', v: 1, seq: ++seq, x: {}, ...fields });

test('not JSON, not an object', T, async () => {
  for (const text of ['this is not json', '{"a": "f", "c": "err"', '[1, 2, 3]', '42', '"hs"', 'null', 'true', '']) {
    await expectError(text, BADLY, { echo: false });
  }
});

test('unknown or missing action', T, async () => {
  await expectError({}, BADLY);
  await expectError({ a: 'zz' }, BADLY);
  await expectError({ a: 5, c: 'err', d: 'doc' }, BADLY);
  await expectError({ a: null, c: 'err', d: 'doc' }, BADLY);
  await expectError({ a: ['f'], c: 'err', d: 'doc' }, BADLY);
});

test('missing fields and wrong field types', T, async () => {
  await expectError({ a: 'f', c: 'err' }, BADLY);
  await expectError({ a: 'f', d: 'doc' }, BADLY);
  await expectError({ a: 's', c: 'err', d: 7 }, BADLY);
  await expectError({ a: 's', c: ['err'], d: 'doc' }, BADLY);
  await expectError({ a: 'f', c: 'err', d: 'doc', v: '1' }, BADLY);
  await expectError({ a: 'f', c: 'err', d: 'doc', v: -1 }, BADLY);
  await expectError({ a: 'u', c: 'err' }, BADLY);
  await expectError({ a: 'bf', c: 'err' }, BADLY);
  await expectError({ a: 'bs', c: 'err', b: 'doc' }, BADLY);
  await expectError({ a: 'bs', c: 'err', b: [1, 2] }, BADLY);
  await expectError({ a: 'bs', c: 'err', b: { doc: 'one' } }, BADLY);
  await expectError({ a: 'nf', id: 1, c: 'err' }, BADLY);
  await expectError({ a: 'nt', id: 2, c: 'err', d: 'doc', ts: 'yesterday' }, BADLY);
  await expectError({ a: 'ps', seq: 1 }, BADLY);
  await expectError({ a: 'p', ch: 5, id: 'x', p: {}, pv: 0 }, BADLY);
  // op: fields of the message
  await expectError(op({ seq: 'one', op: [5, '!'] }), BADLY);
  await expectError(op({ v: '1', op: [5, '!'] }), BADLY);
  await expectError(op({ v: -3, op: [5, '!'] }), BADLY);
  await expectError(op({ c: 42, op: [5, '!'] }), BADLY);
  await expectError(op({ src: 5, op: [5, '!'] }), [BADLY, OP_BADLY]);
  // op: what to do is missing or malformed (ShareDB says ERR_OT_OP_BADLY_FORMED, or ERR_OT_OP_NOT_PROVIDED for a
  // missing op; docs/bridge.md, for missing or mistyped fields, ERR_MESSAGE_BADLY_FORMED: any of those is right)
  await expectError(op({}), [BADLY, OP_BADLY, 'ERR_OT_OP_NOT_PROVIDED']);
  await expectError(op({ del: 'yes' }), [BADLY, OP_BADLY]);
  await expectError(op({ create: 'text' }), [BADLY, OP_BADLY]);
  await expectError(op({ create: { data: 'x' } }), [BADLY, OP_BADLY]);
  await expectError(op({ op: 'insert x' }), [BADLY, OP_BADLY]);
  await expectError(op({ op: { p: [0] } }), [BADLY, OP_BADLY]);
  // src and seq go together
  await expectError({ a: 'op', c: 'err', d: 'doc', v: 1, src: raw.id, op: [5, '!'] }, [BADLY, OP_BADLY]);
  await expectError(op({ seq: 2 ** 53, op: [5, '!'] }), ['ERR_CONNECTION_SEQ_INTEGER_OVERFLOW', BADLY]);
});

test('ops that do not fit the document, and versions in the future', T, async () => {
  await expectError(op({ op: [100, 'x'] }), 'ERR_OT_OP_NOT_APPLIED'); // skip past the end
  await expectError(op({ op: [{ d: 100 }] }), 'ERR_OT_OP_NOT_APPLIED'); // delete past the end
  await expectError(op({ op: [{ d: 'xyz' }] }), 'ERR_OT_OP_NOT_APPLIED'); // deleted text differs
  await expectError(op({ op: [{ bogus: 1 }] }), OP_BADLY);
  await expectError(op({ op: [2, 'x', 1] }), OP_BADLY); // trailing skip
  await expectError(op({ op: [1, 1, 'x'] }), OP_BADLY); // adjacent skips
  await expectError(op({ op: [-1, 'x'] }), OP_BADLY);
  await expectError(op({ op: [1.5, 'x'] }), OP_BADLY);
  await expectError(op({ op: [''] }), OP_BADLY);
  // Lone surrogate / NUL: rejected as text by pg_collab, or as JSON by the bridge's parser.
  await expectError('{"a":"op","c":"err","d":"doc","v":1,"seq":' + (++seq) + ',"op":[5,"\\ud800"]}', [OP_BADLY, BADLY], { echo: false });
  await expectError('{"a":"op","c":"err","d":"doc","v":1,"seq":' + (++seq) + ',"op":[5,"a\\u0000b"]}', [OP_BADLY, BADLY], { echo: false });
  // The future
  await expectError(op({ v: 99, op: [5, '!'] }), 'ERR_OP_VERSION_NEWER_THAN_CURRENT_SNAPSHOT');
  await expectError({ a: 'nf', id: 7, c: 'err', d: 'doc', v: 99 }, 'ERR_OP_VERSION_NEWER_THAN_CURRENT_SNAPSHOT');
  // Edits of a document that does not exist
  await expectError(op({ d: 'missing', v: 0, op: ['x'] }), 'ERR_DOC_DOES_NOT_EXIST');
  await expectError(op({ d: 'missing', v: null, op: ['x'] }), 'ERR_DOC_DOES_NOT_EXIST');
  // A src the system never issued
  const forged = await expectError(op({ src: 'forged-src', op: [5, '!'] }), [BADLY, OP_BADLY, 'ERR_OP_SUBMIT_REJECTED', 'ERR_UNKNOWN_ERROR']);
  assert.ok(forged.error);
});

test('json0: ops that do not fit the document are refused and change nothing', T, async () => {
  await h.sql("SELECT collab.create_doc('err', 'json', 'json0', '{\"l\": [1], \"o\": {\"a\": 1}, \"s\": \"xyz\"}')");
  const jop = (o) => op({ d: 'json', v: 1, op: o });
  const NOT_APPLIED = 'ERR_OT_OP_NOT_APPLIED';
  await expectError(jop([{ p: ['missing', 'x'], oi: 1 }]), NOT_APPLIED); // a path into a missing key
  await expectError(jop([{ p: ['l', 5], ld: 1 }]), NOT_APPLIED); // an index out of range
  await expectError(jop([{ p: ['l', 'k'], oi: 1 }]), NOT_APPLIED); // a key into a list
  await expectError(jop([{ p: ['o', 0], li: 1 }]), NOT_APPLIED); // an index into an object
  await expectError(jop([{ p: ['l', 0], ld: 2 }]), NOT_APPLIED); // ld does not match
  await expectError(jop([{ p: ['o', 'a'], od: 2 }]), NOT_APPLIED); // od does not match
  await expectError(jop([{ p: ['s', 1], sd: 'q' }]), NOT_APPLIED); // sd does not match
  await expectError(jop([{ p: ['o', 'a'], na: 1 }, { p: ['s'], na: 1 }]), NOT_APPLIED); // na on a string, after a good one
  await expectError(jop([{ p: ['s'], t: 'rich-text', o: [] }]), OP_BADLY); // an unknown subtype
  await expectError(jop([{ p: ['s'] }]), OP_BADLY); // no instruction
  await expectError(jop({ p: ['s'], na: 1 }), OP_BADLY); // not an array
  assert.deepEqual((await h.dbFetch('err', 'json')).data, { l: [1], o: { a: 1 }, s: 'xyz' });
});

test('creates: existing document, unknown type, bad data', T, async () => {
  await expectError(op({ v: null, create: { type: h.TEXT_URI, data: 'again' } }), 'ERR_DOC_ALREADY_CREATED');
  await expectError(op({ v: 0, create: { type: 'text-unicode', data: 'again' } }), 'ERR_DOC_ALREADY_CREATED');
  await expectError(op({ v: 1, create: { type: h.TEXT_URI, data: 'again' } }), 'ERR_DOC_ALREADY_CREATED');
  await expectError(op({ d: 'new', v: 0, create: { type: 'no-such-type', data: '' } }), 'ERR_DOC_TYPE_NOT_RECOGNIZED');
  await expectError(op({ d: 'new', v: 0, create: { type: h.TEXT_URI, data: 5 } }), OP_BADLY);
  // The stock client gets the same error for a create of an existing doc it did not load.
  const conn = await h.connected(A.url, { name: 'creator' });
  const doc = conn.get('err', 'doc'); // not fetched: the create goes out with v null
  await assert.rejects(h.create(doc, 'mine'), (err) => err.code === 'ERR_DOC_ALREADY_CREATED');
  assert.equal((await h.dbFetch('err', 'doc')).data, 'hello');
});

test('queries are not implemented', T, async () => {
  await expectError({ a: 'qf', id: 1, c: 'err', q: {} }, 'ERR_DATABASE_METHOD_NOT_IMPLEMENTED');
  await expectError({ a: 'qs', id: 2, c: 'err', q: { x: 1 } }, 'ERR_DATABASE_METHOD_NOT_IMPLEMENTED');
  // qu: docs/bridge.md lists it with qf and qs; the stock client ignores any reply to it. Either an error or a plain
  // {a:'qu', id} reply is fine, as long as it is the only reply and echoes the id.
  const qu = await raw.request({ a: 'qu', id: 2 });
  assert.equal(qu.a, 'qu');
  assert.equal(qu.id, 2);
  if (qu.error) assert.equal(qu.error.code, 'ERR_DATABASE_METHOD_NOT_IMPLEMENTED');
  assert.deepEqual(await raw.sync(), []);
  const conn = await h.connected(A.url, { name: 'querier' });
  const err = await h.withCallback('createFetchQuery', (cb) => conn.createFetchQuery('err', {}, {}, cb)).catch((e) => e);
  assert.equal(err.code, 'ERR_DATABASE_METHOD_NOT_IMPLEMENTED');
});

test('a binary frame gets ERR_MESSAGE_BADLY_FORMED', T, async () => {
  const opsBefore = await totalOps();
  raw.ws.send(Buffer.from(JSON.stringify({ a: 'f', c: 'err', d: 'doc' })), { binary: true });
  const reply = await raw.next({ what: 'the reply to a binary frame' });
  assert.equal(reply.error && reply.error.code, BADLY, JSON.stringify(reply));
  assert.deepEqual(await raw.sync(), []);
  assert.equal(await totalOps(), opsBefore);
});

test('after all that, the socket still works', T, async () => {
  const ack = await raw.request(op({ op: [5, '!'] }));
  assert.deepEqual(ack, { a: 'op', c: 'err', d: 'doc', src: raw.id, seq, v: 1 });
  assert.deepEqual(await h.dbFetch('err', 'doc'), { v: 2, type: h.TEXT_URI, data: 'hello!' });
  assert.deepEqual((await h.dbOps('err', 'doc')).map((o) => o.v), [0, 1]);
});

test('a message over --max-message-bytes closes the socket with 1009 (also when fragmented)', T, async () => {
  const opsBefore = await totalOps();
  const big = await h.rawSocket(A.url);
  big.send(JSON.stringify({ a: 'op', c: 'err', d: 'doc', v: 2, seq: 1, op: [6, 'x'.repeat((1 << 20) + 10)] }));
  assert.equal((await big.closed).code, 1009);

  const frag = await h.rawSocket(A.url);
  const text = JSON.stringify({ a: 'op', c: 'err', d: 'doc', v: 2, seq: 1, op: [6, 'y'.repeat(1200 * 1024)] });
  const half = text.length >> 1; // each fragment under the limit, together over it
  frag.ws.send(text.slice(0, half), { fin: false });
  frag.ws.send(text.slice(half), { fin: true });
  assert.equal((await frag.closed).code, 1009);
  assert.equal(await totalOps(), opsBefore, 'nothing committed');

  // A message under the limit, in fragments, is reassembled and works.
  const ok = await h.rawSocket(A.url);
  const small = JSON.stringify({ a: 'op', c: 'err', d: 'doc', v: 2, seq: 1, op: [6, 'z'.repeat(300 * 1024)] });
  const third = Math.floor(small.length / 3);
  ok.ws.send(small.slice(0, third), { fin: false });
  ok.ws.send(small.slice(third, 2 * third), { fin: false });
  ok.ws.send(small.slice(2 * third), { fin: true });
  const ack = await ok.next({ what: 'the ack of a fragmented op' });
  assert.deepEqual(ack, { a: 'op', c: 'err', d: 'doc', src: ok.id, seq: 1, v: 2 });
  assert.equal((await h.dbFetch('err', 'doc')).data, `hello!${'z'.repeat(300 * 1024)}`);
  assert.equal(await h.httpStatus(`${A.httpUrl}/readyz`), 200);
});

test('invalid UTF-8 in a text frame closes the socket with 1007', T, async () => {
  const s = await h.rawSocket(A.url);
  s.ws.send(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), { binary: false });
  assert.equal((await s.closed).code, 1007);
});

test('--max-subscriptions: one more subscribe gets ERR_TOO_MANY_SUBSCRIPTIONS', T, async () => {
  for (const id of ['s1', 's2', 's3', 's4']) await h.sql("SELECT collab.create_doc('lim', $1, 'text-unicode', '\"\"')", [id]);
  const s = await h.rawSocket(L.url);
  for (const id of ['s1', 's2', 's3']) {
    const reply = await s.request({ a: 's', c: 'lim', d: id });
    assert.equal(reply.error, undefined, JSON.stringify(reply));
  }
  const request = { a: 's', c: 'lim', d: 's4' };
  const reply = await s.request(request);
  assert.equal(reply.error && reply.error.code, 'ERR_TOO_MANY_SUBSCRIPTIONS', JSON.stringify(reply));
  const { error, ...rest } = reply;
  assert.deepEqual(rest, request);
  // Unsubscribing one makes room.
  await s.request({ a: 'u', c: 'lim', d: 's1' });
  const again = await s.request(request);
  assert.equal(again.error, undefined, JSON.stringify(again));
  // Subscribed docs still get ops; the refused one did not.
  await h.sql("SELECT * FROM collab.submit('lim', 's4', NULL, '[\"x\"]')");
  const live = await s.next({ filter: (m) => m.a === 'op' });
  assert.deepEqual([live.d, live.v, live.op], ['s4', 1, ['x']]);
});
