package main

// This file asks the person at the terminal a yes/no question, and tells
// whether there is one.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
)

// isTerminal reports whether v, a reader or writer, is a terminal: an
// *os.File that answers the terminal ioctl, as os.Stdin is when a person
// runs the command interactively (and /dev/null, a character device too,
// is not).
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && f != nil && isTerminalFd(f.Fd())
}

// confirm asks question on env.Stderr and reads the answer from env.Stdin:
// y or yes (any case) is yes; anything else, or end of input, is no. An
// interrupted context (Ctrl-C) ends the wait with its error.
func confirm(env *Env) func(ctx context.Context, question string) (bool, error) {
	return func(ctx context.Context, question string) (bool, error) {
		fmt.Fprintf(env.Stderr, "%s [y/N]: ", question)
		type answer struct {
			line string
			err  error
		}
		got := make(chan answer, 1)
		go func() {
			line, err := bufio.NewReader(env.Stdin).ReadString('\n')
			got <- answer{line, err}
		}()
		select {
		case <-ctx.Done():
			fmt.Fprintln(env.Stderr)
			return false, ctx.Err()
		case a := <-got:
			if a.err != nil && a.err != io.EOF {
				return false, fmt.Errorf("read the answer: %w", a.err)
			}
			switch strings.ToLower(strings.TrimSpace(a.line)) {
			case "y", "yes":
				return true, nil
			}
			return false, nil
		}
	}
}
