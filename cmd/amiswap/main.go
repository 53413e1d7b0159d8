// Command amiswap keeps EC2 Auto Scaling groups on a fresh, generalized
// ("golden") AMI built from their AWS Backup recovery points. Each
// subcommand lives in its own file and registers itself in commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand: a name, a one-line summary for the usage text,
// and a function that parses its own flags.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, env *Env) error
	// ownsSignals is set by commands that read env.Signals themselves;
	// for the others, Run cancels the context on the first signal.
	ownsSignals bool
}

var commands = map[string]command{}

func register(c command) { commands[c.name] = c }

// Env is what a command may touch of the outside world; tests replace it.
type Env struct {
	Stdout, Stderr io.Writer
	// Stdin is where questions are answered; a command asks only when it
	// is a terminal. Nil reads as no terminal.
	Stdin  io.Reader
	Getenv func(string) string
	// Signals delivers SIGINT and SIGTERM (nil: none). Tests send their own.
	Signals <-chan os.Signal
}

// usageError is a command-line mistake: it prints the usage and exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// exitError carries a specific exit status with a message already printed.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	// Signals are a channel, not a cancelled context, so that `run` can
	// stop in two stages (see interrupt.go).
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	env := &Env{Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin, Getenv: os.Getenv, Signals: sigs}
	err := Run(context.Background(), os.Args[1:], env)
	signal.Stop(sigs)
	os.Exit(exitCode(err, env.Stderr))
}

// exitCode prints err (if it needs printing) and returns the exit status.
func exitCode(err error, stderr io.Writer) int {
	var ue *usageError
	var ee *exitError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "amiswap: %s\nRun 'amiswap help' for usage.\n", ue.msg)
		return 2
	default:
		fmt.Fprintf(stderr, "amiswap: %v\n", err)
		return 1
	}
}

// Run runs the command line args (without the program name).
func Run(ctx context.Context, args []string, env *Env) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.Stdout)
		return nil
	}
	c, ok := commands[args[0]]
	if !ok {
		return &usageError{fmt.Sprintf("unknown command %q", args[0])}
	}
	if env.Signals != nil && !c.ownsSignals {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-env.Signals:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	return c.run(ctx, args[1:], env)
}

func usage(w io.Writer) {
	fmt.Fprint(w, `amiswap keeps EC2 Auto Scaling groups on a fresh, generalized ("golden") AMI
built from their AWS Backup recovery points.

Usage: amiswap <command> [flags]

Commands:
`)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-11s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(w, "\nRun 'amiswap <command> -h' for a command's flags.\n")
}

// newFlagSet returns a flag set whose errors become usage errors.
func newFlagSet(name, synopsis string, env *Env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: amiswap %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, turning flag errors into usage errors and
// refusing stray positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := parseFlagsAndArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("%s: unexpected argument %q", fs.Name(), strings.Join(fs.Args(), " "))}
	}
	return nil
}

// parseFlagsAndArgs parses args, turning flag errors into usage errors; the
// positional arguments are left in fs.Args().
func parseFlagsAndArgs(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{fmt.Sprintf("%s: %v", fs.Name(), err)}
	}
	return nil
}
