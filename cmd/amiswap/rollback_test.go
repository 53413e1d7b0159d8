package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amiswap/amiswap/workflow"
)

// TestREADMERollbackDiagramIsCurrent keeps the README's rollback diagram
// equal to what `amiswap graph --rollback` prints.
func TestREADMERollbackDiagramIsCurrent(t *testing.T) {
	code, graph, _ := run(t, nil, "graph", "--rollback")
	if code != 0 || !strings.Contains(graph, "ResolveRollback") {
		t.Fatalf("graph --rollback exited %d:\n%s", code, graph)
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```mermaid\n"+graph+"```") {
		t.Error("README.md's rollback diagram differs from `amiswap graph --rollback`: paste its output into the README")
	}
}

func TestDefinitionRollback(t *testing.T) {
	if code, out, _ := run(t, nil, "definition", "--rollback"); code != 0 || out != string(workflow.RollbackDefinition()) {
		t.Errorf("definition --rollback: exit %d, output differs from the embedded rollback definition", code)
	}
	if code, out, _ := run(t, nil, "definition", "--rollback", "--local"); code != 0 || out != string(workflow.LocalRollbackDefinition()) {
		t.Errorf("definition --rollback --local: exit %d", code)
	}
}
