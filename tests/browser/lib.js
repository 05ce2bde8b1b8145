'use strict';
// Browser-test helpers: the e2e harness (database, bridge processes; tests/e2e/harness.js) plus Playwright
// (playwright-core) driving Debian's chromium against the page that collab-bridge serves from web/dist.
//
// Database: `browser` (BROWSER_DATABASE), made by the harness's setupDatabase(), with the development login on and
// organization `dev` allowed to edit the collection `notes` (what `make run` sets up). Bridge: built-in token service,
// --dev-login, cookies without Secure (http://127.0.0.1), the page's origin allowed, --web-root web/dist.
// Every page's console errors and uncaught exceptions are recorded; tests assert there were none.
// Timeouts are hang guards only: no assertion depends on how long anything takes.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

process.env.E2E_DATABASE = process.env.BROWSER_DATABASE || 'browser';
const h = require('../e2e/harness.js');
const { chromium } = require('playwright-core');

const REPO = path.resolve(__dirname, '..', '..');
const WEB_DIST = process.env.WEB_DIST || path.join(REPO, 'web', 'dist');
const ARTIFACTS = path.join(__dirname, 'artifacts');
const LOGS = path.join(__dirname, 'logs');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const GUARD = Number(process.env.BROWSER_GUARD_MS || 30000);
const testName = path.basename(require.main ? require.main.filename : 'browser', '.test.js');

async function setupDatabase() {
  await h.setupDatabase();
  // DEVELOPMENT LOGIN for this test database only (as `make run` does for its private cluster).
  await h.sql(`ALTER DATABASE ${h.DB_NAME} SET pg_collab.dev_login = on`);
  await h.sql("SELECT collab.grant('notes', NULL, 'org:dev', 'editor')");
}

// A bridge serving web/dist with the development login, on a port chosen first so that its origin can be allowed.
async function startWebBridge(name = 'web', extraArgs = []) {
  if (!fs.existsSync(path.join(WEB_DIST, 'index.html'))) {
    throw new Error(`${WEB_DIST}/index.html does not exist: build the page first (make web)`);
  }
  const port = await h.freePort();
  const bridge = new h.Bridge(name, [
    '--dev-login', '--insecure-cookies', '--allowed-origin', `http://127.0.0.1:${port}`, '--web-root', WEB_DIST,
    // Every page logs in and refreshes from 127.0.0.1: the per-address /auth limit is for real deployments.
    '--auth-rate-limit', '100000', ...extraArgs,
  ]);
  fs.mkdirSync(LOGS, { recursive: true });
  bridge.logPath = path.join(LOGS, `${testName}-${name}.log`);
  fs.writeFileSync(bridge.logPath, '');
  bridge.port = port;
  h.bridges.add(bridge);
  await bridge.start();
  await h.waitAuthReady(bridge);
  return bridge;
}

let browser = null;
async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install chromium (scripts/install-deps.sh)`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root (containers, CI) cannot use Chromium's sandbox.
    args: process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [],
  });
  return browser;
}

// The browser logs failed network requests itself (console "Failed to load resource: ..." and "WebSocket connection
// to ... failed", or "... closed before the connection is established" when the page gives up a hanging attempt):
// the 401 of GET /api/me before login, and refused connections while a test has the bridge down. Those are
// expected (kept in page.networkNoise); every other console error or warning, and every uncaught exception, is a
// failure.
const BROWSER_NETWORK_NOISE = /^(Failed to load resource: |WebSocket connection to '[^']*' failed)/;

// A browser context (own cookies) with one page on the bridge's web root, recording console problems; not logged in.
async function newPage(bridge, user) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'en-US' });
  const page = await context.newPage();
  page.setDefaultTimeout(GUARD);
  page.problems = [];
  page.networkNoise = [];
  page.userName = user;
  page.on('console', (msg) => {
    if (msg.type() !== 'error' && msg.type() !== 'warning') return;
    const text = msg.text();
    if (msg.type() === 'error' && BROWSER_NETWORK_NOISE.test(text)) page.networkNoise.push(text);
    else page.problems.push(`console.${msg.type()}: ${text} (at ${msg.location().url}:${msg.location().lineNumber}:${msg.location().columnNumber})`);
  });
  page.on('pageerror', (err) => page.problems.push(`uncaught: ${err.stack || err.message}`));
  await page.goto(`${bridge.httpUrl}/`);
  return page;
}

// A new page (see newPage) logged in as `user` through the development login form.
async function userPage(bridge, user, { org = 'dev' } = {}) {
  const page = await newPage(bridge, user);
  await page.getByTestId('login-form').waitFor();
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Organization').fill(org);
  await page.getByLabel('Organization').press('Enter');
  await waitStatus(page, 'connected');
  return page;
}

async function waitStatus(page, state) {
  try {
    await page.waitForFunction((s) => {
      const e = document.querySelector('[data-testid="connection-status"]');
      return e && e.dataset.state === s;
    }, state, { timeout: GUARD });
  } catch (err) {
    err.message += `\n${await describePage(page)}`;
    throw err;
  }
}

// What a page shows and what its connection is doing, for hang-guard messages.
async function describePage(page) {
  try {
    const d = await page.evaluate(() => {
      const text = (id) => { const e = document.querySelector(`[data-testid="${id}"]`); return e && !e.hidden ? e.textContent : null; };
      const { link, doc } = window.__collab;
      return {
        status: text('connection-status'), error: text('error'), login: text('login-form') !== null,
        closeCodes: link && link.closeCodes, attempt: link && link.attempt, timer: !!(link && link.timer),
        socket: link && link.socket ? link.socket.readyState : null, sharedb: link && link.connection.state,
        doc: doc && { id: doc.id, version: doc.version, inflight: !!doc.inflightOp, pending: doc.pendingOps.length },
      };
    });
    return `${page.userName}'s page: ${JSON.stringify(d)}; browser network errors: ${JSON.stringify(page.networkNoise.slice(-8))}`;
  } catch (err) {
    return `${page.userName}'s page: (could not be read: ${err.message})`;
  }
}

// Opens (creating it when `create`) the note `id` through the sidebar form, and waits until it is loaded.
async function openNote(page, id, { create = false } = {}) {
  if (create) {
    await page.getByLabel('Open or create a note').fill(id);
    await page.getByLabel('Open or create a note').press('Enter');
  } else {
    await page.evaluate((hash) => { location.hash = hash; }, `#/notes/${encodeURIComponent(id)}`);
  }
  await page.waitForFunction((d) => {
    const c = window.__collab;
    return c && c.doc && c.doc.id === d && c.doc.type && c.view && !c.doc.hasWritePending();
  }, id, { timeout: GUARD });
}

// What the page holds: the ShareDB doc's data, version, unacknowledged ops, and the editor's text.
function pageState(page) {
  return page.evaluate(() => {
    const { doc, view } = window.__collab;
    return {
      data: doc ? doc.data : null,
      version: doc ? doc.version : null,
      pending: doc ? (doc.inflightOp ? 1 : 0) + doc.pendingOps.length : 0,
      editor: view ? view.state.doc.toString() : null,
    };
  });
}

// Waits until every page has no unacknowledged op and all are at the same version as the database, then asserts
// that each page's doc and editor text equal the database snapshot. Returns the text.
async function assertConverged(pages, id) {
  let db;
  await h.waitFor(async () => {
    db = await h.dbFetch('notes', id);
    const states = await Promise.all(pages.map(pageState));
    return states.every((s) => s.pending === 0 && s.version === db.v);
  }, `every page to reach the database's version of notes/${id} with nothing pending`, { timeout: GUARD * 2, interval: 100 });
  const states = await Promise.all(pages.map(pageState));
  for (const [i, s] of states.entries()) {
    assert.equal(s.data, db.data, `${pages[i].userName}: doc.data equals collab.fetch`);
    assert.equal(s.editor, db.data, `${pages[i].userName}: the editor shows the document`);
  }
  return db.data;
}

function assertNoPageProblems(pages) {
  for (const p of pages) assert.deepEqual(p.problems, [], `${p.userName}: console errors or uncaught exceptions`);
}

async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${testName}-${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

// Asserts that `text` contains the characters of `typed` in order (other users' text may be interleaved).
function assertSubsequence(text, typed, what) {
  const t = [...text];
  let i = 0;
  for (const ch of typed) {
    while (i < t.length && t[i] !== ch) i++;
    assert.ok(i < t.length, `${what}: "${typed}" is not contained in order in ${JSON.stringify(text)}`);
    i++;
  }
}

async function cleanup() {
  if (browser) {
    const b = browser;
    browser = null;
    await b.close().catch(() => {});
  }
  await h.cleanup();
}

// Puts the editor's cursor of `page` at the start or the end of the document.
async function caretTo(page, where) {
  await page.locator('.cm-content').focus();
  await page.keyboard.press(where === 'start' ? 'Control+Home' : 'Control+End');
}

module.exports = {
  h, GUARD, caretTo, ARTIFACTS, setupDatabase, startWebBridge, launchBrowser, newPage, userPage, waitStatus, describePage, openNote, pageState,
  assertConverged, assertNoPageProblems, screenshot, assertSubsequence, cleanup,
};
