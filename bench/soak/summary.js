'use strict';
// Summary of a soak run (bench/soak/run.sh): node summary.js DIR WARMUP_S FLAT_PCT FLAT_MIB SECONDS
// Reads DIR/windows.csv, rss.csv, minutes.csv, totals.json, loadgen.json; writes DIR/samples.csv (the figures per
// 10-s window: time, rss_kib, acked, p50_ms, p95_ms, p99_ms, errors), DIR/rss_load.csv (the 5-s RSS samples with
// the time since the load started; negative during the connect phase) and DIR/summary.txt.
const fs = require('fs');
const path = require('path');
const [dir, warmupS, flatPctS, flatMibS, secondsS] = process.argv.slice(2);
const warmup = Number(warmupS), flatPct = Number(flatPctS), flatMib = Number(flatMibS), seconds = Number(secondsS);
const readCsv = (f) => {
  const p = path.join(dir, f);
  if (!fs.existsSync(p)) return [];
  const [head, ...rows] = fs.readFileSync(p, 'utf8').trim().split('\n');
  const keys = head.split(',');
  return rows.filter(Boolean).map((r) => Object.fromEntries(r.split(',').map((v, i) => [keys[i], v === '' ? null : Number(v)])));
};
const windows = readCsv('windows.csv');
const minutes = readCsv('minutes.csv');
const totals = fs.existsSync(path.join(dir, 'totals.json')) ? JSON.parse(fs.readFileSync(path.join(dir, 'totals.json'), 'utf8')) : {};
const lg = fs.existsSync(path.join(dir, 'loadgen.json')) ? JSON.parse(fs.readFileSync(path.join(dir, 'loadgen.json'), 'utf8')) : null;
const start = totals.loadStartedSecondsAfterLaunch ?? 0;
const rss = readCsv('rss.csv').map((r) => ({ t: Math.round((r.t_launch_s - start) * 10) / 10, kib: r.rss_kib }));

fs.writeFileSync(path.join(dir, 'samples.csv'), 'time_s,rss_kib,acked,p50_ms,p95_ms,p99_ms,errors\n' +
  windows.map((w) => [w.t_s, w.rss_kib ?? '', w.acked, w.p50_ms ?? '', w.p95_ms ?? '', w.p99_ms ?? '', w.errors].join(',')).join('\n') + '\n');
fs.writeFileSync(path.join(dir, 'rss_load.csv'), 'time_s,rss_kib\n' + rss.map((r) => `${r.t},${r.kib ?? ''}`).join('\n') + '\n');

const out = [];
const say = (s = '') => out.push(s);
const mib = (k) => (k == null ? '?' : (k / 1024).toFixed(1) + ' MiB');
const setup = fs.existsSync(path.join(dir, 'setup.txt')) ? fs.readFileSync(path.join(dir, 'setup.txt'), 'utf8').trimEnd() : '';
say('collab-bridge soak run');
say(setup);
say();

// RSS during the load (the connect phase is before t = 0; the last samples may fall in the settle/verify phase)
const during = rss.filter((r) => r.kib != null && r.t >= 0 && r.t <= seconds);
const after = during.filter((r) => r.t >= warmup);
const near = (t) => during.reduce((b, r) => (b == null || Math.abs(r.t - t) < Math.abs(b.t - t) ? r : b), null);
const mean = (a) => a.reduce((s, x) => s + x, 0) / a.length;
say('RSS of the bridge (VmRSS, sampled every 5 s)');
const before = rss.filter((r) => r.kib != null && r.t < 0);
if (before.length) say(`  after connecting (${lg ? lg.clients : '?'} sockets, before the first edit): ${mib(before[before.length - 1].kib)}`);
let flat = null;
if (after.length >= 4) {
  const w0 = near(warmup), wEnd = during[during.length - 1];
  const max = during.reduce((m, r) => (r.kib > m.kib ? r : m));
  // least-squares slope after warm-up, KiB per minute
  const xs = after.map((r) => r.t / 60), ys = after.map((r) => r.kib);
  const mx = mean(xs), my = mean(ys);
  let sxy = 0, sxx = 0;
  for (let i = 0; i < xs.length; i++) { sxy += (xs[i] - mx) * (ys[i] - my); sxx += (xs[i] - mx) ** 2; }
  const slope = sxx > 0 ? sxy / sxx : 0;
  // the rule compares means over one minute (12 samples) so that a single allocation burst does not decide it
  const first = after.filter((r) => r.t < warmup + 60).map((r) => r.kib);
  const last = after.filter((r) => r.t > seconds - 60).map((r) => r.kib);
  const a = mean(first), b = mean(last.length ? last : [wEnd.kib]);
  const growth = b - a;
  const allowed = Math.max(a * flatPct / 100, flatMib * 1024);
  flat = growth < allowed;
  say(`  at warm-up end (t = ${w0.t} s):         ${mib(w0.kib)}`);
  say(`  at the end of the load (t = ${wEnd.t} s):  ${mib(wEnd.kib)}`);
  say(`  max during the load:                  ${mib(max.kib)} (t = ${max.t} s)`);
  say(`  slope after warm-up (least squares):  ${(slope >= 0 ? '+' : '') + slope.toFixed(1)} KiB/min (${(slope * 60 / 1024).toFixed(2)} MiB/hour)`);
  say(`  mean of the minute after warm-up ${mib(a)}, of the last minute ${mib(b)}: growth ${(growth / 1024).toFixed(2)} MiB (${(growth / a * 100).toFixed(1)}%)`);
  say(`  RSS flat: ${flat ? 'yes' : 'no'}   (rule: mean RSS of the last minute exceeds the mean of the first minute after the`);
  say(`            ${warmup}-s warm-up by less than max(${flatPct}% of it, ${flatMib} MiB) = ${(allowed / 1024).toFixed(1)} MiB)`);
} else {
  say('  too few samples after warm-up for a verdict (RSS flat: unknown)');
}
say();

say('edit -> ack latency (ms; every edit of the run, from the moment it is made to the ack of the op carrying it)');
if (lg) {
  const a = lg.ack;
  say(`  whole run: n=${a.n} p50=${a.p50} p95=${a.p95} p99=${a.p99} max=${a.max} mean=${a.mean}`);
  say(`  throughput: offered ${lg.offeredEditsPerSec} edits/s, acked ${lg.ackedEditsPerSec} edits/s in ${lg.ackedOpsPerSec} wire ops/s`);
  say(`  fan-out (edit -> receipt by each other editor of the document): p50=${lg.fanout.p50} p95=${lg.fanout.p95} p99=${lg.fanout.p99} max=${lg.fanout.max}`);
  say(`  cpu % of one core (load generator / bridge / PostgreSQL / other): ${JSON.stringify(lg.cpuPercent)}; load generator event-loop delay ${JSON.stringify(lg.loadgenLoopLagMs)} ms`);
  say(`  errors: ${lg.errorCount} ${JSON.stringify(lg.errors)}`);
}
say('  per minute:');
say('    minute        n      p50      p95      p99      max');
for (const m of minutes) {
  say(`    ${String(m.minute).padStart(6)} ${String(m.n).padStart(8)} ${String(m.p50_ms ?? '-').padStart(8)} ${String(m.p95_ms ?? '-').padStart(8)} ${String(m.p99_ms ?? '-').padStart(8)} ${String(m.max_ms ?? '-').padStart(8)}`);
}
const errs = windows.reduce((s, w) => s + (w.errors || 0), 0);
const p99s = windows.filter((w) => w.p99_ms != null).map((w) => w.p99_ms);
if (p99s.length) say(`  per 10-s window: p99 from ${Math.min(...p99s)} to ${Math.max(...p99s)} ms; errors in all windows: ${errs}`);
say();
say(`files: samples.csv (per 10-s window), rss_load.csv (RSS every 5 s), minutes.csv, loadgen.json, loadgen.log, bridge.log, soak.png`);
fs.writeFileSync(path.join(dir, 'summary.txt'), out.join('\n') + '\n');
if (flat != null) fs.writeFileSync(path.join(dir, 'verdict.txt'), `RSS flat: ${flat ? 'yes' : 'no'}\n`);
