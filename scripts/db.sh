#!/usr/bin/env bash
# Finds or starts PostgreSQL and prints the DATABASE_URL to use (one line on stdout;
# everything else goes to stderr).
#
#   scripts/db.sh        DATABASE_URL if set (its server must answer); else the local
#                        server at 127.0.0.1:5432; else a private cluster under .data/
#                        started from the installed PostgreSQL programs.
#   scripts/db.sh stop   stops the private cluster.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
default_port="${PG_DEFAULT_PORT:-5432}"
private_port="${PRIVATE_PG_PORT:-54329}"
db_name="${DB_NAME:-customers}"

log() { echo "db.sh: $*" >&2; }

pg_bin() {
	local dir
	dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
	if [[ -z "$dir" ]]; then
		log "no PostgreSQL server answers and its programs are not installed (apt-get install postgresql)"
		exit 1
	fi
	echo "$dir"
}

# as_postgres runs a command as the postgres user when we are root (initdb and
# pg_ctl refuse to run as root).
as_postgres() {
	if [[ "$(id -u)" == 0 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# data_dir is .data/postgres in the repository, or a directory under /tmp when the
# postgres user cannot reach the repository.
data_dir() {
	local dir="$repo/.data/postgres"
	if [[ "$(id -u)" == 0 ]] && ! runuser -u postgres -- test -x "$repo"; then
		dir="/tmp/customers-pg-$(echo -n "$repo" | sha256sum | cut -c1-12)"
		log "the postgres user cannot reach $repo; using $dir"
	fi
	echo "$dir"
}

answers() { pg_isready -q -h "$1" -p "$2" -t 2; }

start_private() {
	local bin dir
	bin="$(pg_bin)"
	dir="$(data_dir)"
	mkdir -p "$dir"
	if [[ "$(id -u)" == 0 ]]; then chown postgres: "$dir"; fi
	chmod 700 "$dir"
	if [[ ! -f "$dir/PG_VERSION" ]]; then
		log "initialising a private cluster in $dir"
		as_postgres "$bin/initdb" -D "$dir" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >&2
	fi
	if ! answers 127.0.0.1 "$private_port"; then
		log "starting the private cluster on 127.0.0.1:$private_port"
		as_postgres "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
			-o "-c listen_addresses=127.0.0.1 -p $private_port -k $dir -c fsync=off -c max_connections=200" start >&2
	fi
}

if [[ "${1:-}" == stop ]]; then
	dir="$(data_dir)"
	if [[ -f "$dir/postmaster.pid" ]]; then
		as_postgres "$(pg_bin)/pg_ctl" -D "$dir" -m fast -w stop >&2
	fi
	exit 0
fi

if ! command -v pg_isready >/dev/null; then
	log "installing the PostgreSQL client"
	apt-get update -qq >&2 && apt-get install -y -qq postgresql-client >&2
fi

if [[ -n "${DATABASE_URL:-}" ]]; then
	if ! pg_isready -q -d "$DATABASE_URL" -t 5; then
		log "DATABASE_URL is set but its server does not answer"
		exit 1
	fi
	echo "$DATABASE_URL"
	exit 0
fi

if answers 127.0.0.1 "$default_port"; then
	echo "postgres://postgres@127.0.0.1:$default_port/$db_name?sslmode=disable"
	exit 0
fi

log "no PostgreSQL answers at 127.0.0.1:$default_port"
start_private
echo "postgres://postgres@127.0.0.1:$private_port/$db_name?sslmode=disable"
