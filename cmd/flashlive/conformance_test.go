package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// conformanceDir holds the ecosystem's clients the conformance tests run,
// pinned by its package-lock.json; scripts/ensure-conformance.sh (which
// scripts/test.sh calls) installs them.
const conformanceDir = "../../test/conformance"

// node runs a script of conformanceDir with args and returns its output;
// a missing node or missing clients fail the test, never skip it.
func node(t *testing.T, script string, args ...string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH (%v): the conformance tests need Node >= 18; run `make test` (scripts/test.sh calls scripts/ensure-conformance.sh)", err)
	}
	if _, err := os.Stat(filepath.Join(conformanceDir, "node_modules", ".package-lock.json")); err != nil {
		t.Fatalf("the conformance clients are not installed (%v): run scripts/ensure-conformance.sh (make test does)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{script}, args...)...)
	cmd.Dir = conformanceDir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// The graphql-http audit finds no error and no warning.
func TestGraphQLOverHTTPAudit(t *testing.T) {
	app := startApp(t, nil)
	out, err := node(t, "audit.mjs", app.URL+"/graphql")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	summary := lines[len(lines)-1]
	if err != nil || !strings.HasSuffix(summary, " 0 warnings, 0 errors") {
		t.Fatalf("graphql-http audit: %v\n%s", err, out)
	}
	t.Log(summary)
}

// The graphql-ws npm client subscribes to a room and gets its update.
func TestGraphQLWSClient(t *testing.T) {
	app := startApp(t, nil)
	seller, _ := app.register(t, "SELLER")
	room := seller.newRoom(t, "Conformance")
	out, err := node(t, "subscribe.mjs", "ws://"+app.Addr()+"/graphql", room)
	if err != nil {
		t.Fatalf("graphql-ws client: %v\n%s", err, out)
	}
	want := `first {"data":{"liveRoom":{"__typename":"ViewerCount","roomId":"` + room + `","count":1}}}`
	if got := strings.TrimSpace(out); got != want {
		t.Fatalf("graphql-ws client printed\n%s\nwant\n%s", got, want)
	}
}
