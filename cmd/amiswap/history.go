package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/amiswap/amiswap/runner"
	"github.com/amiswap/amiswap/store"
)

func init() {
	register(command{name: "history", summary: "list local executions, or show one's history", run: runHistory})
}

func runHistory(ctx context.Context, args []string, env *Env) error {
	fs := newFlagSet("history", "[--history-dir DIR] [--json] [NAME]", env)
	dir := fs.String("history-dir", defaultHistoryDir(env), "where local execution histories are kept")
	asJSON := fs.Bool("json", false, "print events as JSON lines (with NAME)")
	if err := parseFlagsAndArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return &usageError{"history: give at most one execution name"}
	}
	st, err := store.Open(*dir)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	defer st.Close()
	if fs.NArg() == 0 {
		list, err := st.List()
		if err != nil {
			return fmt.Errorf("history: %w", err)
		}
		w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tSTATUS\tSTARTED\tLAST STATE\tTRANSITIONS")
		for _, s := range list {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\n", s.Name, s.Status, s.StartTime.UTC().Format(time.RFC3339), s.State, s.Transitions)
		}
		return w.Flush()
	}
	id, err := st.Find(fs.Arg(0))
	if err != nil {
		return &usageError{fmt.Sprintf("history: no execution %q in %s", fs.Arg(0), *dir)}
	}
	h, err := st.Load(id)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		for _, ev := range h {
			if err := enc.Encode(ev); err != nil {
				return err
			}
		}
		return nil
	}
	start := h[0].Timestamp
	for _, ev := range h {
		line := fmt.Sprintf("%4d  %s  %-20s %s", ev.ID, runner.FormatElapsed(ev.Timestamp.Sub(start)), ev.Type, ev.State)
		if ev.Error != "" {
			line += "  " + ev.Error
		}
		fmt.Fprintln(env.Stdout, line)
	}
	return nil
}
