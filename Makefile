.DEFAULT_GOAL := help
.PHONY: help run test check bench bench-live bench-sale build generate services down fmt vet topology topology-down bench-scaleout

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

run: ## start PostgreSQL/Redis if needed and run the server on :8080 (dev)
	scripts/run.sh

test: ## make check + go test -race with local PostgreSQL/Redis
	scripts/test.sh

check: ## gofmt, go generate unchanged, go vet, staticcheck (no services needed)
	scripts/check.sh

bench: ## benchmarks of the purchase path against serverTime (COUNT, BENCHTIME, BENCH)
	scripts/bench.sh

bench-live: ## the live feed under 10,000 viewers (VIEWERS, RATE, DURATION, RUNS, SERVERS="flashlive bare")
	scripts/bench-live.sh

bench-sale: ## a whole sale against a fresh server: 1,000 buyers, 5,000 viewers, invariants checked (BUYERS, VIEWERS, OUT, BENCH_FLAGS)
	scripts/bench-sale.sh

build: ## build bin/flashlive
	go build -o bin/flashlive ./cmd/flashlive

generate: ## regenerate GraphQL code (gqlgen)
	go run github.com/99designs/gqlgen generate

topology: ## 3 instances behind HAProxy, Redis Cluster, NATS cluster, PostgreSQL, on loopback (scripts/topology.sh)
	scripts/topology.sh up

bench-scaleout: ## purchase throughput through HAProxy with 1 and 3 instances, one run (RUNS, BUYERS, VIEWERS)
	scripts/bench-scaleout.sh

topology-down: ## stop what make topology started (PostgreSQL stays)
	scripts/topology.sh down

services: ## start PostgreSQL/Redis only
	scripts/services.sh up >/dev/null

down: ## stop PostgreSQL/Redis started by make run/test/services
	scripts/services.sh down

fmt: ## gofmt the code
	go fmt ./...

vet: ## go vet
	go vet ./...
