#!/usr/bin/env bash
# Finds or starts PostgreSQL and prints the DATABASE_URL to use: one line on stdout,
# everything else on stderr, so that `url="$(scripts/db.sh)"` works.
#
#   scripts/db.sh        DATABASE_URL if set (its server must answer); else the server at
#                        127.0.0.1:$PG_DEFAULT_PORT (5432); else a private cluster under
#                        .data/postgres on 127.0.0.1:$PRIVATE_PG_PORT (54329), initialised
#                        and started from the installed PostgreSQL programs.
#   scripts/db.sh stop   stops the private cluster.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
default_port="${PG_DEFAULT_PORT:-5432}"
private_port="${PRIVATE_PG_PORT:-54329}"

log() { echo "db.sh: $*" >&2; }
fail() {
	log "$*"
	exit 1
}

# pg_bin is the bin directory of the newest installed PostgreSQL.
pg_bin() {
	local dir
	dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
	[[ -n "$dir" ]] || fail "no PostgreSQL answers and its programs are not installed (apt-get install postgresql)"
	echo "$dir"
}

# as_postgres runs a command as the postgres user when we are root: initdb and pg_ctl
# refuse to run as root. It runs from / because the postgres user may not be able to
# enter the current directory.
as_postgres() {
	if ((EUID == 0)); then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

# data_dir is .data/postgres in the repository, or a directory under /tmp named after
# the repository when the postgres user cannot reach .data (a parent directory is 0700).
data_dir() {
	mkdir -p "$repo/.data"
	if ((EUID == 0)) && ! as_postgres test -x "$repo/.data"; then
		local dir
		dir="/tmp/customers-pg-$(echo -n "$repo" | sha256sum | cut -c1-12)"
		log "the postgres user cannot reach $repo/.data; the private cluster lives in $dir"
		echo "$dir"
		return
	fi
	echo "$repo/.data/postgres"
}

# running tells whether the private cluster in $1 is up (pg_ctl status exits 3 when not).
running() { as_postgres "$(pg_bin)/pg_ctl" status -D "$1" >/dev/null 2>&1; }

start_private() {
	local bin dir
	bin="$(pg_bin)"
	dir="$(data_dir)"
	if ((EUID == 0)); then
		id postgres >/dev/null 2>&1 || fail "initdb refuses to run as root and there is no postgres user"
	fi
	# One db.sh at a time initialises and starts the cluster; the server must not
	# inherit the lock (9>&- below), or it would hold it for as long as it runs.
	exec 9>"$dir.lock"
	flock 9
	mkdir -p "$dir"
	if ((EUID == 0)); then chown postgres: "$dir"; fi
	chmod 700 "$dir"
	if [[ ! -f "$dir/PG_VERSION" ]]; then
		log "initialising a private cluster in $dir"
		as_postgres "$bin/initdb" -D "$dir" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >&2
	fi
	if ! running "$dir"; then
		log "starting the private cluster in $dir on 127.0.0.1:$private_port"
		as_postgres "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
			-o "-c listen_addresses=127.0.0.1 -p $private_port -k $dir -c fsync=off -c max_connections=200" start >&2 9>&- ||
			{
				tail -n 20 "$dir/server.log" >&2
				fail "the private cluster did not start (log: $dir/server.log; another server on port $private_port? set PRIVATE_PG_PORT)"
			}
	fi
}

if [[ "${1:-}" == stop ]]; then
	dir="$(data_dir)"
	if [[ -f "$dir/PG_VERSION" ]] && running "$dir"; then
		as_postgres "$(pg_bin)/pg_ctl" -D "$dir" -m fast -w stop >&2
	fi
	exit 0
fi

if command -v pg_isready >/dev/null; then
	pg_isready=pg_isready
else
	bin="$(pg_bin)"
	pg_isready="$bin/pg_isready"
fi

if [[ -n "${DATABASE_URL:-}" ]]; then
	"$pg_isready" -q -t 5 -d "$DATABASE_URL" || fail "DATABASE_URL is set but its server does not answer"
	echo "$DATABASE_URL"
	exit 0
fi

if "$pg_isready" -q -t 2 -h 127.0.0.1 -p "$default_port"; then
	echo "postgres://postgres@127.0.0.1:$default_port/customers?sslmode=disable"
	exit 0
fi

log "no PostgreSQL answers at 127.0.0.1:$default_port"
start_private
echo "postgres://postgres@127.0.0.1:$private_port/customers?sslmode=disable"
