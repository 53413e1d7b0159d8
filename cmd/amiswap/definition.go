package main

import (
	"context"

	"github.com/amiswap/amiswap/workflow"
)

func init() {
	register(command{name: "definition", summary: "print the workflow's States Language definition (as deployed)", run: runDefinition})
}

func runDefinition(ctx context.Context, args []string, env *Env) error {
	fs := newFlagSet("definition", "[--local]", env)
	local := fs.Bool("local", false, "replace the ${…FunctionArn} placeholders with the local function names")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	def := workflow.Definition()
	if *local {
		def = workflow.LocalDefinition()
	}
	_, err := env.Stdout.Write(def)
	return err
}
