package graph

// This file checks that our GraphQL schema (graph/*.graphqls) is a compatible
// superset of the public contract (docs/contract/schema.graphql, the
// repository's copy of the shared contract; when the shared repo is cloned
// beside the checkout, ../shared/contract, the copy must equal it). It deliberately uses no other symbol of
// package graph, so it compiles whatever else the package holds, and every
// package-level name starts with "contract" to avoid clashes with generated
// code.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// TestSchemaIsCompatibleSupersetOfContract fails, listing every breaking
// difference at once, when our schema is not a compatible superset of the
// public contract. A missing contract file is a failure, never a skip.
func TestSchemaIsCompatibleSupersetOfContract(t *testing.T) {
	const contractPath = "../docs/contract/schema.graphql"
	ourFiles, err := filepath.Glob("*.graphqls")
	if err != nil {
		t.Fatalf("listing our schema files: %v", err)
	}
	breaks, err := contractCheckFiles(contractPath, ourFiles)
	if err != nil {
		t.Fatalf("cannot compare our schema with the public contract: %v", err)
	}
	if len(breaks) > 0 {
		t.Fatalf("our schema (%s) is not a compatible superset of the public contract %s; %d breaking difference(s):\n  - %s",
			strings.Join(ourFiles, ", "), contractPath, len(breaks), strings.Join(breaks, "\n  - "))
	}
}

// TestContractCopyIsCurrent fails when the repository's copy of a contract
// file differs from the shared repo's, when that is cloned beside the
// checkout (as on CI); without it there is nothing to compare.
func TestContractCopyIsCurrent(t *testing.T) {
	shared, err := filepath.Glob("../../shared/contract/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range shared {
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		copyPath := filepath.Join("../docs/contract", filepath.Base(path))
		got, err := os.ReadFile(copyPath)
		if err != nil {
			t.Errorf("%s has no copy in the repository: %v", path, err)
			continue
		}
		if string(got) != string(want) {
			t.Errorf("%s differs from %s: copy it again", copyPath, path)
		}
	}
}

// TestContractCheckFilesFailsWithoutContract proves a missing contract file
// or a missing schema is reported as an error (so the real test fails) rather
// than silently passing.
func TestContractCheckFilesFailsWithoutContract(t *testing.T) {
	dir := t.TempDir()
	ours := filepath.Join(dir, "schema.graphqls")
	if err := os.WriteFile(ours, []byte("type Query { a: Int }"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "no-such-contract.graphql")

	_, err := contractCheckFiles(missing, []string{ours})
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("missing contract: got error %v, want one naming %s", err, missing)
	}
	_, err = contractCheckFiles(ours, nil)
	if err == nil {
		t.Fatalf("no schema files: got nil error, want one")
	}
}

// TestContractBreaks proves contractBreaks catches each kind of breaking
// change and accepts the legal ones, using small inline schemas.
func TestContractBreaks(t *testing.T) {
	tests := []struct {
		name     string
		contract string
		ours     string
		want     []string
	}{
		// Legal changes.
		{
			name:     "identical",
			contract: `type Query { a(x: Int = 1): [String!] }`,
			ours:     `type Query { a(x: Int = 1): [String!] }`,
		},
		{
			name:     "extra field and extra type",
			contract: `type Query { a: Int }`,
			ours:     `type Query { a: Int b: String! c: Extra } type Extra { z: Int }`,
		},
		{
			name:     "extra optional arguments (nullable, or non-null with default)",
			contract: `type Query { a(x: Int): Int }`,
			ours:     `type Query { a(x: Int, y: String, z: Int! = 3, w: [Int!]! = []): Int }`,
		},
		{
			name:     "stricter output, recursively",
			contract: `type Query { a: Int b: [Int] c: [[Int]] }`,
			ours:     `type Query { a: Int! b: [Int!]! c: [[Int!]!] }`,
		},
		{
			name:     "looser input arguments, recursively",
			contract: `type Query { a(x: Int!, y: [Int!]!, z: [[Int!]]): Int }`,
			ours:     `type Query { a(x: Int, y: [Int], z: [[Int]]): Int }`,
		},
		{
			name:     "looser input fields, new optional input fields",
			contract: `input In { x: Int! y: [ID!]! } type Query { a(in: In): Int }`,
			ours:     `input In { x: Int y: [ID] z: String w: Int! = 0 } type Query { a(in: In): Int }`,
		},
		{
			name:     "non-null argument with a default where the contract is nullable",
			contract: `type Query { a(first: Int = 20, x: Int): Int }`,
			ours:     `type Query { a(first: Int! = 20, x: Int! = 5): Int }`,
		},
		{
			name:     "default added where the contract has none",
			contract: `input In { x: Int } type Query { a(y: Int, in: In): Int }`,
			ours:     `input In { x: Int = 1 } type Query { a(y: Int = 2, in: In): Int }`,
		},
		{
			name:     "extra enum value, union member and interface",
			contract: `enum E { A } type T { id: ID } union U = T type Query { e: E u: U }`,
			ours: `enum E { A B } interface Node { id: ID }
				type T implements Node { id: ID } type S { s: Int }
				union U = T | S type Query { e: E u: U }`,
		},
		{
			name:     "directives and descriptions ignored",
			contract: `"old" type Query { "old" a(x: Int): Int }`,
			ours: `directive @hasRole(roles: [String!]!) on FIELD_DEFINITION
				"new" type Query { "new" a("new" x: Int): Int @hasRole(roles: ["X"]) }`,
		},

		// Breaking changes.
		{
			name:     "missing type",
			contract: `type Query { a: Int } type Gone { b: Int } scalar Time`,
			ours:     `type Query { a: Int }`,
			want:     []string{"type Gone: missing", "type Time: missing"},
		},
		{
			name:     "type of a different kind",
			contract: `type Query { a: Int } type T { b: Int } enum E { A }`,
			ours:     `type Query { a: Int } interface T { b: Int } scalar E`,
			want: []string{
				"type E: is SCALAR in ours, ENUM in the contract",
				"type T: is INTERFACE in ours, OBJECT in the contract",
			},
		},
		{
			name:     "missing field on object and interface",
			contract: `interface I { id: ID n: Int } type Query { a: Int b: Int }`,
			ours:     `interface I { id: ID } type Query { a: Int }`,
			want:     []string{"I.n: missing field", "Query.b: missing field"},
		},
		{
			name:     "nullable output where the contract is non-null, recursively",
			contract: `type Query { a: Int! b: [Int!] c: [Int]! }`,
			ours:     `type Query { a: Int b: [Int] c: [Int] }`,
			want: []string{
				"Query.a: type Int is not compatible with the contract's Int! for output (must be the same or stricter)",
				"Query.b: type [Int] is not compatible with the contract's [Int!] for output (must be the same or stricter)",
				"Query.c: type [Int] is not compatible with the contract's [Int]! for output (must be the same or stricter)",
			},
		},
		{
			name:     "output list-ness or named type changed",
			contract: `type Query { a: [Int] b: Int c: String }`,
			ours:     `type Query { a: Int b: [Int] c: ID }`,
			want: []string{
				"Query.a: type Int is not compatible with the contract's [Int] for output (must be the same or stricter)",
				"Query.b: type [Int] is not compatible with the contract's Int for output (must be the same or stricter)",
				"Query.c: type ID is not compatible with the contract's String for output (must be the same or stricter)",
			},
		},
		{
			name:     "missing argument",
			contract: `type Query { a(x: Int, y: Int): Int }`,
			ours:     `type Query { a(x: Int): Int }`,
			want:     []string{"Query.a(y:): missing argument"},
		},
		{
			name:     "required extra argument",
			contract: `type Query { a: Int }`,
			ours:     `type Query { a(x: Int!): Int }`,
			want:     []string{"Query.a(x:): new required argument of type Int! without a default"},
		},
		{
			name:     "argument made required or retyped",
			contract: `type Query { a(x: Int, y: [Int], z: Int, w: Int = 1): Int }`,
			ours:     `type Query { a(x: Int!, y: [Int!], z: String, w: Int! = 1): Int }`,
			want: []string{
				"Query.a(x:): type Int! is not compatible with the contract's Int for input (must be the same or looser)",
				"Query.a(y:): type [Int!] is not compatible with the contract's [Int] for input (must be the same or looser)",
				"Query.a(z:): type String is not compatible with the contract's Int for input (must be the same or looser)",
			},
		},
		{
			name:     "default removed or changed",
			contract: `type Query { a(first: Int = 20, s: String = "", e: E = A): Int } enum E { A B }`,
			ours:     `type Query { a(first: Int, s: String = "x", e: E = B): Int } enum E { A B }`,
			want: []string{
				`Query.a(first:): default value 20 removed`,
				`Query.a(s:): default value "x" differs from the contract's ""`,
				`Query.a(e:): default value B differs from the contract's A`,
			},
		},
		{
			name:     "missing interface",
			contract: `interface Node { id: ID! } type T implements Node { id: ID! } type Query { t: T }`,
			ours:     `interface Node { id: ID! } type T { id: ID! } type Query { t: T }`,
			want:     []string{"T: does not implement interface Node"},
		},
		{
			name:     "missing enum value",
			contract: `enum E { A B C } type Query { e: E }`,
			ours:     `enum E { A C } type Query { e: E }`,
			want:     []string{"E: missing enum value B"},
		},
		{
			name:     "missing union member",
			contract: `type A { a: Int } type B { b: Int } union U = A | B type Query { u: U }`,
			ours:     `type A { a: Int } type B { b: Int } union U = A type Query { u: U }`,
			want:     []string{"U: missing union member B"},
		},
		{
			name:     "input field made required",
			contract: `input In { x: Int y: [Int] } type Query { a(in: In): Int }`,
			ours:     `input In { x: Int! y: [Int!] } type Query { a(in: In): Int }`,
			want: []string{
				"In.x: type Int! is not compatible with the contract's Int for input (must be the same or looser)",
				"In.y: type [Int!] is not compatible with the contract's [Int] for input (must be the same or looser)",
			},
		},
		{
			name:     "input field missing, extra required input field, input default removed",
			contract: `input In { x: Int y: Int n: Int = 1 } type Query { a(in: In): Int }`,
			ours:     `input In { x: Int z: String! n: Int } type Query { a(in: In): Int }`,
			want: []string{
				"In.y: missing input field",
				"In.n: default value 1 removed",
				"In.z: new required input field of type String! without a default",
			},
		},
		{
			name:     "root operation type missing",
			contract: `type Query { a: Int } type Subscription { s: Int }`,
			ours:     `schema { query: Query } type Query { a: Int } type Subscription { s: Int }`,
			want:     []string{"schema: the contract has a subscription root (Subscription), ours has none"},
		},
		{
			name: "all breaks listed at once",
			contract: `enum E { A B } type T { f: Int! g: Int } union U = T
				type Query { a(x: Int): E u: U t: T }`,
			ours: `enum E { A } type T { f: Int } type V { v: Int } union U = V
				type Query { a(x: Int, y: ID!): E u: U t: T }`,
			want: []string{
				"E: missing enum value B",
				"Query.a(y:): new required argument of type ID! without a default",
				"T.f: type Int is not compatible with the contract's Int! for output (must be the same or stricter)",
				"T.g: missing field",
				"U: missing union member T",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			contract := contractMustLoad(t, "contract.graphql", tt.contract)
			ours := contractMustLoad(t, "ours.graphqls", tt.ours)
			got := contractBreaks(contract, ours)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("contractBreaks:\n got  %q\n want %q", got, tt.want)
			}
		})
	}
}

// contractMustLoad parses one inline schema for a table test, failing the
// test if it is not valid.
func contractMustLoad(t *testing.T, name, src string) *ast.Schema {
	t.Helper()
	s, err := gqlparser.LoadSchema(&ast.Source{Name: name, Input: src})
	if err != nil {
		t.Fatalf("invalid test schema %s: %v\n%s", name, err, src)
	}
	return s
}

// contractCheckFiles loads the contract at contractPath and our schema from
// ourFiles (merged into one schema) and returns the breaking differences.
// It returns an error if a file is unreadable, no schema file is given, or a
// schema does not parse and validate.
func contractCheckFiles(contractPath string, ourFiles []string) ([]string, error) {
	src, err := os.ReadFile(contractPath)
	if err != nil {
		return nil, fmt.Errorf("reading the public contract %s (CI must check out the shared repo beside main): %w", contractPath, err)
	}
	contract, err := gqlparser.LoadSchema(&ast.Source{Name: contractPath, Input: string(src)})
	if err != nil {
		return nil, fmt.Errorf("parsing the public contract %s: %w", contractPath, err)
	}
	if len(ourFiles) == 0 {
		return nil, errors.New("no *.graphqls schema files found")
	}
	sources := make([]*ast.Source, 0, len(ourFiles))
	for _, f := range ourFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading our schema: %w", err)
		}
		sources = append(sources, &ast.Source{Name: f, Input: string(b)})
	}
	ours, err := gqlparser.LoadSchema(sources...)
	if err != nil {
		return nil, fmt.Errorf("parsing our schema %s: %w", strings.Join(ourFiles, ", "), err)
	}
	return contractBreaks(contract, ours), nil
}

// contractBreaks returns, in a stable order, every way ours fails to be a
// compatible superset of contract: missing or re-kinded types, missing
// fields, arguments, enum values, union members and interfaces, incompatible
// output or input types, removed or changed defaults, and new required
// arguments or input fields. Directives and descriptions are ignored. An
// empty result means ours is compatible.
func contractBreaks(contract, ours *ast.Schema) []string {
	d := &contractDiff{}
	d.checkRoot("query", contract.Query, ours.Query)
	d.checkRoot("mutation", contract.Mutation, ours.Mutation)
	d.checkRoot("subscription", contract.Subscription, ours.Subscription)

	names := make([]string, 0, len(contract.Types))
	for name, def := range contract.Types {
		if !def.BuiltIn {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		d.checkType(contract.Types[name], ours.Types[name])
	}
	return d.breaks
}

// contractDiff accumulates the breaking differences found by contractBreaks.
type contractDiff struct {
	breaks []string
}

// addf records one breaking difference.
func (d *contractDiff) addf(format string, args ...any) {
	d.breaks = append(d.breaks, fmt.Sprintf(format, args...))
}

// checkRoot reports a contract root operation type (query, mutation,
// subscription) that ours lacks or maps to a differently named type.
func (d *contractDiff) checkRoot(op string, contract, ours *ast.Definition) {
	switch {
	case contract == nil:
	case ours == nil:
		d.addf("schema: the contract has a %s root (%s), ours has none", op, contract.Name)
	case ours.Name != contract.Name:
		d.addf("schema: the contract's %s root is %s, ours is %s", op, contract.Name, ours.Name)
	}
}

// checkType compares one contract type definition with ours of the same name
// (nil if ours has none).
func (d *contractDiff) checkType(contract, ours *ast.Definition) {
	if ours == nil {
		d.addf("type %s: missing", contract.Name)
		return
	}
	if ours.Kind != contract.Kind {
		d.addf("type %s: is %s in ours, %s in the contract", contract.Name, ours.Kind, contract.Kind)
		return
	}
	switch contract.Kind {
	case ast.Object, ast.Interface:
		d.checkOutputFields(contract, ours)
		for _, iface := range contract.Interfaces {
			if !slices.Contains(ours.Interfaces, iface) {
				d.addf("%s: does not implement interface %s", contract.Name, iface)
			}
		}
	case ast.Enum:
		for _, v := range contract.EnumValues {
			if ours.EnumValues.ForName(v.Name) == nil {
				d.addf("%s: missing enum value %s", contract.Name, v.Name)
			}
		}
	case ast.Union:
		for _, member := range contract.Types {
			if !slices.Contains(ours.Types, member) {
				d.addf("%s: missing union member %s", contract.Name, member)
			}
		}
	case ast.InputObject:
		for _, cf := range contract.Fields {
			where := contract.Name + "." + cf.Name
			of := ours.Fields.ForName(cf.Name)
			if of == nil {
				d.addf("%s: missing input field", where)
				continue
			}
			d.checkInputValue(where, cf.Type, of.Type, cf.DefaultValue, of.DefaultValue)
		}
		for _, of := range ours.Fields {
			if contract.Fields.ForName(of.Name) == nil && contractRequired(of.Type, of.DefaultValue) {
				d.addf("%s.%s: new required input field of type %s without a default", contract.Name, of.Name, of.Type)
			}
		}
	case ast.Scalar:
		// Nothing to compare beyond the name and kind.
	}
}

// checkOutputFields compares the fields, and their arguments, of a contract
// object or interface type with ours.
func (d *contractDiff) checkOutputFields(contract, ours *ast.Definition) {
	for _, cf := range contract.Fields {
		where := contract.Name + "." + cf.Name
		of := ours.Fields.ForName(cf.Name)
		if of == nil {
			d.addf("%s: missing field", where)
			continue
		}
		if !contractOutputCompatible(cf.Type, of.Type) {
			d.addf("%s: type %s is not compatible with the contract's %s for output (must be the same or stricter)", where, of.Type, cf.Type)
		}
		for _, ca := range cf.Arguments {
			argWhere := fmt.Sprintf("%s(%s:)", where, ca.Name)
			oa := of.Arguments.ForName(ca.Name)
			if oa == nil {
				d.addf("%s: missing argument", argWhere)
				continue
			}
			d.checkInputValue(argWhere, ca.Type, oa.Type, ca.DefaultValue, oa.DefaultValue)
		}
		for _, oa := range of.Arguments {
			if cf.Arguments.ForName(oa.Name) == nil && contractRequired(oa.Type, oa.DefaultValue) {
				d.addf("%s(%s:): new required argument of type %s without a default", where, oa.Name, oa.Type)
			}
		}
	}
}

// checkInputValue compares an argument or input field present in both
// schemas: ours must accept everything the contract accepts, and keep the
// contract's default value.
func (d *contractDiff) checkInputValue(where string, contractType, oursType *ast.Type, contractDefault, oursDefault *ast.Value) {
	effective := oursType
	if oursType.NonNull && !contractType.NonNull && oursDefault != nil {
		// A default makes the value optional again for callers who omit it.
		relaxed := *oursType
		relaxed.NonNull = false
		effective = &relaxed
	}
	if !contractInputCompatible(contractType, effective) {
		d.addf("%s: type %s is not compatible with the contract's %s for input (must be the same or looser)", where, oursType, contractType)
	}
	switch {
	case contractDefault == nil:
	case oursDefault == nil:
		d.addf("%s: default value %s removed", where, contractDefault)
	case oursDefault.String() != contractDefault.String():
		d.addf("%s: default value %s differs from the contract's %s", where, oursDefault, contractDefault)
	}
}

// contractOutputCompatible reports whether a field of type ours satisfies
// clients of a field of type contract: same list nesting and named type, and
// non-null wherever the contract is non-null (ours may be stricter).
func contractOutputCompatible(contract, ours *ast.Type) bool {
	if contract.NonNull && !ours.NonNull {
		return false
	}
	if (contract.Elem == nil) != (ours.Elem == nil) {
		return false
	}
	if contract.Elem != nil {
		return contractOutputCompatible(contract.Elem, ours.Elem)
	}
	return contract.NamedType == ours.NamedType
}

// contractInputCompatible reports whether an input of type ours accepts
// every value a client may send for type contract: same list nesting and
// named type, and nullable wherever the contract is nullable (ours may be
// looser).
func contractInputCompatible(contract, ours *ast.Type) bool {
	if ours.NonNull && !contract.NonNull {
		return false
	}
	if (contract.Elem == nil) != (ours.Elem == nil) {
		return false
	}
	if contract.Elem != nil {
		return contractInputCompatible(contract.Elem, ours.Elem)
	}
	return contract.NamedType == ours.NamedType
}

// contractRequired reports whether an argument or input field must be sent
// by every client: non-null with no default value.
func contractRequired(t *ast.Type, def *ast.Value) bool {
	return t.NonNull && def == nil
}
