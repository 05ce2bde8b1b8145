#!/usr/bin/env node
// The baseline of the bridge benchmarks: the stock ShareDB server, as users run it today, over `ws`.
//
//   node sharedb-server.js --backend postgres --port 55557 [--host 127.0.0.1] [--pg CONNINFO]
//   node sharedb-server.js --backend memory   --port 55558
//
// --backend postgres: `sharedb-postgres` (its tables `ops` and `snapshots` are created if missing, from the adapter's
//                     own structure.sql); the connection comes from --pg (a libpq-style key=value string or a URL) or
//                     from PGHOST/PGPORT/PGUSER/PGDATABASE. --pool N sets the adapter's pool size (pg.Pool `max`,
//                     default 10, the adapter's default).
// --backend memory:   ShareDB.MemoryDB (nothing is durable).
//
// ShareDB is created as documented (`new ShareDB({db})`, the text-unicode type registered) with its defaults: no
// presence, no milestones, in-process pub/sub. Each WebSocket connection is handed to `backend.listen()` through a
// minimal Duplex adapter, the equivalent of @teamwork/websocket-json-stream that ShareDB's docs use: one JSON message per
// text frame both ways. Prints `listening <port> pid <pid>` once ready; SIGTERM/SIGINT close it.
'use strict';
const fs = require('fs');
const path = require('path');
const { Duplex } = require('stream');
const WebSocket = require('ws');
const ShareDB = require('sharedb');

ShareDB.types.register(require('ot-text-unicode').type);

function usage(code) {
  process.stderr.write(fs.readFileSync(__filename, 'utf8').split('\n').filter((l) => l.startsWith('//'))
    .map((l) => l.slice(3)).join('\n') + '\n');
  process.exit(code);
}

const opts = { backend: null, port: null, host: '127.0.0.1', pg: null, pool: 10 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const next = () => { if (i + 1 >= argv.length) usage(2); return argv[++i]; };
  if (a === '--backend') opts.backend = next();
  else if (a === '--port') opts.port = Number(next());
  else if (a === '--host') opts.host = next();
  else if (a === '--pg') opts.pg = next();
  else if (a === '--pool') opts.pool = Number(next());
  else if (a === '-h' || a === '--help') usage(0);
  else { process.stderr.write(`unknown argument ${a}\n`); usage(2); }
}
if (!['postgres', 'memory'].includes(opts.backend) || !Number.isInteger(opts.port)) usage(2);

// "host=/tmp/x port=5432 dbname=d user=u" or a URL -> pg options.
function pgOptions(conninfo) {
  const o = {};
  if (!conninfo) return o;
  if (/^postgres(ql)?:\/\//.test(conninfo)) return { connectionString: conninfo };
  const keys = { host: 'host', port: 'port', dbname: 'database', user: 'user', password: 'password' };
  for (const m of conninfo.matchAll(/(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/g)) {
    let v = m[2];
    if (v.startsWith("'")) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    if (keys[m[1]]) o[keys[m[1]]] = m[1] === 'port' ? Number(v) : v;
  }
  return o;
}

// The adapter's schema (node_modules/sharedb-postgres/structure.sql, which is idempotent).
async function setUpPostgres(pgOpts) {
  const pg = require('pg');
  const client = new pg.Client(pgOpts);
  await client.connect();
  try {
    const sql = fs.readFileSync(path.join(path.dirname(require.resolve('sharedb-postgres')), 'structure.sql'), 'utf8');
    // structure.sql ends with an ALTER TABLE ... ADD metadata that fails on a second run; apply it statement by
    // statement and tolerate "already exists".
    for (const stmt of sql.split(';').map((s) => s.replace(/--.*$/gm, '').trim()).filter(Boolean)) {
      try {
        await client.query(stmt);
      } catch (e) {
        if (e.code !== '42701') throw e; // duplicate_column
      }
    }
  } finally {
    await client.end();
  }
}

// A WebSocket as the object-mode Duplex that backend.listen() expects.
class WebSocketJSONStream extends Duplex {
  constructor(ws) {
    super({ objectMode: true });
    this.ws = ws;
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let msg;
      try {
        msg = JSON.parse(data);
      } catch (e) {
        return; // ShareDB's adapter would error the stream; nothing in the benchmark sends bad JSON
      }
      this.push(msg);
    });
    ws.on('close', () => {
      this.push(null);
      this.destroy();
    });
    ws.on('error', () => this.destroy());
  }

  _read() {}

  _write(msg, _encoding, callback) {
    if (this.ws.readyState !== WebSocket.OPEN) return callback();
    this.ws.send(JSON.stringify(msg), (err) => callback(err && this.ws.readyState === WebSocket.OPEN ? err : null));
  }

  _final(callback) {
    this.ws.close();
    callback();
  }

  _destroy(err, callback) {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    callback(err);
  }
}

async function main() {
  let db;
  if (opts.backend === 'postgres') {
    const pgOpts = pgOptions(opts.pg);
    await setUpPostgres(pgOpts);
    db = require('sharedb-postgres')(Object.assign({ max: opts.pool }, pgOpts));
  } else {
    db = new ShareDB.MemoryDB();
  }
  const backend = new ShareDB({ db });
  backend.on('error', (e) => process.stderr.write(`sharedb error: ${e && e.stack || e}\n`));

  const wss = new WebSocket.Server({ host: opts.host, port: opts.port, backlog: 4096 });
  wss.on('connection', (ws, req) => {
    const stream = new WebSocketJSONStream(ws);
    stream.on('error', () => {});
    backend.listen(stream, req);
  });
  wss.on('listening', () => process.stdout.write(`listening ${opts.port} pid ${process.pid}\n`));
  wss.on('error', (e) => {
    process.stderr.write(`server error: ${e.message}\n`);
    process.exit(1);
  });

  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    backend.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => {
  process.stderr.write(`sharedb-server: ${e && e.stack || e}\n`);
  process.exit(1);
});
