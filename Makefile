# Every target that needs PostgreSQL finds or starts it with scripts/db.sh. `make test`
# and `make run` first install what they need (scripts/prereqs.sh: apt-get as root), or
# say what to install.
GO ?= go
# WITH_DB runs the rest of the line with DATABASE_URL set, and stops when no database can be had.
WITH_DB = url="$$(scripts/db.sh)" && DATABASE_URL="$$url"

.PHONY: help run test graphiql audit-deps schema-deps schema-check release-schema bench loadtest migrate generate check-generated lint db-stop

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' Makefile | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

# Demo users (models/demo.sql) whose tokens `make run` prints.
DEMO_STAFF   = 677b9b9000000000000003ec
DEMO_ADMIN   = 67950d8c00000000000007d1
DEMO_BILLING = 67950d8c00000000000007d2

run: ## serve at LISTEN_ADDR (127.0.0.1:8080) with demo data; prints demo Authorization headers and the address
	@GO="$(GO)" scripts/prereqs.sh run
	@mkdir -p .data
	@test -s .data/jwt-secret || head -c 32 /dev/urandom | base64 > .data/jwt-secret
	$(GO) build -o .data/customers .
	@export JWT_SECRET="$${JWT_SECRET:-$$(cat .data/jwt-secret)}"; \
	for who in "staff $(DEMO_STAFF)" "admin $(DEMO_ADMIN)" "billing $(DEMO_BILLING)"; do \
		set -- $$who; echo "$$1 (paste into GraphiQL's headers tab as {\"Authorization\": \"Bearer …\"}):"; \
		.data/customers token --user $$2 --ttl 24h; \
	done; \
	export GRAPHIQL_AUTHORIZATION="$${GRAPHIQL_AUTHORIZATION:-$$(.data/customers token --user $(DEMO_STAFF) --ttl 24h | sed 's/^Authorization: //')}"; \
	echo "GraphiQL acts as the staff user when opened from this machine; the server prints where it listens:"; \
	$(WITH_DB) DEMO_DATA=$${DEMO_DATA:-true} exec .data/customers

test: audit-deps schema-deps ## run every test against a real PostgreSQL
	$(WITH_DB) $(GO) test -race -count=1 ./...

graphiql: ## rebuild the embedded GraphiQL assets (graph/graphiql/) from the npm packages pinned in scripts/graphiql
	npm ci --silent --no-audit --no-fund --prefix scripts/graphiql
	cp scripts/graphiql/node_modules/graphiql/graphiql.min.js scripts/graphiql/node_modules/graphiql/graphiql.min.css \
		scripts/graphiql/node_modules/react/umd/react.production.min.js \
		scripts/graphiql/node_modules/react-dom/umd/react-dom.production.min.js graph/graphiql/
	cp scripts/graphiql/node_modules/@graphiql/plugin-explorer/dist/index.umd.js graph/graphiql/plugin-explorer.umd.js
	cp scripts/graphiql/node_modules/@graphiql/plugin-explorer/dist/style.css graph/graphiql/plugin-explorer.css

.PHONY: prereqs
prereqs: ## install what make test needs when missing (apt-get as root), or say what to install
	@GO="$(GO)" scripts/prereqs.sh test

audit-deps: prereqs ## install the GraphQL over HTTP audit suite (npm, pinned by its lockfile)
	npm ci --silent --no-audit --no-fund --prefix scripts/http-audit

schema-deps: prereqs ## install the schema-change gate's differ, graphql-inspector (npm, pinned by its lockfile)
	npm ci --silent --no-audit --no-fund --prefix scripts/schema-check

# README, "Schema changes".
schema-check: schema-deps ## fail when schema.graphqls breaks clients of the released schema (schema/released.graphqls)
	node scripts/schema-check/check.mjs schema/released.graphqls schema.graphqls

release-schema: ## record schema.graphqls as the released schema that schema-check compares with
	cp schema.graphqls schema/released.graphqls
	@echo "schema/released.graphqls is now schema.graphqls: commit it with the release"

bench: ## run the benchmarks against a real PostgreSQL
	$(WITH_DB) $(GO) test -run '^$$' -bench . -benchmem ./...

# Not part of `make test`: it takes about 2 minutes a round (README, "Load test").
# Settings: DURATION, WARMUP, CONNECTIONS, THREADS, ROUNDS, WORKLOADS, LOADTEST_SMOKE=1.
loadtest: ## the API under HTTP load (wrk) against the SQL ceiling (pgbench), on a fresh seeded database
	GO="$(GO)" scripts/loadtest/run.sh

migrate: ## create the database if missing and apply the migrations
	$(WITH_DB) $(GO) run . migrate

generate: ## regenerate the GraphQL code from schema.graphqls: graph/ (gqlgen.yml) and client/ (client/genqlient.yaml)
	$(GO) generate ./...

check-generated: generate ## fail when the generated code is not what the schema gives
	@git diff --exit-code -- graph/ client/ || { echo "generated code is stale: run make generate and commit" >&2; exit 1; }
	@test -z "$$(git status --porcelain --untracked-files=all -- graph/ client/)" || { git status --short -- graph/ client/ >&2; echo "generate wrote new files: run make generate and commit" >&2; exit 1; }

lint: ## gofmt, go vet, staticcheck and a syntax check of the scripts
	bash -n scripts/db.sh && bash -n scripts/loadtest/run.sh
	bash -n scripts/prereqs.sh
	@test -z "$$(gofmt -l .)" || { gofmt -l . >&2; echo "gofmt: the files above need formatting" >&2; exit 1; }
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

db-stop: ## stop the private PostgreSQL started under .data/
	scripts/db.sh stop
