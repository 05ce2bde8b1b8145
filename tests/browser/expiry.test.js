'use strict';
// Access tokens expire: the bridge closes the socket with 4001 at the token's expiry; the page refreshes the session
// (POST /auth/refresh with the refresh cookie) and reconnects by itself, keeping what the user types meanwhile.
// The shortest access-token lifetime the bridge accepts is 60 s, so this file waits about a minute.
const assert = require('node:assert/strict');
const { test, before, after } = require('node:test');
const b = require('./lib.js');

const { h } = b;
let bridge;

before(async () => {
  await b.setupDatabase();
  bridge = await b.startWebBridge('web-ttl60', ['--access-token-ttl', '60']);
  await b.launchBrowser();
});
after(() => b.cleanup());

test('an expired access token (close 4001) is refreshed and the page reconnects without losing edits', async () => {
  const erin = await b.userPage(bridge, 'erin');
  await b.openNote(erin, 'expiry', { create: true });
  await erin.locator('.cm-content').focus();
  await erin.keyboard.type('before expiry 漢字; ', { delay: 5 });
  await b.assertConverged([erin], 'expiry');

  // Wait for the expiry (about 60 s after the login), then type at once: the first keys land while the page
  // refreshes its session and reconnects.
  await h.waitFor(() => erin.evaluate(() => window.__collab.link.closeCodes.includes(4001)),
    'the bridge to close the socket with 4001 when the access token expires', { timeout: 120000, interval: 100 });
  await erin.keyboard.type('after expiry 👋🏽', { delay: 10 });
  await erin.locator('[data-testid="connection-status"][data-state="connected"]').waitFor();
  const text = await b.assertConverged([erin], 'expiry');
  assert.equal(text, 'before expiry 漢字; after expiry 👋🏽');
  // Still logged in (the refreshed cookies work for HTTP too), and never sent to the login.
  assert.equal(await erin.getByTestId('login-form').isVisible(), false);
  assert.equal(await erin.evaluate(async () => (await fetch('/api/me')).status), 200);
  b.assertNoPageProblems([erin]);
});
