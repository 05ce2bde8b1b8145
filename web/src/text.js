// Conversions between CodeMirror and text-unicode.
//
// text-unicode (ShareDB's text type) counts positions in Unicode code points; CodeMirror (like every JavaScript
// string) counts UTF-16 code units. A character outside the Basic Multilingual Plane (most emoji, 𝄞, some CJK) is
// one code point but two code units, so every position that crosses the boundary must be converted.

// Number of code points in s (a surrogate pair counts once; a lone surrogate counts once too).
export function codePointLength(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

// The UTF-16 offset reached by advancing `count` code points from UTF-16 offset `from` in s (clamped to s.length).
export function advanceCodePoints(s, from, count) {
  let i = from;
  while (count > 0 && i < s.length) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      i += d >= 0xdc00 && d <= 0xdfff ? 2 : 1;
    } else {
      i++;
    }
    count--;
  }
  return i;
}

// Code-point index of UTF-16 offset `utf16` in s.
export function utf16ToCodePoint(s, utf16) {
  return codePointLength(s.slice(0, utf16));
}

// UTF-16 offset of code-point index `cp` in s.
export function codePointToUtf16(s, cp) {
  return advanceCodePoints(s, 0, cp);
}

// A text-unicode op from CodeMirror changes.
//   oldText: the document before the changes; changes: [{fromA, toA, inserted}] in increasing order of fromA,
//   positions in UTF-16 units of oldText (what ChangeSet.iterChanges reports).
// Returns a normalized op ([skip, "insert", {d: count}, ...]) or null when nothing changes.
export function changesToOp(oldText, changes) {
  const op = [];
  const push = (c) => {
    const last = op[op.length - 1];
    if (typeof c === 'number' && typeof last === 'number') op[op.length - 1] = last + c;
    else if (typeof c === 'string' && typeof last === 'string') op[op.length - 1] = last + c;
    else if (typeof c === 'object' && last && typeof last === 'object') op[op.length - 1] = { d: last.d + c.d };
    else op.push(c);
  };
  let at = 0; // UTF-16 offset in oldText already covered by the op
  for (const { fromA, toA, inserted } of changes) {
    const skip = codePointLength(oldText.slice(at, fromA));
    if (skip > 0) push(skip);
    if (inserted.length > 0) push(inserted);
    const del = codePointLength(oldText.slice(fromA, toA));
    if (del > 0) push({ d: del });
    at = toA;
  }
  // Trailing skips are implicit in text-unicode.
  while (op.length && typeof op[op.length - 1] === 'number') op.pop();
  return op.length ? op : null;
}

// CodeMirror change specs ({from, to, insert} in UTF-16 units of `text`) from a text-unicode op that applies to text.
// Components: a number skips code points, a string inserts, {d: n} or {d: "deleted text"} deletes.
export function opToChanges(text, op) {
  const changes = [];
  let pos = 0; // UTF-16 offset in text (the document before the op)
  for (const c of op) {
    if (typeof c === 'number') {
      pos = advanceCodePoints(text, pos, c);
    } else if (typeof c === 'string') {
      changes.push({ from: pos, to: pos, insert: c });
    } else if (c && c.d !== undefined) {
      const n = typeof c.d === 'number' ? c.d : codePointLength(c.d);
      const end = advanceCodePoints(text, pos, n);
      changes.push({ from: pos, to: end });
      pos = end;
    }
  }
  return changes;
}
