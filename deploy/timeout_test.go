package deploy

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/amiswap/amiswap/workflow"
)

// TestExecutionTimeoutExceedsTheStepDeadlines: Step Functions cannot catch
// an execution's own timeout ("Error handling in Step Functions
// workflows", https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html),
// so the definition's TimeoutSeconds must exceed the longest run its steps
// allow: every poll loop's deadline (workflow.CheckDeadlines) plus one last
// wait, and every other task once at its worst (each attempt of its Retry
// running to its Lambda function's timeout, plus the retry intervals). The
// lock must outlive the execution too.
func TestExecutionTimeoutExceedsTheStepDeadlines(t *testing.T) {
	var def struct {
		TimeoutSeconds int
		States         map[string]struct {
			Type       string
			Next       string
			Parameters struct {
				FunctionName string
				Payload      struct {
					Op string `json:"op"`
				}
			}
			Retry []struct {
				ErrorEquals                  []string
				IntervalSeconds, MaxAttempts int
				BackoffRate                  float64
				MaxDelaySeconds              int
			}
		}
	}
	if err := json.Unmarshal(workflow.Definition(), &def); err != nil {
		t.Fatal(err)
	}
	// The check op each Wait state loops back to.
	looped := map[string]bool{}
	for name, st := range def.States {
		if st.Type == "Wait" {
			next := def.States[st.Next]
			if next.Type != "Task" {
				t.Fatalf("Wait %s loops to %s, not a task", name, st.Next)
			}
			looped[next.Parameters.Payload.Op] = true
		}
	}
	var sum time.Duration
	for op := range looped {
		d, ok := workflow.CheckDeadlines[op]
		if !ok {
			t.Errorf("poll loop of %s has no deadline in workflow.CheckDeadlines", op)
		}
		sum += d + workflow.MaxPollWait
	}
	for name, st := range def.States {
		if st.Type != "Task" || looped[st.Parameters.Payload.Op] {
			continue
		}
		fn, ok := workflow.FunctionFor(st.Parameters.Payload.Op)
		if !ok {
			t.Fatalf("%s: op %q of no function", name, st.Parameters.Payload.Op)
		}
		set, ok := functionSettings[fn.Name]
		if !ok {
			set = defaultSettings
		}
		attempts, delays := 1, 0.0
		for _, r := range st.Retry {
			interval := float64(r.IntervalSeconds)
			for i := 0; i < r.MaxAttempts; i++ {
				d := interval * math.Pow(r.BackoffRate, float64(i))
				if r.MaxDelaySeconds > 0 {
					d = math.Min(d, float64(r.MaxDelaySeconds))
				}
				delays += d
			}
			attempts += r.MaxAttempts
		}
		sum += time.Duration(attempts*set.Timeout)*time.Second + time.Duration(delays*float64(time.Second))
	}
	timeout := time.Duration(def.TimeoutSeconds) * time.Second
	t.Logf("TimeoutSeconds %s, the longest run the steps allow %s", timeout, sum)
	if timeout <= sum {
		t.Errorf("TimeoutSeconds %s does not exceed the longest run the steps allow, %s", timeout, sum)
	}
	if workflow.DefaultLockTTL <= timeout {
		t.Errorf("the default lock TTL %s does not outlive the execution's timeout %s", workflow.DefaultLockTTL, timeout)
	}
}
