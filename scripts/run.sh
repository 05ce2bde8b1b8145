#!/usr/bin/env bash
# `make run`: a private PostgreSQL 15 with pg_collab installed, kept running until Ctrl-C. Its data (cluster `run`)
# stays between runs.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
Usage: scripts/run.sh [--port N] [--bridge-port N] [--fresh]     (make run runs it without options)

Installs missing packages, builds and installs the extension, collab-bridge and the web editor (web/dist), starts
the private `run` cluster
(port 54329, data kept between runs; see scripts/pg-cluster.sh), creates or updates the extension pg_collab in
database pg_collab, starts one bridge on 127.0.0.1:8080 (as the login role collab_bridge_login, a member of
collab_bridge) with the built-in token service and its DEVELOPMENT login (POST /auth/dev-login, any user, no
password; organization 'dev' may edit the collections notes and docs) serving the web editor at
http://127.0.0.1:8080/, prints how to connect, and keeps running until Ctrl-C, which stops the bridge and the
cluster.

  --port N          PostgreSQL listens on 127.0.0.1 port N instead of 54329
  --bridge-port N   the bridge listens on 127.0.0.1 port N instead of 8080
  --fresh    delete the run cluster's data first
  --help     this text
EOF
}

cluster=("$REPO/scripts/pg-cluster.sh" --name run)
start_opts=()
bridge_port=8080
while [[ $# -gt 0 ]]; do
  case $1 in
    --port) [[ $# -ge 2 ]] || die "--port needs a value"; cluster+=(--port "$2"); shift 2 ;;
    --bridge-port) [[ $# -ge 2 ]] || die "--bridge-port needs a value"; bridge_port=$2; shift 2 ;;
    --fresh) start_opts+=(--fresh); shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

"$REPO/scripts/install-deps.sh"
step "build and install the extension, build the bridge"
run_make || die "the extension did not build (errors above)"
run_make bridge || die "collab-bridge did not build (errors above)"
run_make web || die "the web editor did not build (errors above)"
install_extension

step "start the run cluster"
started=false
bridge_pid=
stop_cluster() {
  if [[ -n $bridge_pid ]]; then
    kill -TERM "$bridge_pid" 2>/dev/null || true
    wait "$bridge_pid" 2>/dev/null || true
    bridge_pid=
  fi
  if $started; then
    started=false
    info ""
    "${cluster[@]}" stop
  fi
}
trap stop_cluster EXIT
trap 'exit 0' INT TERM
started=true
"${cluster[@]}" start "${start_opts[@]}"
cluster_env=$("${cluster[@]}" env)
eval "$cluster_env"

# pg_collab 0.1.0 is unreleased and its install script still changes: the run database remembers (as its comment) the
# script it was created from, and a database made from another script is not served by this build's bridge.
script_id="pg_collab install script sha256:$(sha256sum "$REPO/extension/pg_collab--0.1.0.sql" | cut -c1-16)"
has_extension=$("$PG_BIN/psql" -X -At -c "select count(*) from pg_extension where extname = 'pg_collab'")
created_from=$("$PG_BIN/psql" -X -At -c "select coalesce(shobj_description(oid, 'pg_database'), '') from pg_database where datname = current_database()")
if [[ $has_extension != 0 && $created_from != "$script_id" ]]; then
  die "the run cluster's database pg_collab was created from another version of the install script than this build's (${created_from:-unknown}), so this bridge cannot serve it. It is development data: start over with 'scripts/run.sh --fresh' (deletes the run cluster's data), or drop the extension in database pg_collab yourself."
fi
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 <<'EOF' || die "could not create or update the extension pg_collab (error above)"
set client_min_messages = warning;
create extension if not exists pg_collab;
alter extension pg_collab update;
do $$
begin
    if not exists (select from pg_catalog.pg_roles where rolname = 'collab_bridge_login') then
        create role collab_bridge_login login in role collab_bridge;
    end if;
end
$$;
-- DEVELOPMENT ONLY: POST /auth/dev-login logs in as any user (the bridge also needs --dev-login).
alter database pg_collab set pg_collab.dev_login = on;
-- Development users log in to organization 'dev', which may edit these collections.
select collab.grant(c, null, 'org:dev', 'editor') from unnest(array['notes', 'docs']) c;
EOF
"$PG_BIN/psql" -X -q -c "comment on database pg_collab is '$script_id'" || die "could not record the install script's id"
version=$("$PG_BIN/psql" -X -At -c "select extversion from pg_extension where extname = 'pg_collab'")

step "start collab-bridge on 127.0.0.1:$bridge_port"
bridge_log="$REPO/.run/bridge.log"
mkdir -p "$REPO/.run"
# The built-in token service with the development login (clearly labelled, for this private cluster only);
# cookies without Secure because this serves http://127.0.0.1.
"$REPO/build/collab-bridge" --host 127.0.0.1 --port "$bridge_port" \
  --db "host=$PGHOST port=$PGPORT dbname=pg_collab user=collab_bridge_login" \
  --dev-login --insecure-cookies --web-root "$REPO/web/dist" \
  --allowed-origin "http://127.0.0.1:$bridge_port" --allowed-origin "http://localhost:$bridge_port" >>"$bridge_log" 2>&1 &
bridge_pid=$!
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$bridge_port/readyz" >/dev/null 2>&1; then break; fi
  kill -0 "$bridge_pid" 2>/dev/null || die "collab-bridge exited at start; see $bridge_log"
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$bridge_port/readyz" >/dev/null 2>&1 ||
  die "collab-bridge did not become ready within 10 s; see $bridge_log"

cat <<EOF

pg_collab $version is running.

  Web editor:                    http://127.0.0.1:$bridge_port/
  WebSocket (ShareDB protocol):  ws://127.0.0.1:$bridge_port/
  Health, metrics, snapshots:    http://127.0.0.1:$bridge_port/readyz  /metrics  /docs/<collection>/<id>
  Bridge log:                    $bridge_log

Open the web editor twice to edit together: in a normal window log in as alice, in a private window (or another
browser; each needs its own cookies) as bob, both of organization dev, and open the same document.

Sockets need an access token. DEVELOPMENT LOGIN (this private setup only; no password is checked):
  curl -si -X POST http://127.0.0.1:$bridge_port/auth/dev-login -d '{"user": "alice", "org": "dev"}'
answers with the session cookies collab_access and collab_refresh. Users of organization 'dev' may edit the
collections notes and docs (grant more: select collab.grant('COLLECTION', null, 'org:dev', 'editor');).
Real applications create a login ticket in SQL (collab.create_login_ticket) and POST it to /auth/session:
see docs/security.md.
Connect the stock sharedb client (npm i sharedb ws ot-text-unicode; Node 20):
  const ShareDB = require('sharedb/lib/client');
  ShareDB.types.register(require('ot-text-unicode').type);
  const res = await fetch('http://127.0.0.1:$bridge_port/auth/dev-login',
                          { method: 'POST', body: JSON.stringify({ user: 'alice', org: 'dev' }) });
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const connection = new ShareDB.Connection(new (require('ws'))('ws://127.0.0.1:$bridge_port/', { headers: { cookie } }));
  const doc = connection.get('notes', 'hello');
PostgreSQL 15 runs privately (cluster 'run', port $PGPORT; development only: every local connection is trusted):

  psql "host=127.0.0.1 port=$PGPORT dbname=pg_collab user=postgres"

Try:

  select collab.create_doc('notes', 'hello', 'text-unicode', '"Hello"'::jsonb, 'dev');
  select * from collab.fetch('notes', 'hello');

(The data is kept between runs, so a second create_doc of notes/hello reports that the document exists.)
Press Ctrl-C to stop.
EOF

# Waits in short sleeps so that Ctrl-C is handled at once; notices if the server stops by itself.
sleeper=
trap '[[ -z $sleeper ]] || kill "$sleeper" 2>/dev/null || true; stop_cluster' EXIT
while true; do
  sleep 2 &
  sleeper=$!
  wait "$sleeper" || true
  sleeper=
  "${cluster[@]}" status >/dev/null || {
    started=false
    die "the PostgreSQL server of cluster 'run' stopped unexpectedly; see its log: $("${cluster[@]}" status || true)"
  }
  kill -0 "$bridge_pid" 2>/dev/null || {
    bridge_pid=
    die "collab-bridge stopped unexpectedly; see $bridge_log"
  }
done
