package main

import (
	"context"

	"github.com/amiswap/amiswap/workflow"
)

func init() {
	register(command{name: "definition", summary: "print the workflow's States Language definition (as deployed)", run: runDefinition})
}

func runDefinition(ctx context.Context, args []string, env *Env) error {
	fs := newFlagSet("definition", "[--local] [--rollback]", env)
	local := fs.Bool("local", false, "replace the ${…FunctionArn} placeholders with the local function names")
	rollback := fs.Bool("rollback", false, "the rollback state machine's definition instead of the swap's")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	def := workflow.Definition()
	switch {
	case *rollback && *local:
		def = workflow.LocalRollbackDefinition()
	case *rollback:
		def = workflow.RollbackDefinition()
	case *local:
		def = workflow.LocalDefinition()
	}
	_, err := env.Stdout.Write(def)
	return err
}
