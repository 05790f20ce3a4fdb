package graph

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// TestSchemaIsCompatibleSupersetOfLiveExtras checks our schema against the
// live-extras contract (an extension of schema.graphql, so the two load
// together): the red-packet rain half is ours (rain.graphqls), the chat
// half chat.graphqls's. A missing file is a failure, never a skip.
func TestSchemaIsCompatibleSupersetOfLiveExtras(t *testing.T) {
	var sources []*ast.Source
	for _, p := range []string{"../docs/contract/schema.graphql", "../docs/contract/live-extras.graphql"} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("reading the contract: %v", err)
		}
		sources = append(sources, &ast.Source{Name: p, Input: string(b)})
	}
	contract, err := gqlparser.LoadSchema(sources...)
	if err != nil {
		t.Fatalf("parsing the contract: %v", err)
	}
	ourFiles, err := filepath.Glob("*.graphqls")
	if err != nil || len(ourFiles) == 0 {
		t.Fatalf("listing our schema files: %v", err)
	}
	var ourSources []*ast.Source
	for _, f := range ourFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ourSources = append(ourSources, &ast.Source{Name: f, Input: string(b)})
	}
	ours, err := gqlparser.LoadSchema(ourSources...)
	if err != nil {
		t.Fatalf("parsing our schema: %v", err)
	}
	if breaks := contractBreaks(contract, ours); len(breaks) > 0 {
		t.Fatalf("our schema is not a compatible superset of schema.graphql + live-extras.graphql; %d breaking difference(s):\n  - %s",
			len(breaks), strings.Join(breaks, "\n  - "))
	}
}
