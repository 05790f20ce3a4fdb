package graph

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSchemaIsCompatibleSupersetOfLiveExtras checks our schema against
// the contract extended by live-extras.graphql (the chat and the rain):
// schema.graphql and the extension, read as one schema.
func TestSchemaIsCompatibleSupersetOfLiveExtras(t *testing.T) {
	var all []byte
	for _, p := range []string{"../docs/contract/schema.graphql", "../docs/contract/live-extras.graphql"} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("read the contract: %v", err)
		}
		all = append(append(all, b...), '\n')
	}
	contractPath := filepath.Join(t.TempDir(), "schema+live-extras.graphql")
	if err := os.WriteFile(contractPath, all, 0o600); err != nil {
		t.Fatal(err)
	}
	ourFiles, err := filepath.Glob("*.graphqls")
	if err != nil {
		t.Fatal(err)
	}
	breaks, err := contractCheckFiles(contractPath, ourFiles)
	if err != nil {
		t.Fatalf("cannot compare our schema with the live-extras contract: %v", err)
	}
	if len(breaks) > 0 {
		t.Fatalf("our schema is not a compatible superset of schema.graphql + live-extras.graphql; %d breaking difference(s):\n  - %s",
			len(breaks), strings.Join(breaks, "\n  - "))
	}
}
