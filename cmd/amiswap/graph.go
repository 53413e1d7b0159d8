package main

import (
	"context"
	"fmt"

	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/workflow"
)

func init() {
	register(command{name: "graph", summary: "print the workflow as a Mermaid flowchart", run: runGraph})
}

func runGraph(ctx context.Context, args []string, env *Env) error {
	fs := newFlagSet("graph", "[--rollback]", env)
	rollback := fs.Bool("rollback", false, "the rollback state machine instead of the swap's")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	raw := workflow.Definition()
	if *rollback {
		raw = workflow.RollbackDefinition()
	}
	def, err := asl.Parse(raw)
	if err != nil {
		return fmt.Errorf("graph: %w", err)
	}
	_, err = fmt.Fprint(env.Stdout, asl.Mermaid(def))
	return err
}
