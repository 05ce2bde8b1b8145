// User colours. Remote cursors and name chips are coloured with CSS classes (user-color-N in styles.css), not with
// style attributes: the bridge's Content-Security-Policy (style-src 'self') blocks inline styles.
export const PALETTE = ['#d1495b', '#2e86ab', '#3b8c3b', '#b5651d', '#7b4fb3', '#c2185b', '#00838f', '#8d6e00'];

// A stable colour for a user name.
export function colorFor(user) {
  let h = 0;
  for (const ch of user) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

// The class for a colour another client sent (user-color-unknown for one outside the palette).
export function colorClass(color) {
  const i = PALETTE.indexOf(String(color).toLowerCase());
  return i >= 0 ? `user-color-${i}` : 'user-color-unknown';
}
