# Shared by scripts/run and scripts/test.

# Installs PostgreSQL's server from the distribution when its binaries are missing.
ensure_postgres() {
  if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { [ -n "${PG_BIN_DIR:-}" ] && [ -x "$PG_BIN_DIR/initdb" ]; }; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing PostgreSQL's server (Debian package postgresql)..." >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  else
    echo "PostgreSQL's server binaries are missing. Install them with:" >&2
    echo "  sudo apt-get install -y postgresql" >&2
    echo "or set PG_BIN_DIR to the directory holding initdb and pg_ctl, or give DATABASE_URL." >&2
    exit 1
  fi
}

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Installs nginx (the fault tests put it in front of two servers) when missing.
ensure_nginx() {
  if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing nginx (Debian package nginx)..." >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >&2
  else
    echo "nginx is missing. Install it with: sudo apt-get install -y nginx" >&2
    exit 1
  fi
}
