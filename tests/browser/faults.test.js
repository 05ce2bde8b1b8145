'use strict';
// The page keeps working through faults: the bridge killed (SIGKILL) and restarted in the middle of typing, and a
// browser that goes offline and comes back. Edits made meanwhile are kept (ShareDB pending ops) and merged.
const assert = require('node:assert/strict');
const { test, before, after } = require('node:test');
const b = require('./lib.js');

const { h } = b;
let bridge;
let alice;
let bob;

before(async () => {
  await b.setupDatabase();
  bridge = await b.startWebBridge();
  await b.launchBrowser();
  alice = await b.userPage(bridge, 'alice');
  bob = await b.userPage(bridge, 'bob');
});
after(() => b.cleanup());

// Waits until the connection indicator of `page` says `state` (connected, reconnecting, offline).
const statusIs = (page, state) => b.waitStatus(page, state);

// A note with the line "middle\n": bob types before it, alice after it, so the result is exactly known.
async function twoPlaceNote(id) {
  await b.openNote(alice, id, { create: true });
  await b.openNote(bob, id);
  await b.caretTo(alice, 'end');
  await alice.keyboard.type('middle\n', { delay: 5 });
  await b.assertConverged([alice, bob], id);
  await b.caretTo(alice, 'end');
  await b.caretTo(bob, 'start');
}

test('the bridge is killed (SIGKILL) in the middle of typing and restarted: both pages reconnect, nothing is lost',
  async () => {
    await twoPlaceNote('crash');
    const aliceText = 'alice keeps typing 👋🏽 while the bridge dies, 漢字 and all; ';
    const bobText = 'bob too: ñandú 🇫🇷 Привет, still here\n';
    const typing = Promise.all([
      alice.keyboard.type(aliceText, { delay: 30 }),
      bob.keyboard.type(bobText, { delay: 30 }),
    ]);
    // Kill once both have typed (and sent) a few characters, while they go on typing.
    await h.waitFor(async () => {
      const [a, bb] = await Promise.all([b.pageState(alice), b.pageState(bob)]);
      return [...a.data].length >= 12 && [...bb.data].length >= 12;
    }, 'both users to have typed a few characters');
    await bridge.kill('SIGKILL');
    await Promise.all([statusIs(alice, 'reconnecting'), statusIs(bob, 'reconnecting')]);
    assert.match(await alice.getByTestId('connection-status').textContent(), /^reconnecting \(\d+ pending ops?\)$/);
    await b.screenshot(bob, 'bob-reconnecting');
    await bridge.start();
    await typing;
    await Promise.all([statusIs(alice, 'connected'), statusIs(bob, 'connected')]);
    const text = await b.assertConverged([alice, bob], 'crash');
    assert.equal(text, `${bobText}middle\n${aliceText}`);
    await h.assertOpLogSound('notes', 'crash');
    b.assertNoPageProblems([alice, bob]);
  });

test('a browser goes offline, both users type, it comes back online: the edits merge and the pages converge',
  async () => {
    await twoPlaceNote('offline');
    await alice.context().setOffline(true);
    await statusIs(alice, 'offline');
    const aliceText = 'written offline: 漢字 👋🏽 ';
    const bobText = 'bob, online: héllo\n';
    await Promise.all([
      alice.keyboard.type(aliceText, { delay: 20 }),
      bob.keyboard.type(bobText, { delay: 20 }),
    ]);
    // alice's edits wait as pending ops, and the indicator says so.
    const pending = Number(await alice.getByTestId('pending-count').getAttribute('data-count'));
    assert.ok(pending > 0, 'alice has pending ops while offline');
    assert.match(await alice.getByTestId('connection-status').textContent(), /^offline \(\d+ pending ops?\)$/);
    await b.screenshot(alice, 'alice-offline');
    await b.assertConverged([bob], 'offline'); // bob's edits are in the database; alice's are not yet
    assert.equal((await b.pageState(alice)).data, `middle\n${aliceText}`, "alice's page has only her own edits");

    await alice.context().setOffline(false);
    await statusIs(alice, 'connected');
    const text = await b.assertConverged([alice, bob], 'offline');
    assert.equal(text, `${bobText}middle\n${aliceText}`);
    // (The count is also in the status text; this element carries it for tests and stays hidden.)
    await alice.locator('[data-testid="pending-count"][data-count="0"]').waitFor({ state: 'attached' });
    assert.equal(await alice.getByTestId('connection-status').textContent(), 'connected');
    b.assertNoPageProblems([alice, bob]);
  });

test('logging out ends the session: the page shows the login again', async () => {
  await alice.getByRole('button', { name: 'Log out' }).click();
  await alice.getByTestId('login-form').waitFor();
  assert.equal(await alice.getByTestId('dev-login-warning').isVisible(), true);
  await b.screenshot(alice, 'login');
  // Logging in again (keyboard only) brings back the note of the URL.
  await alice.getByLabel('User name').fill('alice');
  await alice.getByLabel('User name').press('Enter');
  await statusIs(alice, 'connected');
  await alice.waitForFunction(() => window.__collab.doc && window.__collab.doc.id === 'offline' && window.__collab.view);
  b.assertNoPageProblems([alice, bob]);
});

test('a revoked user is sent back to the login, with a message saying why', async () => {
  const carol = await b.userPage(bridge, 'carol');
  await b.openNote(carol, 'offline');
  await h.sql("SELECT collab.revoke_user('carol')");
  await carol.getByTestId('login-form').waitFor();
  assert.match(await carol.getByTestId('error').textContent(), /revoked/);
  await b.screenshot(carol, 'carol-revoked');
  await carol.context().close();
  b.assertNoPageProblems([alice, bob, carol]);
});
