package main

// This file is `amiswap template`: print the CloudFormation template.

import (
	"context"

	"github.com/amiswap/amiswap/deploy"
)

func init() {
	register(command{
		name:    "template",
		summary: "print the CloudFormation template",
		run:     runTemplate,
	})
}

func runTemplate(ctx context.Context, args []string, env *Env) error {
	fs := newFlagSet("template", "", env)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	_, err := env.Stdout.Write(deploy.Template())
	return err
}
