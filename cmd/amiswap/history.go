package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/runner"
	"github.com/amiswap/amiswap/store"
)

func init() {
	register(command{name: "history", summary: "list local executions, or show one's history", run: runHistory})
}

// historyEntry is one execution in `history --json`.
type historyEntry struct {
	Name  string `json:"name"`
	ID    string `json:"id"`
	Group string `json:"group"`
	// Target is "simulator <endpoint>" or "<account>/<region>".
	Target string     `json:"target"`
	Status asl.Status `json:"status"`
	// Started is the wall-clock start; the list is sorted on it.
	Started time.Time `json:"started"`
	// DurationSeconds is on the execution's clock (the simulator's for a
	// run against it): to the end, or to the last event.
	DurationSeconds float64 `json:"durationSeconds"`
	LastState       string  `json:"lastState"`
	Transitions     int     `json:"transitions"`
}

func entryOf(s store.Summary) historyEntry {
	return historyEntry{Name: s.Name, ID: s.ID, Group: s.Group, Target: s.Target, Status: s.Status, Started: s.Started.UTC(),
		DurationSeconds: s.Duration().Seconds(), LastState: s.State, Transitions: s.Transitions}
}

func runHistory(ctx context.Context, args []string, env *Env) error {
	fs := newFlagSet("history", "[--history-dir DIR] [--json] [--group NAME] [NAME]", env)
	dir := fs.String("history-dir", defaultHistoryDir(env), "where local execution histories are kept")
	asJSON := fs.Bool("json", false, "print one JSON document: the list, or the execution and its events (with NAME)")
	group := fs.String("group", "", "list only the executions of this Auto Scaling group")
	if err := parseFlagsAndArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return &usageError{"history: give at most one execution name"}
	}
	if fs.NArg() == 1 && *group != "" {
		return &usageError{"history: --group filters the list: it does not go with an execution name"}
	}
	st, err := store.Open(*dir)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	defer st.Close()
	list, err := st.List()
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	if fs.NArg() == 0 {
		entries := []historyEntry{}
		for _, s := range list {
			if *group == "" || s.Group == *group {
				entries = append(entries, entryOf(s))
			}
		}
		if *asJSON {
			return writeJSON(env.Stdout, entries)
		}
		w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tGROUP\tTARGET\tSTATUS\tSTARTED\tDURATION\tLAST STATE")
		for _, e := range entries {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Name, dash(e.Group), dash(e.Target), e.Status,
				e.Started.Format(time.RFC3339), formatDuration(time.Duration(e.DurationSeconds*float64(time.Second))), dash(e.LastState))
		}
		return w.Flush()
	}
	var sum *store.Summary
	for i := range list {
		if list[i].Name == fs.Arg(0) || list[i].ID == fs.Arg(0) {
			sum = &list[i]
			break
		}
	}
	if sum == nil {
		return &usageError{fmt.Sprintf("history: no execution %q in %s", fs.Arg(0), *dir)}
	}
	h, err := st.Load(sum.ID)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	if *asJSON {
		return writeJSON(env.Stdout, struct {
			historyEntry
			Events asl.History `json:"events"`
		}{entryOf(*sum), h})
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

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// formatDuration formats d as 1h2m3s, rounded to the second.
func formatDuration(d time.Duration) string {
	return d.Round(time.Second).String()
}
