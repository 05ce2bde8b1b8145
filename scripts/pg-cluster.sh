#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for developing and testing pg_collab.
#
# FOR DEVELOPMENT ONLY: the cluster trusts every local connection (unix socket and 127.0.0.1, no password) and its
# superuser is `postgres`. It listens on 127.0.0.1 and on a unix socket inside the cluster directory, never on other
# addresses. Do not keep data in it that you would mind losing or others on this machine reading.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
Usage: scripts/pg-cluster.sh [--name NAME] [--port N] [--fresh] COMMAND [-- PSQL_ARGS...]

A private PostgreSQL 15 cluster for development and tests (trust authentication on the unix socket and 127.0.0.1).

Commands:
  start    initialize the cluster if needed, start it, wait until it accepts connections, and create the database
           pg_collab if missing; does nothing but that check if it is already running
  stop     fast shutdown (pg_ctl stop -m fast); does nothing if it is not running
  status   say whether it runs; exit status 0 if running, 3 if not
  env      print `export PGHOST=... PGPORT=... PGUSER=... PGDATABASE=...` for:  eval "$(scripts/pg-cluster.sh env)"
  psql     open psql on database pg_collab (arguments after -- go to psql)

Options:
  --name NAME  cluster name (env PG_COLLAB_CLUSTER; default: run). make run uses `run`; make test and make bench
               use `test`.
  --port N     TCP port on 127.0.0.1 (env PG_COLLAB_PORT). Defaults: run 54329, test 54330; another name needs
               --port. Without it, a running cluster is addressed on the port it was started with.
  --fresh      with start: stop the cluster if it runs, delete all of its data, and initialize it again
  --help       this text

Where the data lives: as root, /var/lib/pg_collab/NAME-HASH (HASH from this repository's path), owned by the
postgres OS user, which runs the server (PostgreSQL refuses to run as root); otherwise REPO/.run/NAME.
The directory holds data/ (PGDATA), socket/ (the unix socket) and server.log.
PG_CONFIG, if set, selects the PostgreSQL installation (default /usr/lib/postgresql/15/bin).
EOF
}

name=${PG_COLLAB_CLUSTER:-run}
port=${PG_COLLAB_PORT:-}
fresh=false
command=
psql_args=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --name) [[ $# -ge 2 ]] || die "--name needs a value"; name=$2; shift 2 ;;
    --name=*) name=${1#*=}; shift ;;
    --port) [[ $# -ge 2 ]] || die "--port needs a value"; port=$2; shift 2 ;;
    --port=*) port=${1#*=}; shift ;;
    --fresh) fresh=true; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; psql_args=("$@"); break ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) [[ -z $command ]] || die "more than one command given ('$command' and '$1'; see --help)"; command=$1; shift ;;
  esac
done
[[ -n $command ]] || { usage >&2; exit 2; }
case $command in start | stop | status | env | psql) ;; *) die "unknown command '$command' (see --help)" ;; esac
[[ $name =~ ^[A-Za-z0-9_-]+$ ]] || die "cluster name '$name' may only contain letters, digits, '_' and '-'"
[[ $fresh == false || $command == start ]] || die "--fresh only goes with start"
if [[ -n $port ]]; then
  if ! [[ $port =~ ^[0-9]+$ ]] || ((10#$port < 1024 || 10#$port > 65535)); then
    die "--port must be a number from 1024 to 65535, not '$port'"
  fi
  port=$((10#$port))
fi
for bin in initdb pg_ctl pg_isready psql; do
  [[ -x $PG_BIN/$bin ]] || die "$PG_BIN/$bin not found: install PostgreSQL 15 with scripts/install-deps.sh (or set PG_CONFIG)"
done

repo_hash=$(printf '%s' "$REPO" | sha256sum | cut -c1-8)
if [[ $EUID -eq 0 ]]; then
  getent passwd postgres >/dev/null || die "the postgres OS user does not exist: install postgresql-15 with scripts/install-deps.sh"
  dir=/var/lib/pg_collab/$name-$repo_hash
else
  dir=$REPO/.run/$name
fi
data=$dir/data
log=$dir/server.log
socket=$dir/socket
# A unix socket path (plus "/.s.PGSQL.NNNNN", 15 bytes) is limited to 107 bytes: a deeply nested checkout
# gets its socket in a private /tmp folder instead.
if ((${#socket} + 15 > 107)); then
  socket=/tmp/pg_collab-$(id -u)-$name-$repo_hash
fi
superuser=postgres
database=pg_collab

# Runs a PostgreSQL server program as the OS user that owns the cluster (from / so that a cwd the postgres user
# cannot read, such as a checkout under /root, does not matter).
as_owner() {
  if [[ $EUID -eq 0 ]]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

initialized() { [[ -f $data/PG_VERSION ]]; }
running() { initialized && as_owner "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; }

# The port: --port or PG_COLLAB_PORT; else that of the running server (line 4 of postmaster.pid); else the default.
if [[ -z $port ]]; then
  if running && [[ -r $data/postmaster.pid ]]; then
    port=$(sed -n 4p "$data/postmaster.pid")
  else
    case $name in
      run) port=54329 ;;
      test) port=54330 ;;
      *) die "cluster '$name' has no default port: pass --port N" ;;
    esac
  fi
fi

log_tail() {
  if [[ -r $log ]]; then
    info "--- last lines of $log ---"
    tail -n 40 "$log" >&2
    info "--- end of $log ---"
  else
    info "(no server log at $log)"
  fi
}

# pg_isready with the superuser's name, so that the server does not log a failed login for the caller's OS user.
ready() { "$PG_BIN/pg_isready" -q -p "$port" -U "$superuser" -d postgres "$@"; }

sql() { "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$socket" -p "$port" -U "$superuser" "$@"; }

make_dir() {
  if [[ $EUID -eq 0 ]]; then
    install -d -m 0755 /var/lib/pg_collab
    install -d -m 0755 -o postgres -g postgres "$@"
  else
    mkdir -p "$@"
  fi
}

init_cluster() {
  info "initializing cluster '$name' in $dir"
  make_dir "$dir"
  as_owner "$PG_BIN/initdb" --pgdata="$data" --username="$superuser" --encoding=UTF8 --locale=C.UTF-8 \
    --auth=trust >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    die "initdb failed (output above; also in $dir/initdb.log)"
  }
  # Only the unix socket and 127.0.0.1, both trusted: a development cluster.
  as_owner tee "$data/pg_hba.conf" >/dev/null <<'EOF'
# Written by scripts/pg-cluster.sh: a private DEVELOPMENT cluster. Every local connection is trusted.
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 trust
host    all       all   127.0.0.1/32  trust
EOF
  printf "\n# Added by scripts/pg-cluster.sh, which rewrites pg_collab.conf at every start.\ninclude_if_exists = 'pg_collab.conf'\n" |
    as_owner tee -a "$data/postgresql.conf" >/dev/null
}

do_start() {
  if $fresh; then
    if running; then
      info "stopping cluster '$name' before wiping it (--fresh)"
      as_owner "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null || { log_tail; die "could not stop cluster '$name'"; }
    fi
    [[ -n $dir && $dir == */$name* ]] || die "refusing to delete unexpected directory '$dir'"
    rm -rf -- "$dir"
  fi
  if running; then
    local running_port
    running_port=$(sed -n 4p "$data/postmaster.pid")
    [[ $running_port == "$port" ]] || die "cluster '$name' already runs on port $running_port, not $port: stop it first (scripts/pg-cluster.sh --name $name stop)"
    info "cluster '$name' is already running on port $port"
  else
    local rc=0
    ready -h 127.0.0.1 -t 3 || rc=$?
    ((rc == 2)) || die "port $port on 127.0.0.1 is already used by another PostgreSQL server: stop that one or pass --port N"
    initialized || init_cluster
    make_dir "$socket"
    as_owner tee "$data/pg_collab.conf" >/dev/null <<EOF
# Written by scripts/pg-cluster.sh at every start; changes here are lost. Put your own settings in postgresql.conf.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '${socket//\'/\'\'}'
EOF
    info "starting cluster '$name' on port $port (log: $log)"
    as_owner "$PG_BIN/pg_ctl" -D "$data" -l "$log" -w -t 60 -s start || {
      log_tail
      die "cluster '$name' did not start (server log above)"
    }
  fi
  local i
  for ((i = 0; i < 60; i++)); do
    ready -h "$socket" -t 1 && break
    sleep 0.5
  done
  ready -h "$socket" -t 1 || { log_tail; die "cluster '$name' does not accept connections after 30 s (server log above)"; }
  local exists
  exists=$(sql -d postgres -c "select 1 from pg_database where datname = '$database'") ||
    die "cluster '$name' accepts connections but psql could not query it (error above)"
  if [[ -z $exists ]]; then
    sql -d postgres -c "create database $database" || die "could not create database $database"
    info "created database $database"
  fi
  info "cluster '$name' is ready: psql \"host=127.0.0.1 port=$port dbname=$database user=$superuser\""
}

do_stop() {
  if ! initialized; then
    info "cluster '$name' does not exist ($dir); nothing to stop"
  elif ! running; then
    info "cluster '$name' is not running"
  else
    as_owner "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 60 -s stop || { log_tail; die "could not stop cluster '$name' (server log above)"; }
    info "cluster '$name' stopped"
  fi
}

do_status() {
  if ! initialized; then
    echo "cluster '$name': not initialized ($dir)"
    exit 3
  elif running; then
    echo "cluster '$name': running (pid $(sed -n 1p "$data/postmaster.pid")) on port $port, socket $socket, data $data, log $log"
  else
    echo "cluster '$name': stopped (data $data, log $log)"
    exit 3
  fi
}

case $command in
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  env)
    printf 'export PGHOST=%q\n' "$socket"
    printf 'export PGPORT=%q\n' "$port"
    printf 'export PGUSER=%q\n' "$superuser"
    printf 'export PGDATABASE=%q\n' "$database"
    ;;
  psql)
    running || die "cluster '$name' is not running: start it with scripts/pg-cluster.sh --name $name start"
    exec "$PG_BIN/psql" -h "$socket" -p "$port" -U "$superuser" -d "$database" "${psql_args[@]}"
    ;;
esac
