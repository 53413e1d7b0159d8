package workflow

// This file holds the generalize and check-generalized ops: Sysprep on a
// Windows builder, a cleanup script on a Linux one, both through SSM Run
// Command, and the wait for the command to finish.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/amiswap/amiswap"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// The Run Command documents that generalize a builder.
const (
	// SysprepDocument is AWS's own document that runs Sysprep with the
	// EC2Launch (or EC2Config) answer file and shuts Windows down. Its
	// parameters are all optional; AWS's image pipelines send none.
	SysprepDocument = "AWSEC2-RunSysprep"
	// ShellDocument runs LinuxCleanupScript.
	ShellDocument = "AWS-RunShellScript"
)

const (
	generalizeDeadline = 90 * time.Minute
	// sendTimeoutSeconds bounds how long SSM tries to deliver the command.
	sendTimeoutSeconds = 600
	// linuxCleanupTimeout bounds the cleanup script's run.
	linuxCleanupTimeout = "1800"
	// outputExcerpt is how much command output a failure carries.
	outputExcerpt = 1500
)

// LinuxCleanupScript generalizes a Linux builder before it is imaged. It
// does not shut the instance down: stop-builder does that, once Run
// Command has reported the script's result. It leaves the SSM agent's
// state alone: on EC2 the agent identifies itself from the instance
// metadata at every boot (a new instance gets its own identity), and
// removing its files while it runs this script would lose the result the
// workflow waits for.
var LinuxCleanupScript = []string{
	"#!/bin/bash",
	"# amiswap: generalize this builder before it is imaged",
	"set -euo pipefail",
	"if command -v cloud-init >/dev/null 2>&1; then cloud-init clean --logs; fi",
	"rm -f /etc/ssh/ssh_host_*",
	"if [ -e /etc/machine-id ]; then truncate -s 0 /etc/machine-id; fi",
	"if [ -f /var/lib/dbus/machine-id ] && [ ! -L /var/lib/dbus/machine-id ]; then rm -f /var/lib/dbus/machine-id; fi",
	"rm -rf /var/lib/dhclient/* /var/lib/dhcp/*.leases 2>/dev/null || true",
	"if command -v journalctl >/dev/null 2>&1; then journalctl --rotate >/dev/null 2>&1 || true; journalctl --vacuum-time=1s >/dev/null 2>&1 || true; fi",
	"find /var/log -type f \\( -name '*.gz' -o -name '*.[0-9]' -o -name '*.old' \\) -delete",
	"find /var/log -type f -exec truncate -s 0 {} +",
	"rm -f /root/.bash_history /home/*/.bash_history",
	"rm -rf /tmp/* /var/tmp/* 2>/dev/null || true",
	"sync",
	"echo 'amiswap: generalization done'",
}

// commandSender is what generalize asks SSM.
type commandSender interface {
	SendCommand(ctx context.Context, in *ssm.SendCommandInput, optFns ...func(*ssm.Options)) (*ssm.SendCommandOutput, error)
	ListCommands(ctx context.Context, in *ssm.ListCommandsInput, optFns ...func(*ssm.Options)) (*ssm.ListCommandsOutput, error)
}

// Generalize sends the generalization command to the builder.
type Generalize struct {
	SSM commandSender
}

// isWindows reports whether the target is a Windows one: the amiswap:os
// tag wins over the backup AMI's platform.
func isWindows(t *amiswap.Target) bool {
	os := t.Settings.OS
	if os == "" {
		os = t.Source.Platform
	}
	return strings.EqualFold(os, "windows")
}

// commandComment names the execution in a command's Comment (at most 100
// characters), so that a retried generalize finds the command it sent.
func commandComment(executionID string) string {
	c := "amiswap " + executionName(executionID)
	if len(c) > 100 {
		cut := 100 - 17
		for cut > 0 && !utf8.RuneStart(c[cut]) {
			cut--
		}
		c = c[:cut] + "~" + shortHash(executionID)
	}
	return c
}

// Send sends Sysprep (Windows) or LinuxCleanupScript (Linux) to the builder.
// It sends once per execution: a command already recorded in the state, or
// one that SSM lists for the builder with this execution's comment, is
// returned instead of a new one. An agent that is not reachable
// (InvalidInstanceId) is a *amiswap.TransientError.
func (h *Generalize) Send(ctx context.Context, p Payload) (*GeneralizeResult, error) {
	t, err := needTarget(p)
	if err != nil {
		return nil, err
	}
	id, now, err := needBuilderNow(p)
	if err != nil {
		return nil, err
	}
	doc := ShellDocument
	switch {
	case isWindows(t):
		doc = SysprepDocument
	case t.Settings.GeneralizeDocument != "":
		// The group's own document replaces the built-in script.
		doc = t.Settings.GeneralizeDocument
	}
	comment := commandComment(p.Context.ExecutionID)

	prev, err := h.sent(ctx, p, id, doc, comment)
	if err != nil || prev != nil {
		return prev, err
	}

	in := &ssm.SendCommandInput{
		InstanceIds:    []string{id},
		DocumentName:   aws.String(doc),
		TimeoutSeconds: aws.Int32(sendTimeoutSeconds),
		Comment:        aws.String(comment),
	}
	if doc == ShellDocument {
		in.Parameters = map[string][]string{
			"commands":         LinuxCleanupScript,
			"executionTimeout": {linuxCleanupTimeout},
		}
	}
	out, err := h.SSM.SendCommand(ctx, in)
	if err != nil {
		if apiCode(err) == "InvalidInstanceId" {
			// The agent went offline since the builder was ready.
			return nil, &amiswap.TransientError{Op: "ssm:SendCommand", Err: err}
		}
		return nil, classify("ssm:SendCommand", err)
	}
	if out.Command == nil || aws.ToString(out.Command.CommandId) == "" {
		return nil, &amiswap.AWSError{Op: "ssm:SendCommand", Err: errors.New("no command id in the answer")}
	}
	return &GeneralizeResult{CommandID: aws.ToString(out.Command.CommandId), Document: doc, SentAt: now}, nil
}

// sent finds a generalization command already sent to the builder by this
// execution: the one the state records, else one that SSM lists for the
// builder with this execution's comment. It returns nil when there is none.
func (h *Generalize) sent(ctx context.Context, p Payload, id, doc, comment string) (*GeneralizeResult, error) {
	if g := p.State.Generalize; g != nil && g.CommandID != "" {
		found, err := h.find(ctx, p, &ssm.ListCommandsInput{CommandId: aws.String(g.CommandID)}, id, doc, "")
		if err != nil || found != nil {
			return found, err
		}
	}
	return h.find(ctx, p, &ssm.ListCommandsInput{InstanceId: aws.String(id)}, id, doc, comment)
}

// find lists commands and returns the first of doc sent to the builder id
// (with the comment, unless it is empty).
func (h *Generalize) find(ctx context.Context, p Payload, in *ssm.ListCommandsInput, id, doc, comment string) (*GeneralizeResult, error) {
	for {
		out, err := h.SSM.ListCommands(ctx, in)
		if err != nil {
			if apiCode(err) == "InvalidCommandId" {
				return nil, nil
			}
			return nil, classify("ssm:ListCommands", err)
		}
		for _, c := range out.Commands {
			if aws.ToString(c.DocumentName) != doc || !slices.Contains(c.InstanceIds, id) {
				continue
			}
			if comment != "" && aws.ToString(c.Comment) != comment {
				continue
			}
			sent := p.Context.EnteredTime
			if c.RequestedDateTime != nil {
				sent = *c.RequestedDateTime
			}
			return &GeneralizeResult{CommandID: aws.ToString(c.CommandId), Document: doc, SentAt: sent}, nil
		}
		if aws.ToString(out.NextToken) == "" {
			return nil, nil
		}
		in.NextToken = out.NextToken
	}
}

// ---- check-generalized -----------------------------------------------------

// invocationGetter is what check-generalized asks SSM.
type invocationGetter interface {
	GetCommandInvocation(ctx context.Context, in *ssm.GetCommandInvocationInput, optFns ...func(*ssm.Options)) (*ssm.GetCommandInvocationOutput, error)
}

// CheckGeneralized waits for the generalization command.
type CheckGeneralized struct {
	SSM invocationGetter
	EC2 instanceDescriber
	// Invocations reads the outcome of a group's own generalize document,
	// which may have several steps (GetCommandInvocation wants a step
	// name for those).
	Invocations invocationLister
}

// Check reports ready when the command succeeded. Sysprep shuts Windows
// down at its end, which can leave the invocation InProgress (or have it
// time out or be cancelled) when the agent stops reporting: so a Sysprep
// command that did not fail counts as done once the builder is stopping
// or stopped. A failed command is a *amiswap.GeneralizeFailedError with
// an excerpt of its output; a builder that terminates, or a Linux builder
// that stops mid-script, a *amiswap.BuilderFailedError; 90 minutes after
// the command was sent, a *amiswap.StepTimeoutError.
func (h *CheckGeneralized) Check(ctx context.Context, p Payload) (*PollResult, error) {
	id, now, err := needBuilderNow(p)
	if err != nil {
		return nil, err
	}
	g := p.State.Generalize
	if g == nil || g.CommandID == "" {
		return nil, &amiswap.InvalidInputError{Field: "state.generalize", Reason: "missing: generalize has not run"}
	}
	sysprep := g.Document == SysprepDocument
	w, err := newWait(p.Context.ExecutionID, "check-generalized", now, "state.generalize.sentAt", g.SentAt, generalizeDeadline)
	if err != nil {
		return nil, err
	}

	status, output, visible, err := h.outcome(ctx, g, id)
	if err != nil {
		return nil, err
	}
	if !visible {
		return w.again(5*time.Second, "command invocation not visible yet")
	}
	if status == ssmtypes.CommandInvocationStatusSuccess {
		return pollReady(), nil
	}

	// Anything but success: look at the builder, which Sysprep stops.
	in, err := describeBuilder(ctx, h.EC2, id)
	if err != nil {
		return nil, err
	}
	switch st := instanceState(in); {
	case st == "stopping" || st == "stopped":
		if sysprep && status != ssmtypes.CommandInvocationStatusFailed {
			return pollReady(), nil
		}
		if !sysprep && !finished(status) {
			return nil, &amiswap.BuilderFailedError{InstanceID: id, Reason: stateReason(in) + " before the cleanup script finished"}
		}
	case st == "shutting-down" || st == "terminated":
		return nil, &amiswap.BuilderFailedError{InstanceID: id, Reason: stateReason(in)}
	}

	if finished(status) {
		e := &amiswap.GeneralizeFailedError{InstanceID: id, CommandID: g.CommandID, Status: string(status), Output: output}
		if g.Document != SysprepDocument && g.Document != ShellDocument {
			e.Document = g.Document
		}
		return nil, e
	}

	typical, after := time.Minute, 15*time.Second
	what := "cleanup script"
	if sysprep {
		typical, after, what = 6*time.Minute, 30*time.Second, "Sysprep"
	}
	state := strings.ToLower(string(status)) // pending, delayed
	if status == ssmtypes.CommandInvocationStatusInProgress {
		state = "running"
	}
	waiting := what + " " + state
	switch status {
	case ssmtypes.CommandInvocationStatusPending:
		return w.again(15*time.Second, waiting+" (not delivered yet)")
	case ssmtypes.CommandInvocationStatusDelayed:
		return w.again(30*time.Second, waiting+" (agent unreachable, SSM retries)")
	}
	return w.again(w.towards(typical, after), waiting)
}

// outcome reads the generalization command's status and the excerpt of
// its output; visible is false while SSM does not show the invocation yet.
func (h *CheckGeneralized) outcome(ctx context.Context, g *GeneralizeResult, id string) (status ssmtypes.CommandInvocationStatus, output string, visible bool, err error) {
	if g.Document != SysprepDocument && g.Document != ShellDocument {
		if h.Invocations == nil {
			return "", "", false, &amiswap.AWSError{Op: "ssm:ListCommandInvocations", Err: errors.New("no SSM client to read the generalize document's steps")}
		}
		inv, err := readInvocation(ctx, h.Invocations, g.CommandID, id)
		return inv.status, inv.output, inv.found, err
	}
	out, err := h.SSM.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: aws.String(g.CommandID), InstanceId: aws.String(id)})
	if err != nil {
		if apiCode(err) == "InvocationDoesNotExist" {
			return "", "", false, nil
		}
		return "", "", false, classify("ssm:GetCommandInvocation", err)
	}
	return out.Status, excerpt(aws.ToString(out.StandardErrorContent), aws.ToString(out.StandardOutputContent), aws.ToString(out.StatusDetails)), true, nil
}

// finished reports whether an invocation status is final and not Success.
func finished(s ssmtypes.CommandInvocationStatus) bool {
	switch s {
	case ssmtypes.CommandInvocationStatusFailed, ssmtypes.CommandInvocationStatusCancelled, ssmtypes.CommandInvocationStatusTimedOut:
		return true
	}
	return false
}

// excerpt joins the non-empty parts of a command's output and keeps the
// last outputExcerpt bytes (where errors usually are), on a rune boundary.
func excerpt(parts ...string) string {
	var keep []string
	for _, s := range parts {
		if s = strings.TrimSpace(s); s != "" {
			keep = append(keep, s)
		}
	}
	s := strings.Join(keep, " | ")
	if len(s) <= outputExcerpt {
		return s
	}
	cut := len(s) - outputExcerpt
	for cut < len(s) && !utf8.RuneStart(s[cut]) {
		cut++
	}
	return "…" + s[cut:]
}
