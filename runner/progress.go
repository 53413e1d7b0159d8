package runner

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/amiswap/amiswap/asl"
)

// Progress prints an execution's progress as it happens: one line per step,
// and, while a poll loop waits, what it is waiting for. On a terminal the
// waiting line is rewritten in place; elsewhere each change is a new line.
type Progress struct {
	W        io.Writer
	Terminal bool

	start    time.Time
	lastWait string
	inPoll   bool
}

// Observe is an asl.Executor Observer.
func (p *Progress) Observe(x *asl.Execution, ev asl.Event) {
	if p.start.IsZero() {
		p.start = ev.Timestamp
	}
	at := FormatElapsed(ev.Timestamp.Sub(p.start))
	switch {
	case ev.Type == asl.TaskStateEntered || ev.Type == asl.PassStateEntered || ev.Type == asl.SucceedStateEntered || ev.Type == asl.FailStateEntered:
		if strings.HasPrefix(ev.State, "Check") && p.inPoll {
			return
		}
		p.endWaitLine()
		p.inPoll = strings.HasPrefix(ev.State, "Check")
		p.lastWait = ""
		fmt.Fprintf(p.W, "%s  %s\n", at, ev.State)
	case ev.Type == asl.TaskSucceeded && strings.HasPrefix(ev.State, "Check"):
		var r struct {
			Payload struct {
				Ready       bool   `json:"ready"`
				WaitSeconds int    `json:"waitSeconds"`
				Waiting     string `json:"waiting"`
			}
		}
		if json.Unmarshal(ev.Output, &r) != nil || r.Payload.Ready || r.Payload.Waiting == "" {
			return
		}
		line := fmt.Sprintf("%s    waiting: %s (next check in %ds)", at, r.Payload.Waiting, r.Payload.WaitSeconds)
		if p.Terminal {
			fmt.Fprintf(p.W, "\r\033[K%s", line)
			p.lastWait = line
			return
		}
		if r.Payload.Waiting != p.lastWait {
			fmt.Fprintln(p.W, line)
			p.lastWait = r.Payload.Waiting
		}
	case ev.Type == asl.TaskSucceeded && ev.State == "Compensate":
		p.compensation(at, ev.Output)
	case ev.Type == asl.ExecutionInterrupted:
		p.endWaitLine()
		fmt.Fprintf(p.W, "%s  interrupted (%s); next: %s\n", at, ev.Cause, ev.State)
	case ev.Type == asl.ExecutionRedirected:
		p.endWaitLine()
		fmt.Fprintf(p.W, "%s  %s: %s → %s\n", at, ev.Error, ev.Cause, ev.Next)
	case ev.Type == asl.TaskSucceeded:
		if facts := resultFacts(ev.Output); facts != "" {
			fmt.Fprintf(p.W, "%s    %s\n", at, facts)
		}
	case ev.Type == asl.RetryScheduled:
		p.endWaitLine()
		fmt.Fprintf(p.W, "%s    retry %d of %s in %s: %s\n", at, ev.RetryCount, ev.State, time.Duration(ev.Delay), ev.Error)
	case ev.Type == asl.CatchMatched:
		p.endWaitLine()
		fmt.Fprintf(p.W, "%s    %s failed with %s: %s\n", at, ev.State, ev.Error, ShortCause(ev.Cause))
	case ev.Type.IsTerminal():
		p.endWaitLine()
		switch ev.Type {
		case asl.ExecutionSucceeded:
			fmt.Fprintf(p.W, "%s  execution succeeded\n", at)
		default:
			fmt.Fprintf(p.W, "%s  execution %s: %s\n", at, strings.ToLower(strings.TrimPrefix(string(ev.Type), "Execution")), ev.Error)
		}
	}
}

// compensation lists what Compensate undid and what it could not undo.
func (p *Progress) compensation(at string, output json.RawMessage) {
	var r struct {
		Payload struct {
			Actions  []string `json:"actions"`
			Problems []string `json:"problems"`
		}
	}
	if json.Unmarshal(output, &r) != nil {
		return
	}
	if len(r.Payload.Actions) == 0 && len(r.Payload.Problems) == 0 {
		fmt.Fprintf(p.W, "%s    nothing to undo\n", at)
	}
	for _, a := range r.Payload.Actions {
		fmt.Fprintf(p.W, "%s    undone: %s\n", at, a)
	}
	for _, a := range r.Payload.Problems {
		fmt.Fprintf(p.W, "%s    could not undo: %s\n", at, a)
	}
}

func (p *Progress) endWaitLine() {
	if p.Terminal && p.lastWait != "" {
		fmt.Fprintln(p.W)
	}
	p.lastWait = ""
}

// factKeys are the result fields worth a progress line, in print order.
var factKeys = []string{"skipReason", "group", "instanceId", "document", "commandId", "imageId", "name", "newVersion", "refreshId", "subject"}

// resultFacts summarizes a task's result for the progress output:
// "instanceId i-0abc…, imageId ami-0def…".
func resultFacts(output json.RawMessage) string {
	var r struct {
		Payload map[string]any
	}
	if json.Unmarshal(output, &r) != nil {
		return ""
	}
	var parts []string
	for _, k := range factKeys {
		if v, ok := r.Payload[k].(string); ok && v != "" {
			parts = append(parts, k+" "+v)
		}
	}
	return strings.Join(parts, ", ")
}

// ShortCause extracts the message from a Lambda-style error cause.
func ShortCause(cause string) string {
	var c struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(cause), &c) == nil && c.ErrorMessage != "" {
		return c.ErrorMessage
	}
	return cause
}

// FormatElapsed formats a duration as +hh:mm:ss.
func FormatElapsed(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("+%02d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
}
