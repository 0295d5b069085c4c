#!/usr/bin/env bash
# Run a command with a throw-away PostgreSQL 15 server:  scripts/with_postgres.sh CMD [ARGS...]
#
# Finds initdb and pg_ctl (/usr/lib/postgresql/15/bin, else PATH), runs them as an unprivileged
# user when started as root (PostgreSQL refuses to run as root: the `postgres` user, else a
# `divertpg` user created with useradd), initialises a cluster in a fresh temporary folder, starts
# it on a free loopback port with its socket in that folder, creates the database `divert_test`,
# exports DIVERT_TEST_POSTGRES_URL=postgresql+psycopg://USER@127.0.0.1:PORT/divert_test, runs
# CMD, then stops the server and removes the folder, whatever happens. Exits with CMD's status.
# `scripts/with_postgres.sh --check` only says whether the server binaries are there (exit 0 or 3).
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
fi

bindir=""
for d in /usr/lib/postgresql/15/bin /usr/local/pgsql/bin; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then bindir="$d"; break; fi
done
if [ -z "$bindir" ] && command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
    bindir="$(dirname "$(readlink -f "$(command -v initdb)")")"
fi
if [ -z "$bindir" ]; then
    echo "with_postgres.sh: no PostgreSQL server binaries (initdb, pg_ctl) found" >&2
    exit 3
fi
if [ "$1" = "--check" ]; then
    echo "$bindir"
    exit 0
fi
version="$("$bindir/initdb" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)?.*/\1/')"
if [ "$version" != "15" ]; then
    echo "with_postgres.sh: note: PostgreSQL $version, not 15, at $bindir" >&2
fi

as_user=()
pguser="$(id -un)"
if [ "$(id -u)" -eq 0 ]; then
    if id postgres >/dev/null 2>&1; then
        pguser=postgres
    else
        pguser=divertpg
        id "$pguser" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$pguser"
    fi
    if command -v runuser >/dev/null; then
        as_user=(runuser -u "$pguser" --)
    else
        as_user=(su -s /bin/sh "$pguser" -c '"$0" "$@"')
    fi
fi

tmp="$(mktemp -d /tmp/divert-pg.XXXXXX)"
chmod 700 "$tmp"
[ "$(id -u)" -eq 0 ] && chown "$pguser" "$tmp"
data="$tmp/data"
started=0

cleanup() {
    status=$?
    if [ "$started" -eq 1 ]; then
        "${as_user[@]}" "$bindir/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"

"${as_user[@]}" "$bindir/initdb" -D "$data" -U "$pguser" --auth=trust --encoding=UTF8 --no-locale \
    >"$tmp/initdb.log" 2>&1 || { cat "$tmp/initdb.log" >&2; exit 3; }
opts="-c listen_addresses=127.0.0.1 -p $port -k $tmp -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
"${as_user[@]}" "$bindir/pg_ctl" -D "$data" -o "$opts" -l "$tmp/server.log" -w -t 60 start >/dev/null \
    || { cat "$tmp/server.log" >&2; exit 3; }
started=1
"${as_user[@]}" "$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$pguser" divert_test 2>/dev/null \
    || "${as_user[@]}" "$bindir/psql" -h 127.0.0.1 -p "$port" -U "$pguser" -d postgres -qc "CREATE DATABASE divert_test" >/dev/null

export DIVERT_TEST_POSTGRES_URL="postgresql+psycopg://$pguser@127.0.0.1:$port/divert_test"
echo "with_postgres.sh: PostgreSQL $version on 127.0.0.1:$port ($DIVERT_TEST_POSTGRES_URL)" >&2
"$@"
