package graph

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// TestSchemaIsCompatibleSupersetOfWaitingRoomContract: with the waiting
// room built, its contract extension binds too: schema.graphql and
// waiting-room.graphql together must be a compatible subset of ours.
func TestSchemaIsCompatibleSupersetOfWaitingRoomContract(t *testing.T) {
	var sources []*ast.Source
	for _, p := range []string{"../docs/contract/schema.graphql", "../docs/contract/waiting-room.graphql"} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("reading the contract: %v", err)
		}
		sources = append(sources, &ast.Source{Name: p, Input: string(b)})
	}
	contract, gerr := gqlparser.LoadSchema(sources...)
	if gerr != nil {
		t.Fatalf("parsing the contract: %v", gerr)
	}
	ourFiles, err := filepath.Glob("*.graphqls")
	if err != nil || len(ourFiles) == 0 {
		t.Fatalf("listing our schema files: %v (%d)", err, len(ourFiles))
	}
	var ourSources []*ast.Source
	for _, f := range ourFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ourSources = append(ourSources, &ast.Source{Name: f, Input: string(b)})
	}
	ours, gerr := gqlparser.LoadSchema(ourSources...)
	if gerr != nil {
		t.Fatalf("parsing our schema: %v", gerr)
	}
	if breaks := contractBreaks(contract, ours); len(breaks) > 0 {
		t.Fatalf("our schema is not a compatible superset of schema.graphql + waiting-room.graphql; %d breaking difference(s):\n  - %s",
			len(breaks), strings.Join(breaks, "\n  - "))
	}
}
