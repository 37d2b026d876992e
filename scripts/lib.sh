# Shared by scripts/run, scripts/test and scripts/faults.

# Installs a Debian package as root with apt-get, or says how and fails.
# apt_install PACKAGE WHAT [HINT]
apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing $2 (Debian package $1)..." >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >&2
  else
    echo "$2 is missing. Install it with: sudo apt-get install -y $1" >&2
    [ -n "${3:-}" ] && echo "$3" >&2
    exit 1
  fi
}

# Installs PostgreSQL's server from the distribution when its binaries are missing.
ensure_postgres() {
  if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { [ -n "${PG_BIN_DIR:-}" ] && [ -x "$PG_BIN_DIR/initdb" ]; }; then
    return 0
  fi
  apt_install postgresql "PostgreSQL's server" \
    "Or set PG_BIN_DIR to the directory holding initdb and pg_ctl, or give DATABASE_URL."
}

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Installs nginx (the fault tests put it in front of two servers) when missing.
# Debian's Chromium: the chart test opens an SVG answer in it, headless.
ensure_chromium() {
  if command -v chromium >/dev/null; then
    return 0
  fi
  apt_install chromium chromium
}

ensure_nginx() {
  if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then
    return 0
  fi
  apt_install nginx nginx
}
