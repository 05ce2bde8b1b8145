#!/usr/bin/env node
// Prints the table of a bench/bridge/run.sh run from its result files, and the ratios issue 3 asks for.
//   node report.js RESULTS_DIR
// RESULTS_DIR holds <profile>.<server>.json (written by loadgen.js --json) and pgbench.json (written by run.sh).
// Nothing is asserted: targets are printed next to the figures.
'use strict';
const fs = require('fs');
const path = require('path');

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: node report.js RESULTS_DIR\n');
  process.exit(2);
}
const SERVERS = [
  ['bridge', 'collab-bridge'],
  ['sharedb-postgres', 'ShareDB + sharedb-postgres'],
  ['sharedb-memory', 'ShareDB + MemoryDB'],
];
const read = (f) => {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  } catch (e) {
    return null;
  }
};
const res = (profile, server) => read(`${profile}.${server}.json`);
const pgbench = read('pgbench.json');
if (pgbench) {
  const ok = (pgbench.runs || []).filter((x) => typeof x === 'number' && x > 0);
  pgbench.tps = ok.length && ok.length === pgbench.runs.length ? ok.reduce((a, b) => a + b, 0) / ok.length : null;
}

const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);
const num = (x, d = 1) => (x == null ? '-' : x < 10 && d > 0 ? x.toFixed(2) : x < 100 ? x.toFixed(d) : Math.round(x).toString());
const lat = (s) => (s && s.n ? `${num(s.p50)} / ${num(s.p95)} / ${num(s.p99)} / ${num(s.max)}` : '-');
const ratio = (a, b) => (a > 0 && b > 0 ? a / b : null);
const fx = (x) => (x == null ? 'n/a' : x >= 100 ? `${Math.round(x)}x` : `${x.toFixed(2)}x`);
// loadgen / server / postgres / other processes on the machine, in percent of one core.
const cpu = (c) => {
  if (!c) return '-';
  const other = c.machine == null ? null : Math.max(0, c.machine - (c.loadgen || 0) - (c.server || 0) - (c.postgres || 0));
  return [c.loadgen, c.server, c.postgres, other].map((x) => (x == null ? '-' : Math.round(x))).join('/');
};
function errs(r) {
  if (!r) return '-';
  let n = r.errorCount || 0;
  n += r.unackedAtEnd || 0;
  n += r.fanoutMissingAtEnd || 0;
  return String(n);
}
function errDetail(r) {
  const parts = [];
  const e = r.errors || {};
  for (const [k, v] of Object.entries(e.errorReplies || {})) parts.push(`${k} x${v}`);
  for (const [k, v] of Object.entries(e.closes || {})) parts.push(`close ${k} x${v}`);
  if (e.ackMismatch) parts.push(`ack version mismatch x${e.ackMismatch}`);
  if (e.gaps) parts.push(`version gap x${e.gaps}`);
  if (e.connectFailures) parts.push(`connect failures x${e.connectFailures}`);
  if (r.unackedAtEnd) parts.push(`${r.unackedAtEnd} edits unacked ${r.settled === false ? 'when the settle time ran out' : ''}`);
  if (r.fanoutMissingAtEnd) parts.push(`${r.fanoutMissingAtEnd} fan-out deliveries missing`);
  return parts.join(', ');
}
const conv = (r) => (r && r.convergence ? `${r.convergence.converged}/${r.convergence.docs}` : '-');

const lines = [];
const out = (s = '') => lines.push(s);

for (const [profile, title] of [['many-docs', 'many docs: 200 clients on 20 documents, 10 edits/s each'],
  ['hot-doc', 'hot doc: 100 clients on 1 document, 10 edits/s each']]) {
  if (!SERVERS.some(([k]) => res(profile, k))) continue;
  out(`${title}`);
  out(`  ${pad('server', 27)} ${lpad('offered/s', 9)} ${lpad('acked/s', 8)} ${lpad('ops/s', 7)}  ${pad('ack ms p50 / p95 / p99 / max', 30)} ${pad('fan-out ms p50 / p95 / p99 / max', 33)} ${lpad('errors', 6)} ${lpad('converged', 9)}  cpu% lg/srv/pg/other`);
  for (const [k, name] of SERVERS) {
    const r = res(profile, k);
    if (!r) continue;
    out(`  ${pad(name, 27)} ${lpad(num(r.offeredEditsPerSec, 0), 9)} ${lpad(num(r.ackedEditsPerSec, 0), 8)} ${lpad(num(r.ackedOpsPerSec, 0), 7)}  ${pad(lat(r.ack), 30)} ${pad(lat(r.fanout), 33)} ${lpad(errs(r), 6)} ${lpad(conv(r), 9)}  ${cpu(r.cpuPercent)}`);
  }
  for (const [k, name] of SERVERS) {
    const r = res(profile, k);
    if (!r) continue;
    const d = errDetail(r);
    if (d) out(`  ${name} errors: ${d}`);
    if (r.convergence && r.convergence.examples && r.convergence.examples.length) out(`  ${name} not converged, e.g.: ${r.convergence.examples.slice(0, 2).join(' | ')}`);
    if (r.brokenExamples) out(`  ${name} failed clients, e.g.: ${r.brokenExamples.slice(0, 2).join(' | ')}`);
  }
  out();
}

const mt = SERVERS.map(([k, name]) => [k, name, res('max-throughput', k)]).filter((x) => x[2]);
if (mt.length || pgbench) {
  out('max throughput: the best step with acked >= 95% of offered, p99 ack < 100 ms, no errors (one client per document)');
  out(`  ${pad('server', 27)} ${lpad('ops/s', 8)} ${lpad('edits/s', 8)}  ${pad('ack ms p50 / p95 / p99 / max at that step', 42)} ${lpad('converged', 9)}  ${pad('first step not sustained', 26)} cpu% lg/srv/pg/other`);
  for (const [, name, r] of mt) {
    const b = r.best;
    out(`  ${pad(name, 27)} ${lpad(num(r.maxSustainedOpsPerSec, 0), 8)} ${lpad(num(r.maxSustainedEditsPerSec, 0), 8)}  ${pad(b ? lat(b.ack) : '-', 42)} ${lpad(conv(r), 9)}  ${pad(r.limitedBy.replace('first unsustained step ', ''), 26)} ${b ? cpu(b.cpuPercent) : '-'}`);
  }
  if (pgbench) {
    const runs = (pgbench.runs || []).map((x, i) => `${x == null ? 'invalid' : Math.round(x)} tps (latency avg ${pgbench.latencies_ms[i]} ms)`);
    out(`  ${pad('pgbench lock + INSERT', 27)} ${lpad(pgbench.tps == null ? 'invalid' : num(pgbench.tps, 0), 8)} ${lpad('', 8)}  mean of the runs before and after the ramps: ${runs.join(', ')}; ${pgbench.clients} clients, -M prepared`);
  }
  for (const [, name, r] of mt) {
    const steps = (r.steps || []).map((s) => `${Math.round(s.targetOpsPerSec)}:${s.sustained ? 'ok' : 'NO'}(p99 ${num(s.ack.p99)}, ${num(s.ackedOpsPerSec, 0)}/s${s.errorCount ? `, ${s.errorCount} err` : ''})`);
    out(`  ${name} steps: ${steps.join(' ')}`);
  }
  out();
}

const idle = SERVERS.map(([k, name]) => [k, name, res('idle', k)]).filter((x) => x[2]);
if (idle.length) {
  out(`idle: open, subscribed, idle sockets (server RSS, VmRSS)`);
  out(`  ${pad('server', 27)} ${lpad('sockets', 8)} ${lpad('open', 6)} ${lpad('RSS before', 11)} ${lpad('RSS idle', 9)} ${lpad('RSS max', 8)} ${lpad('KiB/socket', 11)} ${lpad('errors', 6)} ${lpad('connect s', 9)}  cpu% idle`);
  for (const [, name, r] of idle) {
    out(`  ${pad(name, 27)} ${lpad(r.sockets, 8)} ${lpad(r.openAtEnd, 6)} ${lpad(`${num(r.rssMiB.afterCreate)} MiB`, 11)} ${lpad(`${num(r.rssMiB.end)} MiB`, 9)} ${lpad(`${num(r.rssMiB.max)} MiB`, 8)} ${lpad(num(r.rssPerSocketKiB), 11)} ${lpad(r.errorCount, 6)} ${lpad(num(r.connectSeconds), 9)}  ${r.cpuPercentDuringHold && r.cpuPercentDuringHold.server != null ? r.cpuPercentDuringHold.server : '-'}`);
    if (r.connectFailureExamples && r.connectFailureExamples.length) out(`  ${name} connect failures, e.g.: ${r.connectFailureExamples.join(' | ')}`);
    if (r.closesDuringHold && Object.keys(r.closesDuringHold).length) out(`  ${name} closes: ${JSON.stringify(r.closesDuringHold)}`);
  }
  out();
}

// Other processes on the machine during the measurements.
{
  const others = [];
  for (const p of ['many-docs', 'hot-doc', 'max-throughput']) {
    for (const [k] of SERVERS) {
      const r = res(p, k);
      const c = r && (p === 'max-throughput' ? r.best && r.best.cpuPercent : r.cpuPercent);
      if (c && c.machine != null) others.push(Math.max(0, c.machine - (c.loadgen || 0) - (c.server || 0) - (c.postgres || 0)));
    }
  }
  if (others.length) {
    out(`other processes on the machine used ${Math.round(Math.min(...others))}-${Math.round(Math.max(...others))}% of one core (mean ${Math.round(others.reduce((a, b) => a + b, 0) / others.length)}%) during these measurements, out of ${require('os').cpus().length * 100}%`);
    out();
  }
}

// Ratios and targets.
out('ratios (issue 3 targets in brackets; nothing is asserted):');
const b = (p) => res(p, 'bridge');
const s = (p) => res(p, 'sharedb-postgres');
const m = (p) => res(p, 'sharedb-memory');
const met = (ok) => (ok == null ? '' : ok ? '  met' : '  MISSED');
for (const [p, limit] of [['many-docs', 25], ['hot-doc', 50]]) {
  const rb = b(p), rs = s(p), rm = m(p);
  if (rb) {
    const clean = Number(errs(rb)) === 0 && rb.convergence && rb.convergence.converged === rb.convergence.docs;
    out(`  ${pad(p, 15)} bridge p99 ack ${num(rb.ack.p99)} ms, fan-out ${num(rb.fanout.p99)} ms [<= ${limit} ms]${met(rb.ack.p99 != null && rb.fanout.p99 != null && rb.ack.p99 <= limit && rb.fanout.p99 <= limit)}; errors ${errs(rb)}, converged ${conv(rb)} [0, all]${met(clean)}`);
  }
  if (rb && rs) {
    const ra = ratio(rs.ack.p99, rb.ack.p99), rf = ratio(rs.fanout.p99, rb.fanout.p99);
    out(`  ${pad('', 15)} p99 ShareDB+sharedb-postgres / bridge: ack ${fx(ra)}, fan-out ${fx(rf)} [>= 10x lower]${met(ra != null && rf != null ? ra >= 10 && rf >= 10 : null)}`);
  }
  if (rb && rm) {
    out(`  ${pad('', 15)} p99 ShareDB+MemoryDB / bridge: ack ${fx(ratio(rm.ack.p99, rb.ack.p99))}, fan-out ${fx(ratio(rm.fanout.p99, rb.fanout.p99))} (information)`);
  }
}
if (pgbench && pgbench.tps) {
  for (const [k, name] of SERVERS) {
    const r = res('max-throughput', k);
    if (!r) continue;
    const x = ratio(r.maxSustainedOpsPerSec, pgbench.tps);
    out(`  ${pad('max-throughput', 15)} ${name} / pgbench ceiling: ${fx(x)}${k === 'bridge' ? ` [>= 1.0x]${met(x == null ? null : x >= 1)}` : ''}`);
  }
}
const ib = res('idle', 'bridge');
if (ib) {
  out(`  ${pad('idle', 15)} bridge RSS with ${ib.openAtEnd} idle sockets: ${num(ib.rssMiB.max)} MiB [<= 150 MB]${met(ib.rssMiB.max != null && ib.openAtEnd === ib.sockets ? ib.rssMiB.max * 1.048576 <= 150 : null)}`);
}
const is = res('idle', 'sharedb-postgres');
if (ib && is) out(`  ${pad('', 15)} ShareDB+sharedb-postgres RSS / bridge RSS: ${fx(ratio(is.rssMiB.max, ib.rssMiB.max))} (information)`);
process.stdout.write(lines.join('\n') + '\n');
