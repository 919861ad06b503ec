# Sourced by scripts/test: installs PostgreSQL from Debian's packages if it is missing,
# starts one server on 127.0.0.1 (idempotently: a running server is reused) and exports
# PRESCALE_TEST_POSTGRES_URL for the PostgreSQL store's tests.
#
# PRESCALE_SKIP_POSTGRES=1 skips all of this; the tests then say loudly that they did not run.
# PRESCALE_PG_PORT (default 55432) and PRESCALE_PG_DIR (default /tmp/prescale-pg) move it.

prescale_postgres() {
  if [ "${PRESCALE_SKIP_POSTGRES:-}" = 1 ]; then
    echo "scripts/deps/postgres.sh: PRESCALE_SKIP_POSTGRES=1 — PostgreSQL tests will be SKIPPED" >&2
    return 0
  fi
  local port="${PRESCALE_PG_PORT:-55432}" dir="${PRESCALE_PG_DIR:-/tmp/prescale-pg}"
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "scripts/deps/postgres.sh: installing Debian's postgresql" >&2
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >/dev/null 2>&1; then
      apt-get update -q >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >/dev/null
    fi
    bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  fi
  # PostgreSQL refuses to run as root: as root, run it as the `postgres` user the package made.
  local as=()
  if [ "$(id -u)" = 0 ]; then
    as=(runuser -u postgres --)
  fi
  export PRESCALE_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:${port}/postgres"
  if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
    return 0
  fi
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$dir"
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; return 1; }
  fi
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $port -k $dir -c fsync=on -c max_connections=200" start >/dev/null ||
    { cat "$dir/server.log" >&2; return 1; }
  echo "scripts/deps/postgres.sh: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
}

prescale_postgres
