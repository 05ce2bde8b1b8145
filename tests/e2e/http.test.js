'use strict';
// HTTP on the bridge's port: /healthz, /readyz, /metrics (Prometheus text with the documented metrics, counting
// this test's connections, subscriptions, ops and errors) and GET /docs/<collection>/<id> (the snapshot, ETag =
// version, Cache-Control: no-cache, If-None-Match -> 304). /readyz during an outage and during drain: pgrestart and
// drain tests.

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

test('/healthz and /readyz answer 200; an unknown path 404', T, async () => {
  assert.equal((await h.httpGet(`${A.httpUrl}/healthz`)).status, 200);
  assert.equal((await h.httpGet(`${A.httpUrl}/readyz`)).status, 200);
  assert.equal((await h.httpGet(`${A.httpUrl}/no-such-path`)).status, 404);
});

// Metric families by what docs/bridge.md says /metrics has. Names are matched loosely (any prefix).
const FAMILIES = {
  connections: (s) => /(^|_)connections$/.test(s.name),
  subscriptions: (s) => /(^|_)subscriptions$/.test(s.name),
  opsCommitted: (s) => /(^|_)ops_committed(_total)?$/.test(s.name),
  batchSizeCount: (s) => /batch_size[a-z_]*_count$/.test(s.name),
  batchSizeSum: (s) => /batch_size[a-z_]*_sum$/.test(s.name),
  batchSizeBucket: (s) => /batch_size[a-z_]*_bucket$/.test(s.name),
  commitSecondsCount: (s) => /commit[a-z_]*seconds_count$/.test(s.name),
  commitSecondsBucket: (s) => /commit[a-z_]*seconds_bucket$/.test(s.name),
  fanoutSecondsCount: (s) => /fan_?out[a-z_]*seconds_count$/.test(s.name),
  fanoutSecondsBucket: (s) => /fan_?out[a-z_]*seconds_bucket$/.test(s.name),
};

async function metrics() {
  const res = await h.httpGet(`${A.httpUrl}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'] || '', /^text\/plain/);
  const samples = h.parseMetrics(res.body);
  const value = (family) => {
    const found = samples.filter(FAMILIES[family]);
    assert.equal(found.length >= 1, true, `/metrics has ${family}:\n${res.body}`);
    if (family.endsWith('Bucket')) return found.length;
    assert.equal(found.length, 1, `/metrics has one ${family} sample`);
    return found[0].value;
  };
  const errors = (code) => samples.filter((s) => s.labels.code === code && /error/.test(s.name))
    .reduce((a, s) => a + s.value, 0);
  return { value, errors, body: res.body };
}

test('/metrics: Prometheus text with the documented metrics, counting connections, ops and errors', T, async () => {
  const m0 = await metrics();
  for (const family of Object.keys(FAMILIES)) m0.value(family); // all present
  assert.equal(m0.value('connections'), 0, 'no socket is open yet');
  assert.equal(m0.value('subscriptions'), 0);

  await h.sql("SELECT collab.create_doc('metrics', 'm', 'text-unicode', '\"\"')");
  const writer = await h.connected(A.url, { name: 'metrics-writer' });
  const reader = await h.connected(A.url, { name: 'metrics-reader' });
  const wdoc = writer.get('metrics', 'm');
  const rdoc = reader.get('metrics', 'm');
  await h.subscribe(wdoc);
  await h.subscribe(rdoc);
  const ops = 5;
  for (let i = 0; i < ops; i++) await h.submitOp(wdoc, [i, String(i)]);
  await h.waitDocVersion(rdoc, 1 + ops);
  const raw = await h.rawSocket(A.url);
  const bad = await raw.request({ a: 'no-such-action' });
  assert.equal(bad.error.code, 'ERR_MESSAGE_BADLY_FORMED');
  const notFound = await raw.request({ a: 'qf', id: 1, c: 'metrics', q: {} });
  assert.equal(notFound.error.code, 'ERR_DATABASE_METHOD_NOT_IMPLEMENTED');

  const m1 = await metrics();
  assert.equal(m1.value('connections'), 3, 'three sockets are open');
  assert.equal(m1.value('subscriptions'), 2, 'two subscriptions');
  assert.equal(m1.value('opsCommitted') - m0.value('opsCommitted'), ops, 'ops committed counts our ops');
  assert.equal(m1.value('batchSizeSum') - m0.value('batchSizeSum'), ops, 'the batch sizes add up to our ops');
  const batches = m1.value('batchSizeCount') - m0.value('batchSizeCount');
  assert.ok(batches >= 1 && batches <= ops, `batches: ${batches}`);
  assert.ok(m1.value('commitSecondsCount') > m0.value('commitSecondsCount'), 'commit latency observed');
  assert.ok(m1.value('fanoutSecondsCount') > m0.value('fanoutSecondsCount'), 'fan-out latency observed');
  assert.equal(m1.errors('ERR_MESSAGE_BADLY_FORMED') - m0.errors('ERR_MESSAGE_BADLY_FORMED'), 1, 'errors by code');
  assert.equal(m1.errors('ERR_DATABASE_METHOD_NOT_IMPLEMENTED') - m0.errors('ERR_DATABASE_METHOD_NOT_IMPLEMENTED'), 1);

  await h.unsubscribe(rdoc);
  raw.close();
  await h.waitFor(async () => {
    const m = await metrics();
    return m.value('connections') === 2 && m.value('subscriptions') === 1;
  }, 'connections 2 and subscriptions 1 after a close and an unsubscribe');
});

test('GET /docs/<c>/<id>: snapshot JSON, ETag = version, no-cache, If-None-Match -> 304', T, async () => {
  const id = 'a b ü 😀';
  await h.sql("SELECT collab.create_doc('http', $1, 'text-unicode', '\"cached?\"')", [id]);
  const url = `${A.httpUrl}/docs/http/${encodeURIComponent(id)}`;
  const r1 = await h.httpGet(url);
  assert.equal(r1.status, 200);
  assert.deepEqual(JSON.parse(r1.body), { v: 1, type: h.TEXT_URI, data: 'cached?' });
  assert.equal(r1.headers.etag, '"1"');
  assert.match(r1.headers['cache-control'] || '', /(^|,\s*)no-cache(\s*,|$)/);
  assert.match(r1.headers['content-type'] || '', /^application\/json/);

  const r2 = await h.httpGet(url, { 'If-None-Match': '"1"' });
  assert.equal(r2.status, 304);
  assert.equal(r2.body, '');
  assert.equal(r2.headers.etag, '"1"');
  assert.match(r2.headers['cache-control'] || '', /no-cache/);

  const r3 = await h.httpGet(url, { 'If-None-Match': '"0"' });
  assert.equal(r3.status, 200, 'another ETag: the full answer');

  await h.sql("SELECT * FROM collab.submit('http', $1, 1, '[6, \" no!\"]')", [id]);
  const r4 = await h.httpGet(url, { 'If-None-Match': '"1"' });
  assert.equal(r4.status, 200, 'the document moved on: the old ETag no longer matches');
  assert.equal(r4.headers.etag, '"2"');
  assert.deepEqual(JSON.parse(r4.body), { v: 2, type: h.TEXT_URI, data: 'cached no!?' });
  assert.deepEqual(JSON.parse(r4.body), await h.dbFetch('http', id));
  const r5 = await h.httpGet(url, { 'If-None-Match': '"1", "2"' });
  assert.equal(r5.status, 304, 'a list of ETags that includes the current one');
});

test('--web-root: static files with their content types; hashed names cached for a year, the rest no-cache', T, async () => {
  const fs = require('fs');
  const os = require('os');
  const path = require('path');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'collab-web-'));
  fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>pg_collab</title>');
  fs.writeFileSync(path.join(root, 'app-3F2A9C1B.js'), 'console.log(1);');
  fs.writeFileSync(path.join(root, 'app-3F2A9C1B.css'), 'body{}');
  fs.mkdirSync(path.join(root, 'img'));
  fs.writeFileSync(path.join(root, 'img', 'logo.svg'), '<svg/>');
  fs.writeFileSync(path.join(root, '.secret'), 'no');
  const W = await h.startBridge('web', ['--web-root', root]);
  const expect = async (p, status, type, cache) => {
    const r = await h.httpGet(`${W.httpUrl}${p}`);
    assert.equal(r.status, status, `${p}: ${r.body}`);
    if (type) assert.equal(r.headers['content-type'], type, p);
    if (cache) assert.equal(r.headers['cache-control'], cache, p);
    return r;
  };
  const index = await expect('/', 200, 'text/html; charset=utf-8', 'no-cache');
  assert.equal(index.body, '<!doctype html><title>pg_collab</title>');
  await expect('/index.html', 200, 'text/html; charset=utf-8', 'no-cache');
  const js = await expect('/app-3F2A9C1B.js', 200, 'text/javascript; charset=utf-8', 'public, max-age=31536000, immutable');
  assert.equal(js.body, 'console.log(1);');
  await expect('/app-3F2A9C1B.css', 200, 'text/css; charset=utf-8', 'public, max-age=31536000, immutable');
  await expect('/img/logo.svg', 200, 'image/svg+xml', 'no-cache');
  await expect('/.secret', 404);
  await expect('/img/', 404);
  await expect('/missing.js', 404, null, 'no-cache');
  // The API and health endpoints keep their meaning.
  await expect('/healthz', 200, null, 'no-cache');
  await expect('/metrics', 200, null, 'no-cache');
  await expect('/api/me', 200); // --insecure-no-auth: user anonymous
  // Without --web-root nothing is served.
  assert.equal((await h.httpGet(`${A.httpUrl}/`)).status, 404);
  // A missing directory or one without index.html stops the bridge at start, saying why.
  const { execFile } = require('node:child_process');
  for (const [bad, why] of [[path.join(root, 'nope'), 'is not a directory'], [path.join(root, 'img'), 'has no index.html']]) {
    const run = await new Promise((resolve) => execFile(h.BRIDGE_BIN, ['--port', '1', '--web-root', bad],
      { timeout: 20000 }, (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stderr })));
    assert.equal(run.code, 2, run.stderr); // a bad flag value
    assert.match(run.stderr, new RegExp(`--web-root: '${bad}' ${why} \\(build the web editor with make web\\)`));
  }
  fs.rmSync(root, { recursive: true, force: true });
});
