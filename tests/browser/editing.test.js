'use strict';
// Two users (alice and bob, each in their own browser context) edit the same note in the page collab-bridge serves:
// concurrent interleaved typing with emoji and non-Latin text, remote cursors, the history view.
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

test('the login page is clearly a development login, and the list shows notes the user may read', async () => {
  await b.openNote(alice, 'welcome', { create: true });
  // bob's list (loaded before the note existed) shows it after a refresh; he opens it from the list.
  await bob.getByRole('button', { name: 'Refresh the list of notes' }).click();
  await bob.getByTestId('doc-list').getByRole('link', { name: /welcome/ }).click();
  await b.openNote(bob, 'welcome');
  assert.equal(await bob.getByTestId('doc-title').textContent(), 'welcome');
  assert.equal(await bob.evaluate(() => location.hash), '#/notes/welcome');
  b.assertNoPageProblems([alice, bob]);
});

test('interleaved typing of two users at two places, with emoji and non-Latin text, converges exactly', async () => {
  await b.openNote(alice, 'together', { create: true });
  await b.openNote(bob, 'together');
  await b.caretTo(alice, 'end');
  await alice.keyboard.type('Title\n', { delay: 5 });
  await b.assertConverged([alice, bob], 'together');

  // bob writes at the start, alice at the end, at the same time, keystroke by keystroke.
  const aliceText = 'héllo 👋🏽 漢字 from alice; ';
  const bobText = 'bob: Привет 🇫🇷 ñandú 𝄞\n';
  await b.caretTo(alice, 'end');
  await b.caretTo(bob, 'start');
  await Promise.all([
    alice.keyboard.type(aliceText, { delay: 25 }),
    bob.keyboard.type(bobText, { delay: 25 }),
  ]);
  const text = await b.assertConverged([alice, bob], 'together');
  assert.equal(text, `${bobText}Title\n${aliceText}`);
  await h.assertOpLogSound('notes', 'together');
  b.assertNoPageProblems([alice, bob]);
});

test('interleaved typing at the same place keeps every keystroke of both users', async () => {
  await b.openNote(alice, 'same-spot', { create: true });
  await b.openNote(bob, 'same-spot');
  await b.caretTo(alice, 'end');
  await alice.keyboard.type('[]', { delay: 5 });
  await b.assertConverged([alice, bob], 'same-spot');
  // Both type between the brackets.
  for (const p of [alice, bob]) {
    await b.caretTo(p, 'start');
    await p.keyboard.press('ArrowRight');
  }
  const aliceText = 'aé👋漢1';
  const bobText = 'Bñ🇫🇷字2';
  await Promise.all([alice.keyboard.type(aliceText, { delay: 30 }), bob.keyboard.type(bobText, { delay: 30 })]);
  const text = await b.assertConverged([alice, bob], 'same-spot');
  const cps = [...text];
  assert.equal(cps.length, 2 + [...aliceText].length + [...bobText].length, `every keystroke is in ${text}`);
  assert.equal(cps[0], '[');
  assert.equal(cps[cps.length - 1], ']');
  b.assertSubsequence(text, aliceText, 'alice');
  b.assertSubsequence(text, bobText, 'bob');
  b.assertNoPageProblems([alice, bob]);
});

test('a remote cursor is shown where the other user is, and moves when text is inserted before it', async () => {
  await b.openNote(alice, 'cursors', { create: true });
  await b.openNote(bob, 'cursors');
  await b.caretTo(alice, 'end');
  await alice.keyboard.type('👋🏽ab cd', { delay: 5 });
  await b.assertConverged([alice, bob], 'cursors');

  // alice's caret after "👋🏽ab": code point 4, UTF-16 offset 6.
  await b.caretTo(alice, 'start');
  for (let i = 0; i < 3; i++) await alice.keyboard.press('ArrowRight'); // 👋🏽 is one grapheme: one key press
  const caret = bob.locator('[data-testid="remote-cursor"][data-user="alice"]');
  await caret.and(bob.locator('[data-index="4"]')).waitFor();
  assert.equal(await caret.count(), 1);
  assert.equal(await caret.textContent(), 'alice');
  assert.equal(await caret.evaluate((e) => window.__collab.view.posAtDOM(e)), 6, 'the caret is drawn after "👋🏽ab"');

  // bob inserts before it: alice's caret moves right by what he typed, in both pages.
  await b.caretTo(bob, 'start');
  await bob.keyboard.type('XY漢', { delay: 10 });
  await caret.and(bob.locator('[data-index="7"]')).waitFor();
  assert.equal(await caret.evaluate((e) => window.__collab.view.posAtDOM(e)), 9, 'the caret moved after "XY漢👋🏽ab"');
  // In alice's own editor her caret moved too (once bob's ops reached her).
  await alice.waitForFunction(() => window.__collab.view.state.doc.toString().startsWith('XY漢'));
  assert.equal(await alice.evaluate(() => window.__collab.view.state.selection.main.head), 9);
  // bob's own caret is shown in alice's page, after what he typed.
  await alice.locator('[data-testid="remote-cursor"][data-user="bob"][data-index="3"]').waitFor();

  // alice selects " cd": bob sees the selection highlighted.
  await b.caretTo(alice, 'end');
  for (let i = 0; i < 3; i++) await alice.keyboard.press('Shift+ArrowLeft');
  const selection = bob.locator('[data-testid="remote-selection"][data-user="alice"]');
  await h.waitFor(async () => (await selection.allTextContents()).join('') === ' cd',
    'bob to see the 3 characters alice selected highlighted');
  const caretAfter = await caret.evaluate((e) => Number(e.dataset.index));
  assert.equal(caretAfter, 7, 'a backward selection shows the caret at its start (" cd" starts at code point 7)');
  await b.assertConverged([alice, bob], 'cursors');
  b.assertNoPageProblems([alice, bob]);
});

test('the history view shows the note as it was at an earlier version', async () => {
  await b.openNote(alice, 'history', { create: true });
  await b.caretTo(alice, 'end');
  await alice.keyboard.type('first 漢', { delay: 5 });
  await b.assertConverged([alice], 'history');
  const early = await b.pageState(alice);
  await alice.keyboard.type(' then more 👋🏽', { delay: 5 });
  const now = await b.assertConverged([alice], 'history');
  assert.equal(now, 'first 漢 then more 👋🏽');

  // Keyboard only: the version field, a number, Enter.
  const version = alice.getByLabel('Version number');
  await version.fill(String(early.version));
  await version.press('Enter');
  const history = alice.getByTestId('history-text');
  await alice.locator(`[data-testid="history-text"][data-loaded="${early.version}"]`).waitFor();
  assert.equal(await history.textContent(), 'first 漢');
  // Version 1 is the empty note just created; the slider goes up to the current version.
  await version.fill('1');
  await version.press('Enter');
  await alice.locator('[data-testid="history-text"][data-loaded="1"]').waitFor();
  assert.equal(await history.textContent(), '');
  const [db] = await h.sql("SELECT version FROM collab.fetch('notes', 'history')");
  assert.equal(await alice.getByTestId('history-range').getAttribute('max'), String(db.version));
  // Every version the slider offers shows what the database has for it.
  for (let v = 1; v <= Number(db.version); v++) {
    await version.fill(String(v));
    await version.press('Enter');
    await alice.locator(`[data-testid="history-text"][data-loaded="${v}"]`).waitFor();
    const [row] = await h.sql("SELECT data FROM collab.snapshot_at('notes', 'history', $1)", [v]);
    assert.equal(await history.textContent(), row.data, `version ${v}`);
  }
  b.assertNoPageProblems([alice]);
});

test('a reloaded page (deep link #/notes/<id>) keeps the session and opens the note again', async () => {
  await b.openNote(bob, 'together');
  await bob.reload();
  await b.waitStatus(bob, 'connected');
  await bob.waitForFunction(() => window.__collab.doc && window.__collab.doc.id === 'together' && window.__collab.view);
  await b.assertConverged([bob], 'together');
  assert.equal(await bob.getByTestId('login-form').isVisible(), false);
  b.assertNoPageProblems([alice, bob]);
});

test('screenshots of the two-user session', async () => {
  await b.openNote(alice, 'together');
  await b.openNote(bob, 'together');
  await b.caretTo(bob, 'end');
  await bob.keyboard.press('Shift+ArrowLeft');
  await bob.keyboard.press('Shift+ArrowLeft');
  await bob.keyboard.press('Shift+ArrowLeft');
  await b.caretTo(alice, 'start');
  await alice.keyboard.press('ArrowDown');
  await alice.locator('[data-testid="remote-cursor"][data-user="bob"]').waitFor();
  await bob.locator('[data-testid="remote-cursor"][data-user="alice"]').waitFor();
  const files = [await b.screenshot(alice, 'alice'), await b.screenshot(bob, 'bob')];
  console.log(`# screenshots: ${files.join(' ')}`);
  b.assertNoPageProblems([alice, bob]);
});

test('keyboard only: log in, create a note, write in it, look at its history; focus is always visible', async () => {
  const kim = await b.newPage(bridge, 'kim');
  // The login form has the focus: type the name, Enter.
  await kim.getByTestId('login-form').waitFor();
  assert.equal(await kim.evaluate(() => document.activeElement.id), 'login-user');
  await kim.keyboard.type('kim');
  await kim.keyboard.press('Enter');
  await b.waitStatus(kim, 'connected');

  // Tab through the page in order, checking that each focused control shows a focus outline.
  const focused = async () => kim.evaluate(() => {
    const e = document.activeElement;
    const style = getComputedStyle(e.closest('.cm-editor') || e);
    return { id: e.id || e.dataset.testid || e.className, outline: style.outlineStyle !== 'none' && style.outlineWidth !== '0px' };
  });
  // After the login the focus is in the "Open or create a note" field; Tab and Shift+Tab go through the controls.
  assert.equal((await focused()).id, 'create-name');
  const order = [];
  for (const key of ['Tab', 'Tab', 'Shift+Tab', 'Shift+Tab', 'Shift+Tab', 'Tab']) {
    await kim.keyboard.press(key);
    const f = await focused();
    assert.ok(f.outline, `${f.id} shows where the focus is`);
    order.push(f.id);
  }
  assert.deepEqual(order, ['create-submit', 'refresh-list', 'create-submit', 'create-name', 'logout', 'create-name']);

  // Type a name, Enter: the note opens with the focus in the editor.
  await kim.keyboard.type('keyboard-note');
  await kim.keyboard.press('Enter');
  await kim.waitForFunction(() => window.__collab.view && window.__collab.view.hasFocus);
  assert.ok((await focused()).outline, 'the editor shows that it has the focus');
  await kim.keyboard.type('typed 漢字 👋🏽', { delay: 5 });
  assert.equal(await b.assertConverged([kim], 'keyboard-note'), 'typed 漢字 👋🏽');

  // Tab leaves the editor (no focus trap) to the history controls; the version field takes a number and Enter.
  await kim.keyboard.press('Tab');
  assert.equal((await focused()).id, 'history-range');
  await kim.keyboard.press('Tab');
  assert.equal((await focused()).id, 'history-version');
  await kim.keyboard.press('Control+A');
  await kim.keyboard.type('1');
  await kim.keyboard.press('Enter');
  await kim.locator('[data-testid="history-text"][data-loaded="1"]').waitFor();
  assert.equal(await kim.getByTestId('history-text').textContent(), '');
  b.assertNoPageProblems([kim]);
  await kim.context().close();
});
