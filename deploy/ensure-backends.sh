#!/usr/bin/env bash
# Makes sure the real backends the test suite and the cluster use are there and running on
# loopback: PostgreSQL on 127.0.0.1:5432 (trust for local TCP) and NATS with JetStream on
# 127.0.0.1:4222. Installs them from Debian when missing, starts them when stopped. Also
# installs the tools the sticker-sheet test reads the printed PDF with: pdftoppm and
# pdftotext (poppler-utils) and zbarimg (zbar-tools), and Python with venv, in which the
# notifier's interoperability tests install the Web Push decryption they check against.
# Safe to run concurrently: one run at a time holds the lock.
set -euo pipefail

lock=/tmp/carinfo-ensure-backends.lock
exec 9>"$lock"
flock 9

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_for_port() {
  for _ in $(seq 1 60); do
    port_open "$1" && return 0
    sleep 0.5
  done
  echo "port $1 did not open" >&2
  return 1
}

latest_postgres() {
  find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1
}

apt_updated=0
apt_install() {
  # Another apt (a parallel provisioning step) may hold the lock: wait instead of failing.
  if [ "$apt_updated" -eq 0 ]; then
    as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt_updated=1
  fi
  # Through env, because sudo drops the caller's environment.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@"
}

# PostgreSQL
if ! port_open 5432; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    apt_install postgresql
    version=$(latest_postgres)
    # Local TCP connections are trusted, as on the development machines; nothing listens
    # beyond loopback.
    hba="/etc/postgresql/$version/main/pg_hba.conf"
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
  version=$(latest_postgres)
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for_port 5432
  # The package may have started the cluster before pg_hba.conf was edited.
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload || true
fi

# NATS with JetStream
if ! port_open 4222; then
  if [ ! -x /usr/sbin/nats-server ]; then
    apt_install nats-server
  fi
  as_root mkdir -p /var/lib/nats-server
  as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  wait_for_port 4222
fi

# The sticker-sheet test's PDF renderer and QR decoder; Python for the push interop tests
missing=()
command -v pdftoppm >/dev/null && command -v pdftotext >/dev/null || missing+=(poppler-utils)
command -v zbarimg >/dev/null || missing+=(zbar-tools)
# The notifier's push interoperability tests
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3 python3-venv)
if [ "${#missing[@]}" -gt 0 ]; then
  apt_install "${missing[@]}"
fi

echo "backends ready: postgres 127.0.0.1:5432, nats 127.0.0.1:4222"
