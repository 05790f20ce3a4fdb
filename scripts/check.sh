#!/usr/bin/env bash
# The house rules a machine can check, run by `make check` and by `make test`
# (so by CI). Each check runs even when an earlier one failed, and the script
# fails when any did:
#   - gofmt -l lists no file;
#   - go generate ./... (gqlgen) leaves the generated GraphQL code as it is
#     committed: a schema or gqlgen.yml change was regenerated;
#   - go vet ./... reports nothing;
#   - staticcheck (pinned as a tool in go.mod: `go tool staticcheck`) reports
#     nothing.
# It changes no file: the generated code is compared, then put back.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

failed=()

echo "check.sh: gofmt -l" >&2
unformatted="$(git ls-files -co --exclude-standard -- '*.go' | xargs -r gofmt -l)"
if [[ -n "$unformatted" ]]; then
	echo "check.sh: these files need gofmt (run: make fmt):" >&2
	echo "$unformatted" | sed 's/^/  /' >&2
	failed+=(gofmt)
fi

echo "check.sh: go generate ./... leaves the generated code unchanged" >&2
generated=(graph/generated.go graph/models_gen.go graph/*.resolvers.go)
keep="$(mktemp -d)"
trap 'rm -rf "$keep"' EXIT
for f in "${generated[@]}"; do
	mkdir -p "$keep/$(dirname "$f")"
	cp -p "$f" "$keep/$f"
done
if ! go generate ./...; then
	failed+=("go generate")
fi
stale=()
for f in "${generated[@]}"; do
	if ! cmp -s "$f" "$keep/$f"; then
		stale+=("$f")
		cp -p "$keep/$f" "$f"
	fi
done
if ((${#stale[@]} > 0)); then
	echo "check.sh: go generate changes ${stale[*]}: run 'make generate' and commit the result" >&2
	failed+=("go generate")
fi

echo "check.sh: go vet ./..." >&2
go vet ./... || failed+=("go vet")

echo "check.sh: staticcheck ./..." >&2
go tool staticcheck ./... || failed+=(staticcheck)

if ((${#failed[@]} > 0)); then
	echo "check.sh: FAILED: ${failed[*]}" >&2
	exit 1
fi
echo "check.sh: all checks passed" >&2
