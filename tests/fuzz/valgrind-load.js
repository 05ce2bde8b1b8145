#!/usr/bin/env node
// The load of scripts/valgrind-bridge.sh: one bridge (COLLAB_BRIDGE_BIN, here a wrapper that runs it under
// valgrind), stock sharedb clients editing text-unicode and json0 documents for VALGRIND_LOAD_SECONDS (default 20),
// presence, fetches, bad messages and GET /docs on the way; then SIGTERM (graceful drain) and the bridge's exit.
// Uses the e2e harness (tests/e2e/harness.js): database E2E_DATABASE (the script sets it), --insecure-no-auth.
// Prints `bridge exit: code C signal S` and exits with the bridge's exit code (valgrind's --error-exitcode on errors).
'use strict';
const path = require('path');
const assert = require('node:assert/strict');
const h = require(path.join(__dirname, '..', 'e2e', 'harness.js'));

const SECONDS = Number(process.env.VALGRIND_LOAD_SECONDS || 20);
const CLIENTS = Number(process.env.VALGRIND_CLIENTS || 4);

function json0Edit(r, data) {
  const n = Array.isArray(data.list) ? data.list.length : 0;
  const k = r();
  if (k < 0.3 || n === 0) return [{ p: ['list', n === 0 ? 0 : r.int(n + 1)], li: { v: r.int(1000), s: 'ü😀' } }];
  if (k < 0.5) { const i = r.int(n); return [{ p: ['list', i], ld: data.list[i] }]; }
  if (k < 0.7) return [{ p: ['count'], na: 1 + r.int(5) }];
  const t = data.title || '';
  return [{ p: ['title', r.int(t.length + 1)], si: 'xé' }];
}

async function main() {
  const t0 = Date.now();
  await h.setupDatabase();
  const bridge = await h.startBridge('valgrind', (process.env.VALGRIND_BRIDGE_ARGS || '').split(' ').filter(Boolean));
  let round = 0;
  let acked = 0;
  while (Date.now() - t0 < SECONDS * 1000) {
    const d = `vg-${round}`;
    await h.sql('SELECT collab.create_doc($1, $2, $3, $4::jsonb)', ['notes', d, 'text-unicode', JSON.stringify('start 🚀 开始')]);
    await h.sql('SELECT collab.create_doc($1, $2, $3, $4::jsonb)', ['notes', `${d}-j`, 'json0',
      JSON.stringify({ title: 'hello', list: [], count: 0 })]);
    const urls = Array(CLIENTS).fill(bridge.url);
    const [text, json] = await Promise.all([
      h.editConcurrently('notes', d, urls, { rounds: 40, seed: 1000 + round, makeOp: h.randomEdit }),
      h.editConcurrently('notes', `${d}-j`, urls.slice(0, 2), { rounds: 30, seed: 2000 + round, makeOp: json0Edit }),
    ]);
    acked += text.ackCount + json.ackCount;
    // A few other requests: malformed messages, presence, an HTTP snapshot, a bulk fetch.
    const raw = await h.rawSocket(bridge.url);
    for (const m of ['not json', '[1]', '{"a":"zz"}', '{"a":"op","c":"notes","d":"x","op":[{"bad":1}]}',
      '{"a":"f","c":"notes","d":"' + d + '"}', '{"a":"bf","c":"notes","b":["' + d + '","missing"]}',
      '{"a":"ps","ch":"room","seq":1}', '{"a":"p","ch":"room","id":"me","p":{"x":1},"pv":1,"seq":2}']) raw.send(m);
    await h.sleep(200);
    raw.close();
    assert.equal(await h.httpStatus(`${bridge.httpUrl}/docs/notes/${d}`), 200);
    for (const conn of [...text.conns, ...json.conns]) conn.close();
    round++;
  }
  console.log(`valgrind-load: ${round} rounds, ${acked} acked ops in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const exit = await bridge.kill('SIGTERM');
  console.log(`bridge exit: code ${exit.code} signal ${exit.signal}`);
  await h.cleanup();
  process.exit(exit.code === null ? 1 : exit.code);
}

main().catch((e) => {
  console.error(`valgrind-load: ${e.stack}`);
  process.exit(1);
});
