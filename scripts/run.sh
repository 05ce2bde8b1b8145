#!/usr/bin/env bash
# `make run`: a private PostgreSQL 15 with pg_collab installed, kept running until Ctrl-C. Its data (cluster `run`)
# stays between runs.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
Usage: scripts/run.sh [--port N] [--fresh]     (make run runs it without options)

Installs missing packages, builds and installs the extension, starts the private `run` cluster (port 54329, data kept
between runs; see scripts/pg-cluster.sh), creates or updates the extension pg_collab in database pg_collab, prints how
to connect, and keeps running until Ctrl-C, which stops the cluster.

  --port N   listen on 127.0.0.1 port N instead of 54329
  --fresh    delete the run cluster's data first
  --help     this text
EOF
}

cluster=("$REPO/scripts/pg-cluster.sh" --name run)
start_opts=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --port) [[ $# -ge 2 ]] || die "--port needs a value"; cluster+=(--port "$2"); shift 2 ;;
    --fresh) start_opts+=(--fresh); shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

"$REPO/scripts/install-deps.sh"
step "build and install the extension"
run_make || die "the extension did not build (errors above)"
install_extension

step "start the run cluster"
started=false
stop_cluster() {
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

"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 <<'EOF' || die "could not create or update the extension pg_collab (error above)"
set client_min_messages = warning;
create extension if not exists pg_collab;
alter extension pg_collab update;
EOF
version=$("$PG_BIN/psql" -X -At -c "select extversion from pg_extension where extname = 'pg_collab'")

# BRIDGE: once server/ builds collab-bridge (the bridge issue), start it here in the background, print its WebSocket
# URL below, and stop it in stop_cluster before the cluster.

cat <<EOF

pg_collab $version is running in a private PostgreSQL 15 (cluster 'run', port $PGPORT; development only: every local
connection is trusted). Connect with:

  psql "host=127.0.0.1 port=$PGPORT dbname=pg_collab user=postgres"

Try:

  select collab.create_doc('notes', 'hello', 'text-unicode', '"Hello"'::jsonb);
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
done
