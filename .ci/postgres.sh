# Start and stop a private PostgreSQL server for tests (sourced by .ci/run).
# Installs Debian's postgresql when no server binaries are on the machine.
PGPORT="${PGPORT:-55432}"

_pg_bindir() {
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/postgres" ] && { echo "$d"; return; }
  done
}

start_postgres() {
  local bindir
  bindir="$(_pg_bindir)"
  if [ -z "$bindir" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bindir="$(_pg_bindir)"
  fi
  PGDATA_DIR="$(mktemp -d /tmp/resonance-pg.XXXXXX)"
  local run_as=()
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$PGDATA_DIR"
    run_as=(runuser -u postgres --)
  fi
  "${run_as[@]}" "$bindir/initdb" -D "$PGDATA_DIR/data" -U resonance --auth=trust -E UTF8 >/dev/null
  "${run_as[@]}" "$bindir/pg_ctl" -D "$PGDATA_DIR/data" -l "$PGDATA_DIR/log" -w \
    -o "-h 127.0.0.1 -p $PGPORT -k $PGDATA_DIR -c fsync=off" start >/dev/null
  PG_PID="$(head -1 "$PGDATA_DIR/data/postmaster.pid")"
  "$bindir/createdb" -h 127.0.0.1 -p "$PGPORT" -U resonance resonance
  PG_BINDIR="$bindir"
  export PGPORT PG_PID PGDATA_DIR PG_BINDIR
  echo "postgres started (pid $PG_PID, port $PGPORT)"
}

stop_postgres() {
  if [ -n "${PG_PID:-}" ]; then
    kill "$PG_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$PG_PID" 2>/dev/null || break; sleep 0.1; done
  fi
  [ -n "${PGDATA_DIR:-}" ] && rm -rf "$PGDATA_DIR"
}
