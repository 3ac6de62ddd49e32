#!/usr/bin/env bash
# Installs what `make test` or `make run` needs when it is missing, or says exactly
# what to install when it cannot.
#
#   scripts/prereqs.sh test   Go; PostgreSQL's server programs (scripts/db.sh starts a
#                             private cluster when none answers, and TestDatabaseGoesAway
#                             stops and starts one of its own); Node.js and npm (the
#                             GraphQL over HTTP audit suite); Chromium (the GraphiQL test)
#   scripts/prereqs.sh run    Go; PostgreSQL: its client (pg_isready) when a server
#                             answers at DATABASE_URL or 127.0.0.1:$PG_DEFAULT_PORT (5432),
#                             else its server programs, for a private cluster
#   scripts/prereqs.sh NEED…  any of: go postgresql postgresql-client nodejs chromium
#
# Missing packages are installed with apt-get when it runs as root on Debian (as CI
# does); otherwise it exits 1 naming the packages and the command to run. Go is never
# installed: Debian's is older than go.mod asks for.
#
# Only bash's builtins and the programs it checks for or runs (id, apt-get) are used,
# so that scripts/prereqs_test.go can run it with a PATH of fakes.
# POSTGRESQL_LIB (/usr/lib/postgresql) is where Debian installs the server programs.
set -euo pipefail

here="${BASH_SOURCE[0]%/*}"
[[ "$here" != "${BASH_SOURCE[0]}" ]] || here=.
repo="$here/.."
pg_lib="${POSTGRESQL_LIB:-/usr/lib/postgresql}"
go_cmd="${GO:-go}"

log() { echo "prereqs.sh: $*" >&2; }

usage() {
	log "usage: scripts/prereqs.sh test|run|NEED… (NEED: go postgresql postgresql-client nodejs chromium)"
	exit 2
}

(($#)) || usage
purpose="make $1"
case "$1" in
test) needs=(go postgresql nodejs chromium) ;;
run)
	needs=(go)
	# A server that answers needs only the client; otherwise scripts/db.sh starts a
	# private cluster from the server programs.
	if [[ -n "${DATABASE_URL:-}" ]] || (exec 3<>"/dev/tcp/127.0.0.1/${PG_DEFAULT_PORT:-5432}") 2>/dev/null; then
		needs+=(postgresql-client)
	else
		needs+=(postgresql)
	fi
	;;
*)
	purpose="this"
	needs=("$@")
	;;
esac

# go_version is the Go version go.mod asks for.
go_version() {
	local word version rest
	while read -r word version rest; do
		if [[ "$word" == go ]]; then
			echo "$version"
			return
		fi
	done <"$repo/go.mod"
	echo "(see go.mod)"
}

# pg_program tells whether the PostgreSQL program $1 is on PATH or among the server
# programs Debian installs under $pg_lib/<version>/bin.
pg_program() { command -v "$1" >/dev/null || compgen -G "$pg_lib/*/bin/$1" >/dev/null; }

# has tells whether need $1 is met.
has() {
	case "$1" in
	go) command -v "$go_cmd" >/dev/null ;;
	postgresql) compgen -G "$pg_lib/*/bin/initdb" >/dev/null && compgen -G "$pg_lib/*/bin/pg_ctl" >/dev/null ;;
	postgresql-client) pg_program pg_isready ;;
	nodejs) command -v node >/dev/null && command -v npm >/dev/null ;;
	chromium) command -v chromium >/dev/null ;;
	*)
		log "unknown need: $1"
		usage
		;;
	esac
}

# packages prints the Debian packages that meet need $1.
packages() {
	case "$1" in
	postgresql) echo postgresql ;;
	postgresql-client) echo postgresql-client ;;
	nodejs)
		command -v node >/dev/null || echo nodejs
		command -v npm >/dev/null || echo npm
		;;
	chromium) echo chromium ;;
	esac
}

# describe says what need $1 is and what it is for.
describe() {
	case "$1" in
	go) echo "Go $(go_version) or newer, as \`$go_cmd\` on PATH (Debian's golang package is older: install it from the Go project's downloads)" ;;
	postgresql) echo "PostgreSQL's server programs (initdb, pg_ctl in $pg_lib/<version>/bin, where Debian installs them): scripts/db.sh starts a private cluster with them, and TestDatabaseGoesAway one of its own" ;;
	postgresql-client) echo "PostgreSQL's client programs (pg_isready): scripts/db.sh checks that the server answers" ;;
	nodejs) echo "Node.js and npm (\`node\`, \`npm\` on PATH): the GraphQL over HTTP audit suite (npm ci)" ;;
	chromium) echo "Chromium (\`chromium\` on PATH): TestGraphiQLInABrowser drives it headless" ;;
	esac
}

missing=()
for need in "${needs[@]}"; do
	has "$need" || missing+=("$need")
done
((${#missing[@]})) || exit 0

pkgs=()
for need in "${missing[@]}"; do
	while read -r pkg; do
		[[ -n "$pkg" ]] && pkgs+=("$pkg")
	done < <(packages "$need")
done

root=false
[[ "$(id -u)" == 0 ]] && root=true
apt=false
command -v apt-get >/dev/null && apt=true

if ((${#pkgs[@]})) && $root && $apt; then
	log "installing ${pkgs[*]} (apt-get install -y ${pkgs[*]})"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2 || log "apt-get update failed; trying the install all the same"
	apt-get install -y -qq "${pkgs[@]}" >&2 || log "apt-get install -y ${pkgs[*]} failed"
fi

# What is still missing (Go always is, if it was; the rest when nothing could install it).
still=()
for need in "${missing[@]}"; do
	has "$need" || still+=("$need")
done
((${#still[@]})) || exit 0

log "$purpose needs what is not installed here:"
for need in "${still[@]}"; do
	echo "  - $(describe "$need")" >&2
done
pkgs=()
for need in "${still[@]}"; do
	while read -r pkg; do
		[[ -n "$pkg" ]] && pkgs+=("$pkg")
	done < <(packages "$need")
done
if ((${#pkgs[@]})); then
	if $root && $apt; then
		log "apt-get did not install them: see its messages above, then run $purpose again"
	elif $apt; then
		log "not running as root, so not installing them. As root (for instance with sudo), run:"
		echo "    apt-get update && apt-get install -y ${pkgs[*]}" >&2
		log "then run $purpose again."
	else
		log "there is no apt-get here: install them with this system's package manager (Debian's names: ${pkgs[*]}), then run $purpose again."
	fi
fi
exit 1
