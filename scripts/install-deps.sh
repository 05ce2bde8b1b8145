#!/usr/bin/env bash
# Installs the Debian 12 packages that pg_collab builds, tests and runs with, and only those that are missing.
# Prints nothing when everything is already there. As root it runs `apt-get update` and `apt-get install` (only when
# something is missing); as any other user it lists the missing packages with the command to install them.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/install-deps.sh [--check]

Installs the missing Debian packages that pg_collab needs (PostgreSQL 15 server, client and PGXS headers, pgbench,
jansson, GoogleTest, g++, make, pkg-config, Node.js with npm, clang-format, libwebsockets with its libev plugin,
libev, libjwt, Chromium with emoji and CJK fonts for the browser tests, clang 14 with libFuzzer, valgrind, gnuplot for the soak plot).

  --check   only report: exit 0 if everything is installed, 1 (listing what is missing) otherwise
  --help    this text

Must run as root to install anything; as another user it prints the apt-get command to run.
EOF
}

check_only=false
for arg in "$@"; do
  case $arg in
    --check) check_only=true ;;
    -h | --help) usage; exit 0 ;;
    *) echo "error: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

# postgresql-15 ships the pgbench binary (/usr/lib/postgresql/15/bin/pgbench); /usr/bin/pgbench is the version
# wrapper from postgresql-client-common, which postgresql-client-15 pulls in.
packages=(
  postgresql-15 postgresql-client-15 postgresql-client-common postgresql-server-dev-15
  libjansson-dev libgtest-dev g++ make pkg-config
  nodejs npm clang-format
  libwebsockets-dev libjwt-dev
  libev-dev libwebsockets-evlib-ev
  chromium fonts-noto-color-emoji fonts-wqy-microhei
  clang-14 libclang-rt-14-dev valgrind gnuplot-nox
)

installed() { [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]; }

missing=()
for p in "${packages[@]}"; do
  installed "$p" && continue
  # NodeSource's nodejs package bundles npm (it Provides and Conflicts with Debian's npm): an npm on PATH counts.
  [[ $p == npm ]] && command -v npm >/dev/null && continue
  missing+=("$p")
done

[[ ${#missing[@]} -eq 0 ]] && exit 0

if $check_only; then
  echo "missing packages: ${missing[*]}" >&2
  exit 1
fi
if [[ $EUID -ne 0 ]]; then
  cat >&2 <<EOF
error: these Debian packages are missing: ${missing[*]}
Installing them needs root. Run:
  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}
then run this again.
EOF
  exit 1
fi

echo "Installing missing packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || {
  echo "error: apt-get update failed (output above); check the network and /etc/apt/sources.list.d" >&2
  exit 1
}
apt-get install -y -qq --no-install-recommends "${missing[@]}" || {
  echo "error: apt-get install ${missing[*]} failed (output above)" >&2
  exit 1
}
