'use strict';
// Authentication on bridges started without --insecure-no-auth ({secure: true}): access tokens from the collab_access
// cookie or an Authorization: Bearer header (POST /auth/cookie puts a token into the cookie); bad tokens refused with 401 at the
// upgrade (nothing read, nothing written); a token in the query string refused with 400; external issuers (RS256 PEM,
// ES256 in a JWK Set, HS256 secret file) with the stock client; the built-in token service (login ticket, session
// cookies, rotating refresh tokens, reuse detection, logout); revocation in SQL closing sockets with 4003 on every
// bridge within 1 s; expiry closing a socket with 4001 and the stock client resubmitting on a fresh token; the Origin
// allowlist; connection caps per user and per address (429).
//
// Users are distinct per test: a revocation of a user refuses every token of that user issued up to the same second.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const h = require('./harness');

const T = { timeout: 60000 };
const APP_ORIGIN = 'http://app.example';
const COMMON = ['--refresh-grace', '0', '--auth-rate-limit', '10000', '--allowed-origin', APP_ORIGIN];
let iss;
let A; // external RS256 (PEM) and ES256 (JWK Set) keys, plus the built-in service
let B; // external RS256 (PEM) and HS256 keys, plus the built-in service; --insecure-cookies

// A bridge with authentication, once it has loaded its keys and revocations (see the /readyz test at the end).
const startSecure = async (name, args) => h.waitAuthReady(await h.startBridge(name, args, { secure: true }));

before(async () => {
  await h.setupDatabase();
  iss = h.testIssuer();
  await h.sql("SELECT collab.grant('auth', NULL, 'org:acme', 'editor')");
  await h.sql("SELECT collab.create_doc('auth', 'target', 'text-unicode', '\"secret\"', 'acme')");
  [A, B] = await Promise.all([
    startSecure('a', [...iss.args(['rsa', 'jwks']), ...COMMON]),
    startSecure('b', [...iss.args(['rsa', 'hs256']), ...COMMON, '--insecure-cookies']),
  ]);
});
after(() => h.cleanup());

async function metric(bridge, suffix) {
  const res = await h.httpGet(`${bridge.httpUrl}/metrics`);
  assert.equal(res.status, 200);
  const found = h.parseMetrics(res.body).filter((s) => s.name === `collab_bridge_${suffix}`);
  assert.equal(found.length, 1, `/metrics has collab_bridge_${suffix}`);
  return found[0].value;
}

const totalOps = async () => Number((await h.sql('SELECT count(*) AS n FROM collab.ops'))[0].n);

// Opens a socket with creds and keeps it open; resolves the ws once open (rejects with the status otherwise).
async function held(url, creds) {
  const ws = h.credentialSocket(url, creds);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('unexpected-response', (req, res) => {
      res.resume();
      reject(Object.assign(new Error(`upgrade refused with HTTP ${res.statusCode}`), { statusCode: res.statusCode }));
    });
    ws.once('error', reject);
  });
  ws.on('error', () => {});
  heldSockets.push(ws);
  return ws;
}
const heldSockets = [];
after(() => heldSockets.forEach((ws) => ws.terminate()));

// Asserts an upgrade is refused with `status`, the refusal naming `code` (the bridge writes "<code>: <message>").
async function assertRefused(url, creds, status, code, what) {
  const out = await h.upgradeOutcome(url, creds);
  assert.equal(out.status, status, `${what}: upgrade refused with ${status} (got ${JSON.stringify(out).slice(0, 300)})`);
  if (code) {
    const codes = [].concat(code);
    assert.ok(codes.some((c) => out.body.includes(`${c}:`)), `${what}: the refusal says ${codes.join(' or ')}: ${out.body}`);
  }
  return out;
}

test('a valid token opens a socket from the collab_access cookie or an Authorization: Bearer header', T, async () => {
  const token = iss.token('ada');
  assert.equal((await h.upgradeOutcome(A.url, { token, via: 'bearer' })).status, 101);
  assert.equal((await h.upgradeOutcome(A.url, { token, via: 'cookie' })).status, 101);
  // Cookie among others, and a lower-case scheme.
  assert.equal((await h.upgradeOutcome(A.url, { headers: { Cookie: `theme=dark; collab_access=${token}; x=1` } })).status, 101);
  assert.equal((await h.upgradeOutcome(A.url, { headers: { Authorization: `bearer ${token}` } })).status, 101);
  await assertRefused(A.url, {}, 401, 'token_missing', 'no token');
  await assertRefused(A.url, { headers: { Authorization: 'Bearer ' } }, 401, 'token_missing', 'empty bearer');
  await assertRefused(A.url, { headers: { Authorization: `Basic ${Buffer.from('ada:pw').toString('base64')}` } }, 401,
    'token_missing', 'Basic credentials');
  await assertRefused(A.url, { headers: { Cookie: `collab_refresh=${token}` } }, 401, 'token_missing',
    'a token in another cookie');

  // The socket acts for the token's user: the documents it creates belong to the token's organization.
  const conn = await h.connectedAuth(A.url, { token }, { name: 'ada' });
  const doc = conn.get('auth', 'ada-doc');
  await h.create(doc, 'by ada', 'text-unicode');
  assert.deepEqual(await h.sql("SELECT org FROM collab.documents WHERE collection = 'auth' AND id = 'ada-doc'"),
    [{ org: 'acme' }]);
  h.assertNoClientErrors([conn]);
});

test('a client that cannot set headers moves its token into the cookie with POST /auth/cookie', T, async () => {
  // Browsers cannot set headers on a WebSocket, and libwebsockets 4.1 refuses a Sec-WebSocket-Protocol header of more
  // than 127 bytes (a JWT never fits): POST /auth/cookie with the token as Bearer sets the HTTP-only cookie instead.
  const token = iss.token('ada');
  const res = await h.authPost(A, 'cookie', { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, res.body);
  assert.equal(res.json.user, 'ada');
  const cookie = res.cookies.collab_access;
  assert.ok(cookie, `no collab_access cookie: ${JSON.stringify(res.headers['set-cookie'])}`);
  assert.equal(cookie.value, token);
  assert.match(cookie.raw, /HttpOnly/);
  assert.match(cookie.raw, /SameSite=Strict/);
  assert.match(cookie.raw, /Path=\//);
  const conn = await h.connectedAuth(A.url, { token: cookie.value, via: 'cookie' }, { name: 'ada-cookie' });
  const doc = conn.get('auth', 'target');
  await h.fetchDoc(doc);
  assert.equal(doc.data, 'secret');
  // A bad token gets no cookie.
  const bad = await h.authPost(A, 'cookie', { headers: { Authorization: `Bearer ${token.slice(0, -4)}AAAA` } });
  assert.equal(bad.status, 401);
  assert.equal(bad.json.error.code, 'token_signature_invalid');
  assert.equal(bad.cookies.collab_access, undefined);
  const none = await h.authPost(A, 'cookie');
  assert.equal(none.status, 400);
});

test('bad tokens are refused with 401 at the upgrade and on GET /docs; nothing is read or written', T, async () => {
  const now = h.nowSeconds();
  const good = iss.token('eve');
  const [head, payload, sig] = good.split('.');
  const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const forgedPayload = Buffer.from(JSON.stringify(iss.claims('admin'))).toString('base64url');
  const bad = [
    ['alg none', h.signJwt({ alg: 'none', typ: 'JWT' }, iss.claims('eve'), { alg: 'none' }), 'token_alg_not_allowed'],
    ['alg "None"', h.signJwt({ alg: 'None', typ: 'JWT' }, iss.claims('eve'), { alg: 'none' }), 'token_alg_not_allowed'],
    ['alg none with the RS256 signature', `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.${sig}`,
      'token_alg_not_allowed'],
    // RFC 8725 2.1: the RSA public key (PEM) used as an HMAC secret. A has no HS256 key at all.
    ['HS256 signed with the RS256 public key PEM', iss.token('eve', { alg: 'HS256', key: { alg: 'HS256', secret: iss.rsaPublicPem } }),
      'token_key_unknown'],
    ['RS256 header over an HMAC with the PEM', h.signJwt({ alg: 'RS256', typ: 'JWT' }, iss.claims('eve'),
      { alg: 'HS256', secret: iss.rsaPublicPem }), 'token_signature_invalid'],
    ['expired (exp = now - 120)', iss.token('eve', { claims: { exp: now - 120, iat: now - 720, nbf: now - 720 } }), 'token_expired'],
    ['not yet valid (nbf = now + 120)', iss.token('eve', { claims: { nbf: now + 120 } }), 'token_not_yet_valid'],
    ['wrong aud', iss.token('eve', { claims: { aud: 'another-service' } }), 'token_audience_invalid'],
    ['aud list without ours', iss.token('eve', { claims: { aud: ['x', 'y'] } }), 'token_audience_invalid'],
    ['no aud', iss.token('eve', { claims: { aud: undefined } }), 'token_audience_invalid'],
    ['wrong iss', iss.token('eve', { claims: { iss: 'https://evil.example' } }), 'token_issuer_invalid'],
    ['no iss', iss.token('eve', { claims: { iss: undefined } }), 'token_issuer_invalid'],
    ['signed by another RSA key', iss.token('eve', { key: { alg: 'RS256', privateKey: other.privateKey } }), 'token_signature_invalid'],
    ['payload swapped (sub admin) under a valid signature', `${head}.${forgedPayload}.${sig}`, 'token_signature_invalid'],
    ['ES256 naming an unknown kid', iss.token('eve', { alg: 'ES256', header: { kid: 'no-such-kid' } }), 'token_key_unknown'],
    ['truncated signature', good.slice(0, -10), ['token_signature_invalid', 'token_malformed']],
    ['two parts only', `${head}.${payload}`, 'token_malformed'],
    ['garbage', 'garbage', 'token_malformed'],
    ['garbage with dots', 'a.b.c', 'token_malformed'],
    ['random base64url', crypto.randomBytes(300).toString('base64url'), 'token_malformed'],
    ['no exp', iss.token('eve', { claims: { exp: undefined } }), 'token_exp_missing'],
    ['no sub', iss.token('eve', { claims: { sub: undefined } }), 'token_sub_missing'],
  ];
  const opsBefore = await totalOps();
  const target = await h.dbFetch('auth', 'target');
  const opened = await metric(A, 'connections_opened_total');
  const refused = await metric(A, 'auth_refused_total');
  for (const [what, token, code] of bad) {
    await assertRefused(A.url, { token, via: 'bearer' }, 401, code, `${what} (bearer)`);
    await assertRefused(A.url, { token, via: 'cookie' }, 401, code, `${what} (cookie)`);
    const res = await h.httpGet(`${A.httpUrl}/docs/auth/target`, { Authorization: `Bearer ${token}` });
    assert.equal(res.status, 401, `${what}: GET /docs refused with 401: ${res.body}`);
    assert.ok(!res.body.includes('secret'), `${what}: GET /docs reveals nothing`);
  }
  // On B, which also has an HS256 key, the PEM-as-secret token is refused too (its HMAC does not match).
  await assertRefused(B.url, { token: bad[3][1] }, 401, 'token_signature_invalid', 'HS256 signed with the PEM, on B');

  assert.equal(await metric(A, 'connections_opened_total'), opened, 'no socket was opened');
  assert.equal(await metric(A, 'auth_refused_total'), refused + 3 * bad.length, 'every attempt counted as refused');
  assert.equal(await totalOps(), opsBefore, 'no op was written');
  assert.deepEqual(await h.dbFetch('auth', 'target'), target, 'the document is unchanged');
  // The same token, well formed, is accepted (the refusals above are about what was changed).
  assert.equal((await h.upgradeOutcome(A.url, { token: good })).status, 101);
});

test('an oversized Authorization header (10 KB) is refused without opening a socket', T, async () => {
  const opened = await metric(A, 'connections_opened_total');
  const out = await h.upgradeOutcome(A.url, { headers: { Authorization: `Bearer ${'x'.repeat(10240)}` } });
  // Observed: libwebsockets runs out of header space (max_http_header_data = 4096 in server.cpp) and drops the
  // connection without an HTTP status; the ws package reports "socket hang up". A 4xx status would do as well.
  assert.notEqual(out.status, 101, JSON.stringify(out));
  assert.ok(out.status === null ? /hang up|ECONNRESET/.test(out.error) : out.status >= 400 && out.status < 500,
    `refused with a 4xx status or a dropped connection: ${JSON.stringify(out).slice(0, 300)}`);
  // A 10 KB cookie likewise.
  const cookie = await h.upgradeOutcome(A.url, { headers: { Cookie: `collab_access=${'y'.repeat(10240)}` } });
  assert.notEqual(cookie.status, 101, JSON.stringify(cookie).slice(0, 300));
  assert.equal(await metric(A, 'connections_opened_total'), opened, 'no socket was opened');
  // The bridge is unharmed.
  assert.equal((await h.httpGet(`${A.httpUrl}/healthz`)).status, 200);
  assert.equal((await h.upgradeOutcome(A.url, { token: iss.token('eve') })).status, 101);
});

test('a token in the query string is refused with 400, even a valid one', T, async () => {
  const token = iss.token('quinn');
  const login = await h.login(A, 'quinn');
  for (const [what, url, creds] of [
    ['valid external token', `${A.url}?access_token=${token}`, {}],
    ['valid built-in token', `${A.url}?access_token=${login.access}`, {}],
    ['token= with a valid bearer header too', `${A.url}?token=${token}`, { token }],
    ['jwt= among other parameters', `${A.url}?room=1&jwt=${token}`, {}],
    ['no token but a query parameter named access_token', `${A.url}?access_token=`, { token }],
  ]) {
    await assertRefused(url, creds, 400, 'token_in_query', what);
  }
  const docs = await h.httpGet(`${A.httpUrl}/docs/auth/target?access_token=${token}`);
  assert.equal(docs.status, 400, `GET /docs with a token in the query: ${docs.body}`);
  assert.ok(!docs.body.includes('secret'));
  // Other query parameters are fine.
  assert.equal((await h.upgradeOutcome(`${A.url}?room=1`, { token })).status, 101);
  // The refusal never logs the token.
  assert.ok(!A.log().includes(token), 'the bridge log does not contain the token');
});

test('external issuers: RS256 (PEM), ES256 (JWK Set) and HS256 (secret file) with the stock client', T, async () => {
  const c1 = await h.connectedAuth(A.url, { token: iss.token('nina', { alg: 'RS256' }) }, { name: 'nina-rs256' });
  const c2 = await h.connectedAuth(A.url, { token: iss.token('omar', { alg: 'ES256' }), via: 'cookie' }, { name: 'omar-es256' });
  const c3 = await h.connectedAuth(B.url, { token: iss.token('pia', { alg: 'HS256' }) }, { name: 'pia-hs256' });
  // HS256 is not configured on A, ES256 of the JWK Set not on B.
  await assertRefused(A.url, { token: iss.token('pia', { alg: 'HS256' }) }, 401, 'token_key_unknown', 'HS256 on A');
  await assertRefused(B.url, { token: iss.token('omar', { alg: 'ES256' }) }, 401, 'token_key_unknown', 'ES256 (JWKS kid) on B');

  const d1 = c1.get('auth', 'ext');
  await h.create(d1, 'start', 'text-unicode');
  const d2 = c2.get('auth', 'ext');
  const d3 = c3.get('auth', 'ext');
  await Promise.all([h.subscribe(d1), h.subscribe(d2), h.subscribe(d3)]);
  await Promise.all([h.submitOp(d1, [0, 'R']), h.submitOp(d2, [0, 'E']), h.submitOp(d3, [0, 'H'])]);
  await h.waitDocVersion(d2, 4);
  await h.submitOp(d2, [[...d2.data].length, 'é']);
  for (const d of [d1, d2, d3]) await h.waitDocVersion(d, 5);
  const db = await h.dbFetch('auth', 'ext');
  assert.equal(db.v, 5);
  assert.equal([...db.data.slice(0, 3)].sort().join(''), 'EHR', `converged text ${db.data}`);
  assert.equal(db.data.slice(3), 'starté', `converged text ${db.data}`);
  for (const d of [d1, d2, d3]) await h.assertDocMatchesDb(d);
  for (const c of [c1, c2, c3]) h.assertOpStreamContiguous(c, 'auth', 'ext');
  for (const c of [c1, c2, c3]) await h.assertAcksInOpLog(c);
  h.assertNoClientErrors([c1, c2, c3]);
});

test('built-in service: login ticket -> session cookies -> the stock client edits; a ticket works once', T, async () => {
  const [{ ticket }] = await h.sql(`SELECT collab.create_login_ticket('rita', '{"org": "acme"}') AS ticket`);
  const res = await h.authPost(A, 'session', { body: { ticket } });
  assert.equal(res.status, 200, res.body);
  assert.equal(res.json.user, 'rita');
  assert.equal(res.json.org, 'acme');
  assert.equal(typeof res.json.session_id, 'string');
  assert.match(res.headers['cache-control'] || '', /no-store/);
  assert.deepEqual(Object.keys(res.cookies).sort(), ['collab_access', 'collab_refresh']);
  const access = res.cookies.collab_access;
  const refresh = res.cookies.collab_refresh;
  assert.equal(access.attributes.path, '/');
  assert.equal(refresh.attributes.path, '/auth');
  for (const c of [access, refresh]) {
    assert.equal(c.attributes.httponly, true, `${c.raw}: HttpOnly`);
    assert.equal(c.attributes.samesite, 'Strict', `${c.raw}: SameSite=Strict`);
    assert.equal(c.attributes.secure, true, `${c.raw}: Secure (no --insecure-cookies)`);
  }
  // The access token: ES256, kid, iss/aud pg_collab, sub, org, sid.
  const [hdr, claims] = access.value.split('.').slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url')));
  assert.equal(hdr.alg, 'ES256');
  assert.equal(typeof hdr.kid, 'string');
  assert.deepEqual([claims.iss, claims.aud, claims.sub, claims.org, claims.sid],
    ['pg_collab', 'pg_collab', 'rita', 'acme', res.json.session_id]);

  const conn = await h.connectedAuth(A.url, { token: access.value, via: 'cookie' }, { name: 'rita' });
  const doc = conn.get('auth', 'rita-doc');
  await h.create(doc, 'built-in', 'text-unicode');
  await h.submitOp(doc, [8, '!']);
  assert.deepEqual(await h.dbFetch('auth', 'rita-doc'), { v: 2, type: h.TEXT_URI, data: 'built-in!' });
  // Bridge B verifies the same token (the keys come from the database).
  assert.equal((await h.upgradeOutcome(B.url, { token: access.value, via: 'cookie' })).status, 101);

  // Single use.
  const again = await h.authPost(A, 'session', { body: { ticket } });
  assert.equal(again.status, 401, again.body);
  assert.equal(again.json.error.code, 'PC030');
  assert.equal(again.headers['set-cookie'], undefined, 'no cookies for a refused ticket');
  const onB = await h.authPost(B, 'session', { body: { ticket } });
  assert.equal(onB.status, 401, 'used on another bridge too');
  const unknown = await h.authPost(A, 'session', { body: { ticket: 'not-a-ticket' } });
  assert.equal(unknown.status, 401);
  assert.equal(unknown.json.error.code, 'PC030');
  const missing = await h.authPost(A, 'session', { body: {} });
  assert.equal(missing.status, 400);
  const notJson = await h.authPost(A, 'session', { body: 'ticket=abc' });
  assert.equal(notJson.status, 400);
  const get = await h.httpGet(`${A.httpUrl}/auth/session`);
  assert.equal(get.status, 405);

  // --insecure-cookies (bridge B): the same cookies without Secure.
  const onInsecure = await h.login(B, 'rita');
  for (const c of Object.values(onInsecure.cookies)) {
    assert.equal(c.attributes.secure, undefined, `${c.raw}: no Secure with --insecure-cookies`);
    assert.equal(c.attributes.httponly, true);
  }
  h.assertNoClientErrors([conn]);
});

test('refresh rotation: each refresh token works once; reuse revokes the session (PC032, 4003, 401)', T, async () => {
  const first = await h.login(A, 'frank');
  const other = await h.login(A, 'frank'); // another session of the same user: not affected
  const sid = first.json.session_id;
  const conn1 = await h.connectedAuth(A.url, { token: first.access, via: 'cookie' }, { name: 'frank-1' });
  const keep = await h.connectedAuth(B.url, { token: other.access, via: 'cookie' }, { name: 'frank-other' });

  const r2 = await h.authPost(A, 'refresh', { cookies: { collab_refresh: first.refresh } });
  assert.equal(r2.status, 200, r2.body);
  assert.equal(r2.json.session_id, sid, 'same session');
  const access2 = r2.cookies.collab_access.value;
  const refresh2 = r2.cookies.collab_refresh.value;
  assert.notEqual(access2, first.access);
  assert.notEqual(refresh2, first.refresh);
  assert.equal(r2.cookies.collab_refresh.attributes.path, '/auth');
  assert.equal((await h.upgradeOutcome(A.url, { token: access2, via: 'cookie' })).status, 101, 'the new access token works');

  const r3 = await h.authPost(B, 'refresh', { cookies: { collab_refresh: refresh2 } }); // any bridge
  assert.equal(r3.status, 200, r3.body);
  const access3 = r3.cookies.collab_access.value;
  const refresh3 = r3.cookies.collab_refresh.value;
  const conn3 = await h.connectedAuth(B.url, { token: access3 }, { name: 'frank-3' });
  const closed1 = h.socketClosed(conn1.sockets[0]);
  const closed3 = h.socketClosed(conn3.sockets[0]);

  // The first refresh token again, after its rotation (--refresh-grace 0): the session is revoked.
  const reuse = await h.authPost(A, 'refresh', { cookies: { collab_refresh: first.refresh } });
  assert.equal(reuse.status, 401, reuse.body);
  assert.equal(reuse.json.error.code, 'PC032');
  for (const c of Object.values(reuse.cookies)) assert.equal(c.attributes['max-age'], '0', `${c.raw} clears the cookie`);
  assert.deepEqual(await h.sql('SELECT revoked_at IS NOT NULL AS revoked FROM collab.sessions WHERE session_id = $1', [sid]),
    [{ revoked: true }]);

  // Every socket of the session closes with 4003, on both bridges.
  assert.equal((await closed1).code, 4003, 'the socket on A (first access token) closed with 4003');
  assert.equal((await closed3).code, 4003, 'the socket on B (third access token) closed with 4003');
  for (const [what, token] of [['first', first.access], ['second', access2], ['third', access3]]) {
    for (const bridge of [A, B]) await assertRefused(bridge.url, { token }, 401, 'token_revoked', `${what} access token on ${bridge.name}`);
  }
  // The newest refresh token of the family is dead as well.
  const after3 = await h.authPost(A, 'refresh', { cookies: { collab_refresh: refresh3 } });
  assert.equal(after3.status, 401);
  assert.equal(after3.json.error.code, 'PC031');
  // The other session of the user is untouched.
  keep.ping();
  await h.waitForEvent(keep, 'pong', { what: 'pong on the other session' });
  assert.equal(keep.state, 'connected');
  assert.equal((await h.upgradeOutcome(A.url, { token: other.access, via: 'cookie' })).status, 101);
  const otherRefresh = await h.authPost(A, 'refresh', { cookies: { collab_refresh: other.refresh } });
  assert.equal(otherRefresh.status, 200, otherRefresh.body);
  // No refresh cookie at all.
  const none = await h.authPost(A, 'refresh');
  assert.equal(none.status, 401);
  assert.equal(none.json.error.code, 'PC031');
});

test('logout revokes the session: its sockets close with 4003, its tokens are refused', T, async () => {
  const s = await h.login(A, 'gina');
  const conn = await h.connectedAuth(B.url, { token: s.access, via: 'cookie' }, { name: 'gina' });
  const closed = h.socketClosed(conn.sockets[0]);
  const onA = h.socketClosed(await held(A.url, { token: s.access, via: 'cookie' }));
  const out = await h.authPost(A, 'logout', { cookies: { collab_refresh: s.refresh } });
  assert.equal(out.status, 200, out.body);
  assert.deepEqual(out.json, { logged_out: true });
  assert.deepEqual(Object.keys(out.cookies).sort(), ['collab_access', 'collab_refresh']);
  for (const c of Object.values(out.cookies)) {
    assert.equal(c.value, '');
    assert.equal(c.attributes['max-age'], '0');
  }
  assert.equal((await closed).code, 4003);
  assert.equal((await onA).code, 4003, 'on A too'); // (each bridge learns of the revocation on its own)
  await assertRefused(A.url, { token: s.access, via: 'cookie' }, 401, 'token_revoked', 'after logout on A');
  await assertRefused(B.url, { token: s.access, via: 'cookie' }, 401, 'token_revoked', 'after logout on B');
  const refresh = await h.authPost(A, 'refresh', { cookies: { collab_refresh: s.refresh } });
  assert.equal(refresh.status, 401);
  assert.equal(refresh.json.error.code, 'PC031');
  const twice = await h.authPost(A, 'logout', { cookies: { collab_refresh: s.refresh } });
  assert.deepEqual([twice.status, twice.json], [200, { logged_out: true }]);
  const unknown = await h.authPost(A, 'logout', { cookies: { collab_refresh: 'unknown' } });
  assert.deepEqual([unknown.status, unknown.json], [200, { logged_out: false }]);
});

test('revoke_user closes the user\'s sockets on every bridge within 1 s; tokens refused, also by a later bridge', T, async (t) => {
  const builtin = await h.login(A, 'hank');
  const external = iss.token('hank');
  const hA = await h.connectedAuth(A.url, { token: builtin.access, via: 'cookie' }, { name: 'hank-a' });
  const hB = await h.connectedAuth(B.url, { token: external }, { name: 'hank-b' });
  const ivanToken = iss.token('ivan');
  const iA = await h.connectedAuth(A.url, { token: ivanToken }, { name: 'ivan-a' });
  const iB = await h.connectedAuth(B.url, { token: ivanToken }, { name: 'ivan-b' });
  const closedA = h.socketClosed(hA.sockets[0]);
  const closedB = h.socketClosed(hB.sockets[0]);

  const client = await h.sqlClient();
  let committed;
  try {
    await client.query('BEGIN');
    await client.query("SELECT collab.revoke_user('hank')");
    committed = Date.now();
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
  const [ca, cb] = await Promise.all([closedA, closedB]);
  assert.equal(ca.code, 4003, `socket on A closed with 4003 (${ca.reason})`);
  assert.equal(cb.code, 4003, `socket on B closed with 4003 (${cb.reason})`);
  assert.ok(ca.at - committed < 1000, `closed on A ${ca.at - committed} ms after the COMMIT (within 1 s)`);
  assert.ok(cb.at - committed < 1000, `closed on B ${cb.at - committed} ms after the COMMIT (within 1 s)`);
  t.diagnostic(`sockets closed ${ca.at - committed} ms (A) and ${cb.at - committed} ms (B) after the COMMIT`);

  // Other users stay connected.
  for (const c of [iA, iB]) {
    c.ping();
    await h.waitForEvent(c, 'pong', { what: `pong ${c.e2eName}` });
    assert.equal(c.state, 'connected');
  }
  const C = await startSecure('c', [...iss.args(['rsa']), ...COMMON]);
  for (const bridge of [A, B, C]) {
    await assertRefused(bridge.url, { token: builtin.access, via: 'cookie' }, 401, 'token_revoked', `built-in token on ${bridge.name}`);
    await assertRefused(bridge.url, { token: external }, 401, 'token_revoked', `external token on ${bridge.name}`);
    assert.equal((await h.upgradeOutcome(bridge.url, { token: ivanToken })).status, 101, `ivan on ${bridge.name}`);
  }
  // The stock client cannot come back with the old token.
  assert.equal(await h.rebindAuth(hA, A.url, { token: builtin.access, via: 'cookie' }), 'failed');
  // The session and the refresh token are dead.
  const refresh = await h.authPost(A, 'refresh', { cookies: { collab_refresh: builtin.refresh } });
  assert.equal(refresh.status, 401);
  await C.stop();
});

test('after revoke_user the user can log in again; a token of the revocation\'s second is renewed by a refresh', T, async () => {
  // docs/security.md: revoked_at is compared in whole seconds with iat, so a token issued in the same second as the
  // revocation (or up to about a second later) is refused too; the client refreshes and reconnects.
  const before = await h.login(A, 'uma');
  const closed = [A, B].map(async (bridge) => h.socketClosed(await held(bridge.url, { token: before.access })));
  await h.sql("SELECT collab.revoke_user('uma')");
  const again = await h.login(A, 'uma');
  for (const c of await Promise.all(closed)) assert.equal(c.code, 4003);
  await assertRefused(A.url, { token: before.access }, 401, 'token_revoked', 'the token from before the revocation');
  const [{ at }] = await h.sql("SELECT extract(epoch FROM max(revoked_at))::float8 AS at FROM collab.revocations " +
    "WHERE kind = 'user' AND subject = 'uma'");
  await h.sleep(Math.max(0, (Math.round(at) + 1) * 1000 - Date.now()) + 50); // past the revocation's whole second
  const r = await h.authPost(A, 'refresh', { cookies: { collab_refresh: again.refresh } });
  assert.equal(r.status, 200, `the new login's session refreshes: ${r.body}`);
  for (const bridge of [A, B]) {
    const out = await h.upgradeOutcome(bridge.url, { token: r.cookies.collab_access.value, via: 'cookie' });
    assert.equal(out.status, 101, `the refreshed token on ${bridge.name}: ${JSON.stringify(out).slice(0, 300)}`);
  }
  await assertRefused(B.url, { token: before.access }, 401, 'token_revoked', 'the old token, still');
});

test('revoke_session(jti) closes the sockets of that token only', T, async () => {
  const jti = crypto.randomUUID();
  const t1 = iss.token('jude', { claims: { jti } });
  const t2 = iss.token('jude');
  const c1 = await h.connectedAuth(A.url, { token: t1 }, { name: 'jude-1' });
  const c2 = await h.connectedAuth(B.url, { token: t2 }, { name: 'jude-2' });
  const closed = h.socketClosed(c1.sockets[0]);
  const onB = h.socketClosed(await held(B.url, { token: t1 }));
  await h.sql('SELECT collab.revoke_session($1)', [jti]);
  assert.equal((await closed).code, 4003);
  assert.equal((await onB).code, 4003);
  await assertRefused(B.url, { token: t1 }, 401, 'token_revoked', 'the revoked jti on B');
  c2.ping();
  await h.waitForEvent(c2, 'pong', { what: 'pong jude-2' });
  assert.equal(c2.state, 'connected');
  assert.equal((await h.upgradeOutcome(A.url, { token: t2 })).status, 101);
});

test('an expired token closes the socket with 4001; with a fresh token the stock client loses no op', T, async () => {
  await h.sql("SELECT collab.create_doc('auth', 'expiry', 'text-unicode', '\"\"', 'acme')");
  const exp = h.nowSeconds() + 3;
  const short = iss.token('erin', { claims: { exp } });
  const conn = await h.connectedAuth(A.url, { token: short }, { name: 'erin' });
  const doc = conn.get('auth', 'expiry');
  await h.subscribe(doc);
  const closed = h.socketClosed(conn.sockets[0]);

  // Type one marker every 20 ms until the socket closes, then 5 more while disconnected.
  const results = [];
  let n = 0;
  const type = () => {
    const k = n++;
    const marker = `<${k}>`;
    doc.submitOp(h.textUnicode.normalize([[...doc.data].length, marker]), (err) => results.push({ k, err }));
  };
  let closedInfo = null;
  closed.then((c) => { closedInfo = c; });
  while (!closedInfo) {
    type();
    await h.sleep(20);
    assert.ok(n < 2000, 'the socket closes when the token expires (hang guard)');
  }
  assert.equal(closedInfo.code, 4001, `closed with 4001 (${closedInfo.reason})`);
  assert.ok(closedInfo.at >= exp * 1000, 'not closed before exp');
  await h.waitFor(() => conn.state === 'disconnected', 'the stock client to notice the close');
  for (let i = 0; i < 5; i++) type();
  assert.ok(doc.hasWritePending(), 'ops are pending while disconnected');

  // Within the 60 s leeway the expired token would still pass the upgrade, and be closed again with 4001 at once;
  // the client gets a fresh token instead.
  const fresh = iss.token('erin');
  assert.equal(await h.rebindAuth(conn, A.url, { token: fresh }), 'connected');
  await h.whenNothingPending(conn);
  await h.waitFor(() => results.length === n, 'every submitOp callback');
  assert.deepEqual(results.filter((r) => r.err).map((r) => `${r.k}: ${r.err.message}`), []);
  const expected = Array.from({ length: n }, (_, k) => `<${k}>`).join('');
  const db = await h.dbFetch('auth', 'expiry');
  assert.equal(db.data, expected, 'every op is in the snapshot exactly once, in order');
  await h.assertOpLogSound('auth', 'expiry');
  await h.assertDocMatchesDb(doc);
  h.assertOpStreamContiguous(conn, 'auth', 'expiry');
  await h.assertAcksInOpLog(conn);
  assert.ok(conn.sent.some((m) => m.socket === 1 && m.a === 'op'), 'ops were sent on the new socket');
  h.assertNoClientErrors([conn]);

  // What the leeway means: a token expired 10 s ago (less than 60 s) passes the upgrade, then its socket is closed
  // with 4001 (the close timer fires at once: exp + 0.5 s is past).
  const stale = iss.token('erin', { claims: { exp: h.nowSeconds() - 10 } });
  const ws = await held(A.url, { token: stale });
  assert.equal((await h.socketClosed(ws)).code, 4001);
});

test('Origin: a socket or /auth call from an origin not in --allowed-origin gets 403', T, async () => {
  const token = iss.token('olga');
  await assertRefused(A.url, { token, origin: 'http://evil.example' }, 403, 'origin_not_allowed', 'evil origin');
  await assertRefused(A.url, { token, origin: 'http://app.example:8080' }, 403, 'origin_not_allowed', 'other port');
  await assertRefused(A.url, { token, origin: 'https://app.example' }, 403, 'origin_not_allowed', 'other scheme');
  await assertRefused(A.url, { origin: 'http://evil.example' }, 403, 'origin_not_allowed', 'evil origin without a token');
  assert.equal((await h.upgradeOutcome(A.url, { token, origin: APP_ORIGIN })).status, 101, 'the allowed origin');
  assert.equal((await h.upgradeOutcome(A.url, { token })).status, 101, 'no Origin: a non-browser client');
  await assertRefused(A.url, { origin: APP_ORIGIN }, 401, 'token_missing', 'allowed origin, no token');
  const conn = await h.connectedAuth(A.url, { token, origin: APP_ORIGIN }, { name: 'olga' });
  await h.fetchDoc(conn.get('auth', 'target'));

  // /auth/session: the ticket is not consumed by a refused call.
  const [{ ticket }] = await h.sql(`SELECT collab.create_login_ticket('olga', '{"org": "acme"}') AS ticket`);
  const evil = await h.authPost(A, 'session', { body: { ticket }, headers: { Origin: 'http://evil.example' } });
  assert.equal(evil.status, 403, evil.body);
  assert.equal(evil.headers['set-cookie'], undefined);
  const ok = await h.authPost(A, 'session', { body: { ticket }, headers: { Origin: APP_ORIGIN } });
  assert.equal(ok.status, 200, ok.body);
  const refresh = await h.authPost(A, 'refresh', { cookies: { collab_refresh: ok.cookies.collab_refresh.value },
    headers: { Origin: 'http://evil.example' } });
  assert.equal(refresh.status, 403);
  const logout = await h.authPost(A, 'logout', { cookies: { collab_refresh: ok.cookies.collab_refresh.value },
    headers: { Origin: 'http://evil.example' } });
  assert.equal(logout.status, 403);
  assert.equal((await h.upgradeOutcome(A.url, { token: ok.cookies.collab_access.value, via: 'cookie' })).status, 101,
    'the refused logout did nothing');
  // GET /docs too.
  const docs = await h.httpGet(`${A.httpUrl}/docs/auth/target`, { Authorization: `Bearer ${token}`, Origin: 'http://evil.example' });
  assert.equal(docs.status, 403);
  h.assertNoClientErrors([conn]);
});

test('connection caps: --max-connections-per-user and --max-connections-per-ip refuse with 429', T, async () => {
  const K = await startSecure('caps', [...iss.args(['rsa']), ...COMMON, '--max-connections-per-user', '2',
    '--max-connections-per-ip', '4']);
  const jack = iss.token('jack');
  const j1 = await held(K.url, { token: jack });
  await held(K.url, { token: iss.token('jack') }); // another token, same user
  await assertRefused(K.url, { token: jack }, 429, 'too_many_connections_for_user', 'third socket of jack');
  await held(K.url, { token: iss.token('kate') }); // another user is fine (3 from this address)
  await held(K.url, { token: iss.token('lena') }); // 4
  await assertRefused(K.url, { token: iss.token('mike') }, 429, 'too_many_connections_for_address', 'fifth from the address');
  // Refused upgrades do not count; closing a socket frees its place.
  j1.close();
  await h.socketClosed(j1);
  await h.waitFor(async () => (await h.upgradeOutcome(K.url, { token: jack })).status === 101,
    'jack to get a socket again after closing one');
  // (upgradeOutcome closes its socket: 3 are open now.)
  await h.waitFor(async () => (await metric(K, 'connections')) === 3, 'three open sockets');
  const m = await held(K.url, { token: iss.token('mike') });
  assert.equal(m.readyState, h.WebSocket.OPEN);
  await K.stop();
});

test('/readyz answers 200 only when the bridge can verify tokens (keys and revocations loaded)', T, async () => {
  // Load balancers route sockets by /readyz (docs/bridge.md). Hold the signing-key table locked so that the bridge's
  // first collab.token_verification_keys() waits: /readyz must not say 200 while valid tokens get 503 auth_starting.
  const token = iss.token('yara');
  const client = await h.sqlClient();
  let D;
  try {
    await client.query('BEGIN');
    await client.query('LOCK TABLE collab.signing_keys IN ACCESS EXCLUSIVE MODE');
    D = await h.startBridge('d', [...iss.args(['rsa']), ...COMMON], { secure: true, waitReady: false });
    await h.waitFor(async () => JSON.parse((await h.httpGet(`${D.httpUrl}/readyz`)).body).feed === true,
      'the pool and the change feed of bridge d');
    const ready = await h.httpGet(`${D.httpUrl}/readyz`);
    const out = await h.upgradeOutcome(D.url, { token });
    assert.ok(ready.status !== 200 || out.status === 101,
      `/readyz said ${ready.status} ${ready.body.trim()} while a valid token got ${out.status} ${out.body || out.error}`);
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    await client.end();
  }
  await D.waitReady();
  await h.waitAuthReady(D);
  assert.equal((await h.upgradeOutcome(D.url, { token })).status, 101);
  await D.stop();
});

test('a missing or unreadable key file stops the bridge at start with a message that says why', T, async () => {
  const { execFile } = require('node:child_process');
  const path = require('node:path');
  const bin = process.env.COLLAB_BRIDGE_BIN || path.join(__dirname, '..', '..', 'build', 'collab-bridge');
  const run = (args) => new Promise((resolve) => {
    execFile(bin, ['--port', '1', ...args], { timeout: 20000 }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, stderr });
    });
  });
  const missing = await run(['--jwt-public-key-file', '/nonexistent/key.pem', '--jwt-issuer', 'i', '--jwt-audience', 'a']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /--jwt-public-key-file: cannot read key file \/nonexistent\/key\.pem: No such file or directory/);
  const notKey = await run(['--jwt-jwks-file', __filename, '--jwt-issuer', 'i', '--jwt-audience', 'a']);
  assert.equal(notKey.code, 1);
  assert.match(notKey.stderr, /--jwt-jwks-file:/);
  const shortSecret = await run(['--jwt-hs256-secret-env', 'E2E_SHORT_SECRET', '--jwt-issuer', 'i', '--jwt-audience', 'a']);
  assert.equal(shortSecret.code, 1);
  assert.match(shortSecret.stderr, /E2E_SHORT_SECRET is not set or empty/);
});
