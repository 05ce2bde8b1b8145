'use strict';
// The position conversions of web/src/text.js (UTF-16 code units in CodeMirror, code points in text-unicode),
// checked against npm ot-text-unicode with random edits over text full of characters outside the BMP. No browser.
const assert = require('node:assert/strict');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { test } = require('node:test');
const { textUnicode, rng, testSeed } = require('../e2e/harness.js');

const TEXT_JS = pathToFileURL(path.join(__dirname, '..', '..', 'web', 'src', 'text.js')).href;
const PIECES = ['a', 'é', 'e\u0301', '漢', '👋🏽', '🇫🇷', '𝄞', '\n', ' ', 'Ω', '👩‍👩‍👧'];

// A random string, and random whole-code-point boundaries in it (CodeMirror never splits a surrogate pair).
function randomText(r, n) {
  let s = '';
  for (let i = 0; i < n; i++) s += r.pick(PIECES);
  return s;
}
function boundaries(s) {
  const b = [0];
  let i = 0;
  for (const ch of s) {
    i += ch.length;
    b.push(i);
  }
  return b;
}

test('CodeMirror changes become the text-unicode op that makes the same text, and back', async () => {
  const { changesToOp, opToChanges, codePointToUtf16, utf16ToCodePoint } = await import(TEXT_JS);
  const seed = testSeed();
  const r = rng(seed);
  for (let round = 0; round < 3000; round++) {
    const text = randomText(r, r.int(12));
    const b = boundaries(text);
    // Up to three non-overlapping changes, in order, as ChangeSet.iterChanges reports them.
    const cuts = [...new Set(Array.from({ length: 2 * (1 + r.int(3)) }, () => r.pick(b)))].sort((x, y) => x - y);
    const changes = [];
    for (let i = 0; i + 1 < cuts.length; i += 2) {
      changes.push({ fromA: cuts[i], toA: r() < 0.5 ? cuts[i] : cuts[i + 1], inserted: r() < 0.7 ? randomText(r, r.int(3)) : '' });
    }
    let expected = '';
    let at = 0;
    for (const c of changes) {
      expected += text.slice(at, c.fromA) + c.inserted;
      at = c.toA;
    }
    expected += text.slice(at);
    const op = changesToOp(text, changes);
    const what = `seed ${seed} round ${round}: ${JSON.stringify(text)} ${JSON.stringify(changes)}`;
    assert.equal(op === null ? text : textUnicode.apply(text, op), expected, what);
    if (op === null) continue;
    assert.deepEqual(textUnicode.normalize(op), op, `${what}: the op is normalized`);
    // And the op back to CodeMirror changes (positions in the old text) gives the same text.
    let back = '';
    at = 0;
    for (const c of opToChanges(text, op)) {
      back += text.slice(at, c.from) + (c.insert || '');
      at = c.to;
    }
    back += text.slice(at);
    assert.equal(back, expected, `${what}: opToChanges`);
    for (const u of b) assert.equal(codePointToUtf16(text, utf16ToCodePoint(text, u)), u, `${what}: position ${u}`);
  }
});
