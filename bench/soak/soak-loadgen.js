'use strict';
// bench/bridge/loadgen.js with per-interval figures, for the soak run (bench/soak/run.sh).
//
//   node soak-loadgen.js --soak-dir DIR [--soak-window S] [--soak-rss-every S] -- <loadgen.js options>
//
// loadgen.js keeps exact latency samples for the whole measured window but prints them only at the end. Rather than
// fork it, this wrapper loads its source, checks that the few lines it hooks are there (it fails loudly if
// loadgen.js changed), adds a recorder and runs it as bench/bridge/loadgen.js (so `require` resolves from
// bench/bridge/node_modules). The recorder appends, from the moment the load starts (run with --warmup 0):
//   DIR/windows.csv   every --soak-window seconds (10): t_s (end of the window, seconds since the load started),
//                     rss_kib (server VmRSS at that moment), acked (wire ops acked in the window), edits_acked,
//                     p50_ms, p95_ms, p99_ms (edit -> ack latency of the edits acked in the window), errors (new
//                     errors of any kind in the window, as loadgen counts them), offered (edits made in the window)
//   DIR/rss.csv       every --soak-rss-every seconds (5): t_launch_s (seconds since this process started: the
//                     connect phase is included; totals.json says when the load started), rss_kib
//   DIR/minutes.csv   every 60 s: minute, n, p50_ms, p95_ms, p99_ms, max_ms
//   DIR/totals.json   at exit: total wire ops acked over the whole run (settle included), load start and end times
// Every line is appended as it is made, so a crash leaves the figures up to that moment.
const fs = require('fs');
const path = require('path');
const Module = require('module');

const argv = process.argv.slice(2);
const sep = argv.indexOf('--');
if (sep < 0) {
  process.stderr.write('usage: node soak-loadgen.js --soak-dir DIR [--soak-window S] [--soak-rss-every S] -- <loadgen.js options>\n');
  process.exit(2);
}
const own = argv.slice(0, sep);
const soak = { dir: null, window: 10, rssEvery: 5 };
for (let i = 0; i < own.length; i += 2) {
  const k = { '--soak-dir': 'dir', '--soak-window': 'window', '--soak-rss-every': 'rssEvery' }[own[i]];
  if (!k || own[i + 1] == null) {
    process.stderr.write(`soak-loadgen.js: bad option ${own[i]}\n`);
    process.exit(2);
  }
  soak[k] = k === 'dir' ? own[i + 1] : Number(own[i + 1]);
}
if (!soak.dir || !(soak.window > 0) || !(soak.rssEvery > 0)) {
  process.stderr.write('soak-loadgen.js: --soak-dir is required; windows must be > 0 s\n');
  process.exit(2);
}
fs.mkdirSync(soak.dir, { recursive: true });

const file = path.join(__dirname, '..', 'bridge', 'loadgen.js');
let src = fs.readFileSync(file, 'utf8');
function patch(needle, replacement) {
  const i = src.indexOf(needle);
  if (i < 0 || src.indexOf(needle, i + 1) >= 0) {
    process.stderr.write(`soak-loadgen.js: bench/bridge/loadgen.js changed: '${needle.split('\n')[0]}' is not found exactly once; update bench/soak/soak-loadgen.js\n`);
    process.exit(2);
  }
  src = src.slice(0, i) + replacement + src.slice(i + needle.length);
}
// 1. count every wire ack (loadgen counts only those inside its window; the settle phase follows the window)
patch('      this.version++;\n      const inf = this.inflight;', '      this.version++; __soak.wireAcked++;\n      const inf = this.inflight;');
// 2. note when the load starts (the stats object of the steady phase is created right then)
patch('  stats = newStats(t0 + opt.warmup * 1000, t0 + (opt.warmup + opt.seconds) * 1000);',
  '  stats = newStats(t0 + opt.warmup * 1000, t0 + (opt.warmup + opt.seconds) * 1000); __soak.start(t0);');
// 3. the recorder, defined before main()
patch('async function main() {', `${recorder.toString()}\nconst __soak = recorder(__soakOpt, { fs, path: require('path'), performance, rssKiB, opt, getStats: () => stats });\nasync function main() {`);
src = `const __soakOpt = ${JSON.stringify(soak)};` + src.replace(/^#!.*/, ''); // same line numbers

function recorder(so, env) {
  const { fs, path, performance, rssKiB, opt, getStats } = env;
  const w = (name, line) => fs.appendFileSync(path.join(so.dir, name), line + '\n');
  w('windows.csv', 't_s,rss_kib,acked,edits_acked,p50_ms,p95_ms,p99_ms,errors,offered');
  w('rss.csv', 't_launch_s,rss_kib');
  w('minutes.csv', 'minute,n,p50_ms,p95_ms,p99_ms,max_ms');
  const t00 = performance.now();
  const s = { wireAcked: 0, t0: null, tEnd: null };
  const errorsOf = (st) => {
    let n = st.ackMismatch + st.gaps + st.connectFailures + st.brokenClients;
    for (const v of Object.values(st.errorReplies)) n += v;
    for (const v of Object.values(st.closes)) n += v;
    return n;
  };
  const pct = (buf, from, to) => {
    if (to <= from) return null;
    const a = buf.slice(from, to).sort();
    const q = (p) => a[Math.min(a.length - 1, Math.max(0, Math.ceil(p * a.length) - 1))];
    const r = (x) => Math.round(x * 100) / 100;
    return { n: a.length, p50: r(q(0.5)), p95: r(q(0.95)), p99: r(q(0.99)), max: r(a[a.length - 1]) };
  };
  const rel = (now) => Math.round((now - (s.t0 == null ? now : s.t0)) / 100) / 10;
  const rssTimer = setInterval(() => {
    w('rss.csv', `${(Math.round((performance.now() - t00) / 100) / 10).toFixed(1)},${rssKiB(opt.serverPid) ?? ''}`);
  }, so.rssEvery * 1000);
  rssTimer.unref();
  let last = null; // marks at the end of the previous window
  let lastT = 0;
  let lastMin = null;
  let lastMinT = 0;
  let minute = 0;
  const mark = () => {
    const st = getStats();
    return { n: st.ack.n, acked: s.wireAcked, edits: st.editsAckedInWindow, errors: errorsOf(st), offered: st.editsOffered };
  };
  const windowRow = () => {
    const st = getStats();
    const m = mark();
    const p = pct(st.ack.buf, last.n, m.n) || {};
    w('windows.csv', [rel(performance.now()), rssKiB(opt.serverPid) ?? '', m.acked - last.acked, m.edits - last.edits,
      p.p50 ?? '', p.p95 ?? '', p.p99 ?? '', m.errors - last.errors, m.offered - last.offered].join(','));
    last = m;
    lastT = performance.now();
  };
  const minuteRow = () => {
    const st = getStats();
    const n = st.ack.n;
    const p = pct(st.ack.buf, lastMin, n);
    minute++;
    w('minutes.csv', p ? `${minute},${p.n},${p.p50},${p.p95},${p.p99},${p.max}` : `${minute},0,,,,`);
    lastMin = n;
    lastMinT = performance.now();
  };
  s.start = (t0) => {
    s.t0 = t0;
    s.wireAcked = 0;
    last = mark();
    lastMin = last.n;
    lastT = lastMinT = t0;
    setInterval(windowRow, so.window * 1000).unref();
    setInterval(minuteRow, 60000).unref();
  };
  process.on('exit', () => {
    // the last, partial window or minute (the settle phase after the load), unless it is too short to mean anything
    if (last && performance.now() - lastT >= 2000) windowRow();
    if (last && performance.now() - lastMinT >= 30000) minuteRow();
    fs.writeFileSync(path.join(so.dir, 'totals.json'), JSON.stringify({
      wireAckedTotal: s.wireAcked, loadStartedSecondsAfterLaunch: s.t0 == null ? null : Math.round((s.t0 - t00) / 100) / 10,
    }) + '\n');
  });
  return s;
}

process.argv = [process.argv[0], file, ...argv.slice(sep + 1)];
const m = new Module(file, module);
m.filename = file;
m.paths = Module._nodeModulePaths(path.dirname(file));
m._compile(src, file);
