#!/usr/bin/env bash
# make loadtest: the API under HTTP load against the SQL ceiling (README, "Load test").
#
# Creates a fresh database, lets the built server migrate it, seeds 10,000 customers
# and 20,001 users (seed.sql), and runs three workloads, each first through the API
# with wrk (graphql.lua) and then as the bare SQL the work needs with pgbench
# (ceiling-w*.sql), the same connections and duration, each after its own warm-up:
#
#   W1  customer by id, 13 fields
#   W2  page of 50 by cursor, 10 fields + the 4 linked users (id, email, first, last)
#   W3  patch credit + accountLock
#
# Each W1 round also runs scripts/loadtest/bare, the least a Go HTTP service does for
# W1 (net/http, a pgx pool, encoding/json, the same SELECT; no GraphQL): API / bare is
# the share of that floor the API keeps.
#
# Settings (environment):
#   DURATION=15      seconds measured per run (API and ceiling alike)
#   WARMUP=3         seconds of warm-up before each measured run, not counted (0: none)
#   CONNECTIONS=16   wrk connections and pgbench clients
#   THREADS=2        wrk threads and pgbench threads (-j)
#   ROUNDS=1         rounds of API W1, ceiling W1, API W2, … ; every round is printed
#   WORKLOADS="W1 W2 W3"
#   LOADTEST_SMOKE=1 DURATION=1 WARMUP=1 unless given: checks the tool, measures nothing
#   LOADTEST_DB=customers_loadtest   dropped and created again; kept after the run
#   LOADTEST_LISTEN_ADDR=127.0.0.1:18080, LOADTEST_ADMIN_ADDR=127.0.0.1:19090,
#   LOADTEST_BARE_ADDR=127.0.0.1:18081
#   DB_MAX_CONNS, DB_PIPELINES, GOGC, GOMEMLIMIT, GOMAXPROCS, GODEBUG and PPROF_ADDR are
#   passed to the server when set; with PPROF_ADDR, a CPU profile of each measured run
#   is saved in .data/loadtest/cpu-<round>-<workload>.pprof. The bare server runs as many
#   threads of Go code as the server's starting line says it does (gomaxprocs).
#
# The server runs with ENV=production, LOG_LEVEL=info (one access-log line per request,
# to .data/loadtest/server.log), metrics on, fixed JWT_SECRET and CURSOR_SECRET (so
# the cursors taken before the run stay valid), and COST_LIMIT=0: the per-caller cost
# limit is off, or it would throttle the load generator. Nothing else from the caller's
# environment reaches it. Work files are under .data/loadtest/.
set -euo pipefail
export LC_ALL=C

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"

log() { printf '%s loadtest: %s\n' "$(date +%T)" "$*" >&2; }
fail() {
	log "error: $*"
	exit 1
}

smoke="${LOADTEST_SMOKE:-0}"
if [[ "$smoke" == 1 ]]; then
	DURATION="${DURATION:-1}"
	WARMUP="${WARMUP:-1}"
fi
DURATION="${DURATION:-15}"
WARMUP="${WARMUP:-3}"
CONNECTIONS="${CONNECTIONS:-16}"
THREADS="${THREADS:-2}"
ROUNDS="${ROUNDS:-1}"
WORKLOADS="${WORKLOADS:-W1 W2 W3}"
db_name="${LOADTEST_DB:-customers_loadtest}"
listen="${LOADTEST_LISTEN_ADDR:-127.0.0.1:18080}"
admin="${LOADTEST_ADMIN_ADDR:-127.0.0.1:19090}"
bare_listen="${LOADTEST_BARE_ADDR:-127.0.0.1:18081}"
go="${GO:-go}"

# Fixed for every run, so that cursors and tokens taken before a run stay valid; they
# protect nothing (the server listens on loopback, on a throw-away database).
jwt_secret="loadtest-jwt-secret-not-a-secret-0123456789"
cursor_secret="loadtest-cursor-secret-not-a-secret-0123456789"

work=".data/loadtest"
bin=".data/customers"
bare_bin=".data/loadtest-bare"
customers=10000 # seed.sql
page_size=50    # W2 and loadtest_pages in seed.sql

number() { # name value min
	[[ "$2" =~ ^[0-9]+$ ]] && ((10#$2 >= $3)) || fail "$1 must be a whole number of at least $3, got '$2'"
}
number DURATION "$DURATION" 1
number WARMUP "$WARMUP" 0
number CONNECTIONS "$CONNECTIONS" 1
number THREADS "$THREADS" 1
number ROUNDS "$ROUNDS" 1
[[ -z "${GOMAXPROCS:-}" ]] || number GOMAXPROCS "$GOMAXPROCS" 1
((THREADS <= CONNECTIONS)) || fail "THREADS ($THREADS) must not exceed CONNECTIONS ($CONNECTIONS)"
for w in $WORKLOADS; do
	[[ "$w" =~ ^W[123]$ ]] || fail "WORKLOADS: unknown workload '$w' (want W1, W2, W3)"
done
[[ -n "${WORKLOADS// /}" ]] || fail "WORKLOADS is empty"
[[ "$db_name" =~ ^[a-z_][a-z0-9_]*$ ]] || fail "LOADTEST_DB must be a plain lower-case name, got '$db_name'"
[[ "$db_name" != customers ]] || fail "LOADTEST_DB must not be the development database 'customers'"
for a in "$listen" "$admin" "$bare_listen"; do
	[[ "$a" =~ ^[0-9a-zA-Z.-]+:[0-9]+$ ]] || fail "want host:port, got '$a'"
done

# --- tools -------------------------------------------------------------------------

if ! command -v wrk >/dev/null; then
	if ((EUID == 0)) && command -v apt-get >/dev/null; then
		log "installing wrk (apt-get install -y wrk)"
		apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y wrk >/dev/null; } ||
			fail "could not install wrk; install it: apt-get install wrk"
	else
		fail "wrk is missing; install it (Debian: sudo apt-get install wrk)"
	fi
fi
for tool in pgbench psql curl jq; do
	command -v "$tool" >/dev/null || fail "$tool is missing (Debian: apt-get install postgresql-client curl jq)"
done
[[ -r /proc/self/stat ]] || fail "/proc is needed to measure the server's CPU and memory (Linux)"
clk_tck="$(getconf CLK_TCK)"

# --- database ----------------------------------------------------------------------

base_url="$(scripts/db.sh)" || fail "no PostgreSQL (scripts/db.sh)"
[[ "$base_url" =~ ^postgres(ql)?://[^/?]*(/[^?]*)?(\?.*)?$ ]] ||
	fail "want DATABASE_URL as a postgres:// URL, got a connection string scripts/db.sh cannot rewrite"
# with_db URL NAME: URL with its database replaced by NAME.
with_db() {
	local url="$1" query=""
	if [[ "$url" == *\?* ]]; then
		query="?${url#*\?}"
		url="${url%%\?*}"
	fi
	local rest="${url#*://}"
	[[ "$rest" == */* ]] && url="${url%/*}"
	echo "$url/$2$query"
}
db_url="$(with_db "$base_url" "$db_name")"
maintenance_url="$(with_db "$base_url" postgres)"

server_pid=""
# A load generator runs in the background and is waited for, so that a signal stops
# the run at once: cleanup stops the child, then the server.
child=""
foreground() { # OUT COMMAND…: COMMAND's output goes to OUT
	local out="$1"
	shift
	"$@" >"$out" 2>&1 &
	child=$!
	local rc=0
	wait "$child" || rc=$?
	child=""
	return "$rc"
}
stop_server() {
	[[ -n "$server_pid" ]] || return 0
	if kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		for _ in $(seq 1 250); do
			kill -0 "$server_pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$server_pid" 2>/dev/null; then
			log "the server did not stop within 25 s; killing it"
			kill -KILL "$server_pid" 2>/dev/null || true
		fi
	fi
	local rc=0
	wait "$server_pid" 2>/dev/null || rc=$?
	log "server stopped (pid $server_pid, exit status $rc)"
	server_pid=""
}
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n "$child" ]]; then
		kill -TERM "$child" 2>/dev/null || true
		wait "$child" 2>/dev/null || true
	fi
	stop_server
	((rc == 0)) || log "failed (exit status $rc); work files and the server log are in $work/"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$work"
rm -f "$work"/*.txt "$work"/*.log "$work"/*.md

log "building $bin and $bare_bin"
"$go" build -o "$bin" .
"$go" build -o "$bare_bin" ./scripts/loadtest/bare

# port_open HOST:PORT: something accepts connections there.
port_open() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }
for a in "$listen" "$admin" "$bare_listen"; do
	! port_open "$a" || fail "$a is in use (another server?); set LOADTEST_LISTEN_ADDR / LOADTEST_ADMIN_ADDR"
done

log "creating a fresh database $db_name ($(with_db "$base_url" "$db_name" | sed -E 's#//[^@/]*@#//#'))"
psql -X -q -v ON_ERROR_STOP=1 "$maintenance_url" -c "SET client_min_messages = warning" \
	-c "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" -c "CREATE DATABASE $db_name" >/dev/null

server_env=(
	"PATH=$PATH" "HOME=${HOME:-/tmp}"
	ENV=production LOG_LEVEL=info
	"LISTEN_ADDR=$listen" "ADMIN_ADDR=$admin" "DATABASE_URL=$db_url"
	"JWT_SECRET=$jwt_secret" "CURSOR_SECRET=$cursor_secret"
	COST_LIMIT=0
)
for v in DB_MAX_CONNS DB_PIPELINES GOGC GOMEMLIMIT GOMAXPROCS GODEBUG PPROF_ADDR; do
	if [[ -n "${!v:-}" ]]; then server_env+=("$v=${!v}"); fi
done

log "starting the server (it migrates the database), log in $work/server.log"
env -i "${server_env[@]}" "$bin" >"$work/server.log" 2>&1 &
server_pid=$!
for i in $(seq 1 600); do
	if ! kill -0 "$server_pid" 2>/dev/null; then
		tail -n 20 "$work/server.log" >&2
		fail "the server exited at start (log above, $work/server.log)"
	fi
	curl -fsS -o /dev/null "http://$listen/readyz" 2>/dev/null && break
	((i < 600)) || fail "the server was not ready within 60 s ($work/server.log)"
	sleep 0.1
done

# server_procs: the threads of Go code the server runs (GOMAXPROCS, from its starting
# line); the bare server gets as many.
server_procs=""
for i in $(seq 1 50); do
	server_procs="$(jq -rR 'fromjson? | select(.msg == "starting") | .gomaxprocs' "$work/server.log" | head -n 1)"
	[[ -z "$server_procs" ]] || break
	sleep 0.1
done
number "the server's gomaxprocs (its starting line, $work/server.log)" "$server_procs" 1

log "seeding 10,000 customers and 20,001 users (scripts/loadtest/seed.sql)"
seed_start=$EPOCHREALTIME
staff="$(psql -X -q -v ON_ERROR_STOP=1 -f "$here/seed.sql" "$db_url" | tail -n 1)"
[[ "$staff" =~ ^[0-9a-f]{24}$ ]] || fail "the seed did not print the staff user's id (got '$staff')"
log "seeded in $(awk -v a="$seed_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f s", b - a }')"
psql -X -q -At -v ON_ERROR_STOP=1 -c "SELECT encode(id, 'hex') FROM loadtest_ids ORDER BY n" "$db_url" >"$work/ids.txt"
(($(wc -l <"$work/ids.txt") == customers)) || fail "want $customers ids in $work/ids.txt"
pages="$(psql -X -q -At -v ON_ERROR_STOP=1 -c "SELECT count(*) FROM loadtest_pages" "$db_url")"

authorization="$(env -i "PATH=$PATH" "JWT_SECRET=$jwt_secret" "$bin" token --user "$staff" --ttl 24h)"
authorization="${authorization#Authorization: }"
[[ "$authorization" == Bearer\ * ]] || fail "customers token printed no bearer token"

# gql BODY: the response of POST /query as the staff user; fails unless 200.
gql() {
	curl -sS --fail-with-body -H 'Content-Type: application/json' -H "Authorization: $authorization" \
		--data-binary "$1" "http://$listen/query"
}

log "walking the customers by pages of $page_size to collect real cursors"
after=null
: >"$work/cursors.txt"
while :; do
	body="{\"query\":\"query LoadtestCursors(\$after: String) { customers(first: $page_size, after: \$after) { pageInfo { hasNextPage endCursor } } }\",\"variables\":{\"after\":$after}}"
	resp="$(gql "$body")" || fail "cursor walk: $resp"
	next="$(jq -r 'if .errors == null and .data.customers.pageInfo != null
		then .data.customers.pageInfo | "\(.hasNextPage) \(.endCursor)" else "error" end' <<<"$resp")"
	[[ "$next" != error ]] || fail "cursor walk: $resp"
	[[ "$next" == true\ * ]] || break
	cursor="${next#true }"
	[[ "$cursor" =~ ^[A-Za-z0-9_-]+$ ]] || fail "cursor walk: unexpected cursor '$cursor'"
	echo "$cursor" >>"$work/cursors.txt"
	after="\"$cursor\""
done
cursors="$(wc -l <"$work/cursors.txt")"
((cursors == customers / page_size - 1 && cursors == pages)) ||
	fail "want $((customers / page_size - 1)) cursors and as many rows in loadtest_pages, got $cursors and $pages"

# --- measuring ---------------------------------------------------------------------

# server_cpu_ticks [PID]: user + system CPU of the server (or of PID) so far, in
# clock ticks.
server_cpu_ticks() {
	local stat f
	stat="$(<"/proc/${1:-$server_pid}/stat")"
	stat="${stat##*) }" # fields from the 3rd (state) on; utime is the 14th, stime the 15th
	read -r -a f <<<"$stat"
	echo $((f[11] + f[12]))
}
# machine_ticks: "<busy> <all>" CPU ticks of the whole machine so far (/proc/stat),
# every core: busy is user, nice, system, irq, softirq and steal time.
machine_ticks() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat
}
# machine_use "<busy> <all>" "<busy> <all>" N UNIT: the machine's busy CPU per UNIT
# (N of them) between two machine_ticks, all processes (the server, PostgreSQL, the
# load generator, the kernel), and the share of the machine left idle:
# "<µs> µs/<UNIT>, <n> % idle".
machine_use() {
	local b0 a0 b1 a1
	read -r b0 a0 <<<"$1"
	read -r b1 a1 <<<"$2"
	awk -v b=$((b1 - b0)) -v a=$((a1 - a0)) -v hz="$clk_tck" -v n="$3" -v unit="$4" \
		'BEGIN { printf "%.0f µs/%s, %.0f %% idle", b / hz * 1e6 / n, unit, (a > 0 ? (a - b) / a * 100 : 0) }'
}
# server_hwm_kib: the server's peak resident set (VmHWM) since the last reset.
server_hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$server_pid/status"; }
# statements: "<sum> <count>" of customers_sql_statements_per_request, then the
# pipeline's reads and round trips (customers_sql_pipelined_reads_total,
# customers_sql_pipeline_round_trips_total).
statements() {
	curl -fsS "http://$admin/metrics" | awk '
		/^customers_sql_statements_per_request_sum / { s = $2 }
		/^customers_sql_statements_per_request_count / { c = $2 }
		/^customers_sql_pipelined_reads_total / { r = $2 }
		/^customers_sql_pipeline_round_trips_total / { b = $2 }
		END { printf "%.0f %.0f %.0f %.0f\n", s, c, r, b }'
}

values_file() { if [[ "$1" == W2 ]]; then echo "$work/cursors.txt"; else echo "$work/ids.txt"; fi; }

# preflight W: one request, its body shown if it is not what the workload expects.
preflight() {
	local w="$1" v body resp
	v="$(sed -n 2p "$(values_file "$w")")"
	case "$w" in
	W1) body="{\"query\":\"{ customer(id: \\\"$v\\\") { id name } }\"}" ;;
	W2) body="{\"query\":\"{ customers(first: $page_size, after: \\\"$v\\\") { edges { node { id adminUser { email } } } } }\"}" ;;
	W3) body="{\"query\":\"mutation { customerPatch(id: \\\"$v\\\", patch: {credit: 1, accountLock: false}) { version } }\"}" ;;
	esac
	resp="$(gql "$body")" || fail "$w: the server refused a request: $resp"
	jq -e '.errors == null and ([.data[]][0] != null) and (if .data.customers == null then true
		else .data.customers.edges | length == 50 and all(.[]; .node.adminUser != null) end)' \
		>/dev/null <<<"$resp" || fail "$w: a request did not answer as expected: $resp"
}

# wrk_run W SECONDS OUT [ADDR]: wrk on workload W against the API (or ADDR); the
# LOADTEST line goes to OUT.
wrk_run() {
	foreground "$3" wrk -t "$THREADS" -c "$CONNECTIONS" -d "${2}s" --timeout 10s -s "$here/graphql.lua" \
		"http://${4:-$listen}" -- "$1" "$(values_file "$1")" "$authorization" || {
		cat "$3" >&2
		fail "wrk failed on $1"
	}
}

# pgbench_run W SECONDS OUT
pgbench_run() {
	local w="${1,,}"
	foreground "$3" pgbench -n -M prepared -c "$CONNECTIONS" -j "$THREADS" -T "$2" -D "maxn=$customers" \
		-D "pages=$pages" -f "$here/ceiling-$w.sql" "$db_url" || {
		tail -n 20 "$3" >&2
		fail "pgbench failed on the ceiling of $1 ($3)"
	}
}

# Results, one entry per round and workload.
declare -A R

api() {
	local round="$1" w="$2" out="$work/wrk-$1-$2.txt" line kv
	preflight "$w"
	if ((WARMUP > 0)); then wrk_run "$w" "$WARMUP" "$work/wrk-$round-$w-warmup.txt"; fi
	# Peak RSS from here on: writing 5 to clear_refs resets VmHWM to the current RSS.
	local hwm_note=""
	echo 5 >"/proc/$server_pid/clear_refs" 2>/dev/null || hwm_note=" (peak since start)"
	local s0 c0 r0 b0 s1 c1 r1 b1 t0 t1 w0 w1 m0 m1 u0 u1
	m0="$(statements)"
	read -r s0 c0 r0 b0 <<<"$m0"
	t0="$(server_cpu_ticks)"
	u0="$(machine_ticks)"
	w0=$EPOCHREALTIME
	local profiler=""
	if [[ -n "${PPROF_ADDR:-}" ]] && ((DURATION > 2)); then # a CPU profile of the measured run
		curl -s -o "$work/cpu-$round-$w.pprof" "http://$PPROF_ADDR/debug/pprof/profile?seconds=$((DURATION - 2))" &
		profiler=$!
	fi
	wrk_run "$w" "$DURATION" "$out"
	w1=$EPOCHREALTIME
	u1="$(machine_ticks)"
	if [[ -n "$profiler" ]]; then
		wait "$profiler" || log "no CPU profile of $w"
		log "CPU profile of the measured run: go tool pprof $work/cpu-$round-$w.pprof"
	fi
	t1="$(server_cpu_ticks)"
	m1="$(statements)"
	read -r s1 c1 r1 b1 <<<"$m1"
	line="$(grep '^LOADTEST ' "$out")" || {
		cat "$out" >&2
		fail "wrk printed no result for $w"
	}
	local -A m=()
	for kv in ${line#LOADTEST }; do m[${kv%%=*}]="${kv#*=}"; done
	((m[requests] > 0)) || fail "$w: no request completed ($out)"
	local k="$round,$w"
	R[$k,rps]="$(awk -v n="${m[requests]}" -v d="${m[duration_us]}" 'BEGIN { printf "%.0f", n / (d / 1e6) }')"
	R[$k,p50]="$(awk -v v="${m[p50_us]}" 'BEGIN { printf "%.2f", v / 1000 }')"
	R[$k,p99]="$(awk -v v="${m[p99_us]}" 'BEGIN { printf "%.2f", v / 1000 }')"
	R[$k,errors]=$((m[non2xx] + m[graphql_errors] + m[unexpected] + m[socket_errors]))
	R[$k,error_detail]="non-2xx ${m[non2xx]}, GraphQL errors ${m[graphql_errors]}, unexpected ${m[unexpected]}, socket ${m[socket_errors]}"
	R[$k,cpu_us]="$(awk -v t=$((t1 - t0)) -v hz="$clk_tck" -v n="${m[requests]}" 'BEGIN { printf "%.0f", t / hz * 1e6 / n }')"
	R[$k,cpu_pct]="$(awk -v t=$((t1 - t0)) -v hz="$clk_tck" -v a="$w0" -v b="$w1" 'BEGIN { printf "%.0f", t / hz / (b - a) * 100 }')"
	R[$k,rss]="$(awk -v k="$(server_hwm_kib)" 'BEGIN { printf "%.0f", k / 1024 }')$hwm_note"
	R[$k,stmts]="$(awk -v s=$((s1 - s0)) -v c=$((c1 - c0)) 'BEGIN { if (c > 0) printf "%.2f", s / c; else print "n/a" }')"
	R[$k,shared]="$(awk -v r=$((r1 - r0)) -v b=$((b1 - b0)) 'BEGIN { if (b > 0) printf "%.1f", r / b; else print "n/a" }')"
	printf 'round %d %s API     %8s req/s  p50 %s ms  p99 %s ms  errors %s (%s)  server CPU %s µs/req (%s %% of a core)  max RSS %s MiB  %s statements/req  %s reads/round trip  machine CPU %s\n' \
		"$round" "$w" "${R[$k,rps]}" "${R[$k,p50]}" "${R[$k,p99]}" "${R[$k,errors]}" "${R[$k,error_detail]}" \
		"${R[$k,cpu_us]}" "${R[$k,cpu_pct]}" "${R[$k,rss]}" "${R[$k,stmts]}" "${R[$k,shared]}" \
		"$(machine_use "$u0" "$u1" "${m[requests]}" req)"
}

ceiling() {
	local round="$1" w="$2" out="$work/pgbench-$1-$2.txt" tps failed u0 u1 txs
	if ((WARMUP > 0)); then pgbench_run "$w" "$WARMUP" "$work/pgbench-$round-$w-warmup.txt"; fi
	u0="$(machine_ticks)"
	pgbench_run "$w" "$DURATION" "$out"
	u1="$(machine_ticks)"
	tps="$(awk '/^tps = / { printf "%.0f", $3 }' "$out")"
	txs="$(awk '/^number of transactions actually processed:/ { print $6 }' "$out")"
	failed="$(awk '/^number of failed transactions:/ { print $5 }' "$out")"
	[[ -n "$tps" ]] || fail "pgbench printed no tps ($out)"
	local k="$round,$w"
	R[$k,ceiling]="$tps"
	R[$k,ceiling_failed]="${failed:-0}"
	R[$k,ratio]="$(awk -v a="${R[$k,rps]:-0}" -v b="$tps" 'BEGIN { printf "%.1f", a / b * 100 }')"
	printf 'round %d %s ceiling %8s tx/s   (pgbench -M prepared, %s failed)  API / ceiling %s %%  machine CPU %s\n' \
		"$round" "$w" "$tps" "${R[$k,ceiling_failed]}" "${R[$k,ratio]}" "$(machine_use "$u0" "$u1" "${txs:-1}" tx)"
}

# bare ROUND: W1 against scripts/loadtest/bare, which runs only for it.
bare() {
	local round="$1" out="$work/wrk-$1-W1-bare.txt" line kv pid t0 t1 u0 u1
	env -i "PATH=$PATH" "DATABASE_URL=$db_url" "LISTEN_ADDR=$bare_listen" "GOMAXPROCS=$server_procs" ${DB_MAX_CONNS:+"DB_MAX_CONNS=$DB_MAX_CONNS"} \
		"$bare_bin" >"$work/bare.log" 2>&1 &
	pid=$!
	for i in $(seq 1 100); do
		port_open "$bare_listen" && break
		kill -0 "$pid" 2>/dev/null && ((i < 100)) || fail "the bare server did not start ($work/bare.log)"
		sleep 0.1
	done
	if ((WARMUP > 0)); then wrk_run W1 "$WARMUP" "$work/wrk-$round-W1-bare-warmup.txt" "$bare_listen"; fi
	t0="$(server_cpu_ticks "$pid")"
	u0="$(machine_ticks)"
	wrk_run W1 "$DURATION" "$out" "$bare_listen"
	u1="$(machine_ticks)"
	t1="$(server_cpu_ticks "$pid")"
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	line="$(grep '^LOADTEST ' "$out")" || fail "wrk printed no result for the bare server"
	local -A m=()
	for kv in ${line#LOADTEST }; do m[${kv%%=*}]="${kv#*=}"; done
	((m[requests] > 0 && m[non2xx] + m[graphql_errors] + m[unexpected] + m[socket_errors] == 0)) ||
		fail "the bare server answered with errors ($out)"
	local k="$round,W1"
	R[$k,bare]="$(awk -v n="${m[requests]}" -v d="${m[duration_us]}" 'BEGIN { printf "%.0f", n / (d / 1e6) }')"
	R[$k,bare_ratio]="$(awk -v a="${R[$k,rps]:-0}" -v b="${R[$k,bare]}" 'BEGIN { printf "%.0f", a / b * 100 }')"
	printf 'round %d W1 bare Go %8s req/s  server CPU %s µs/req  API / bare Go %s %%  machine CPU %s\n' "$round" "${R[$k,bare]}" \
		"$(awk -v t=$((t1 - t0)) -v hz="$clk_tck" -v n="${m[requests]}" 'BEGIN { printf "%.0f", t / hz * 1e6 / n }')" \
		"${R[$k,bare_ratio]}" "$(machine_use "$u0" "$u1" "${m[requests]}" req)"
}

pg_version="$(psql -X -q -At -c 'SHOW server_version' "$db_url")"
echo
echo "make loadtest: $(date -u '+%Y-%m-%d %H:%M UTC'), $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo '+changes'), $("$go" env GOVERSION), PostgreSQL $pg_version, $(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$customers customers, $(psql -X -q -At -c 'SELECT count(*) FROM users' "$db_url") users; ${WARMUP} s warm-up + ${DURATION} s measured per run; $CONNECTIONS connections, $THREADS threads; GOMAXPROCS=$server_procs (the server's, and the bare server's); server ENV=production LOG_LEVEL=info COST_LIMIT=0${DB_MAX_CONNS:+ DB_MAX_CONNS=$DB_MAX_CONNS}"
[[ "$smoke" != 1 ]] || echo "LOADTEST_SMOKE=1: a check of the tool; these figures measure nothing"
echo
for round in $(seq 1 "$ROUNDS"); do
	for w in $WORKLOADS; do
		api "$round" "$w"
		ceiling "$round" "$w"
		if [[ "$w" == W1 ]]; then bare "$round"; fi
	done
done
stop_server

{
	echo
	echo "| round | workload | req/s | p50 ms | p99 ms | errors | server CPU µs/req | server CPU % of a core | max RSS MiB | statements/req | reads / round trip | ceiling tx/s | API / ceiling | API / bare Go |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for round in $(seq 1 "$ROUNDS"); do
		for w in $WORKLOADS; do
			k="$round,$w"
			echo "| $round | $w | ${R[$k,rps]} | ${R[$k,p50]} | ${R[$k,p99]} | ${R[$k,errors]} | ${R[$k,cpu_us]} | ${R[$k,cpu_pct]} | ${R[$k,rss]} | ${R[$k,stmts]} | ${R[$k,shared]} | ${R[$k,ceiling]} | ${R[$k,ratio]} % | ${R[$k,bare_ratio]:+${R[$k,bare_ratio]} %} |"
		done
	done
	echo
	echo "GOMAXPROCS=$server_procs; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); database $db_name kept (dropped at the next run); work files in $work/"
} | tee "$work/results.md"
