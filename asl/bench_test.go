package asl

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

const benchInput = `{"group":"web","n":7,"ready":false,"image":{"id":"ami-0123","state":"pending"},"tags":["a","b"]}`

// chain builds a definition of n states of the given body, each leading to
// the next ("NEXT" in body is replaced), the last one to Done.
func chain(n int, body string) string {
	var b strings.Builder
	b.WriteString(`{"StartAt":"S0","States":{`)
	for i := 0; i < n; i++ {
		next := fmt.Sprintf("S%d", i+1)
		if i == n-1 {
			next = "Done"
		}
		fmt.Fprintf(&b, `"S%d":%s,`, i, strings.ReplaceAll(body, "NEXT", next))
	}
	if strings.Contains(body, `"Failed"`) {
		b.WriteString(`"Failed":{"Type":"Fail","Error":"Unexpected"},`)
	}
	b.WriteString(`"Done":{"Type":"Succeed"}}}`)
	return b.String()
}

// benchTransitions runs a chain of n states per op and reports the cost of
// one transition: time and allocations (start and end amortised over n).
func benchTransitions(b *testing.B, src string, n int) {
	def, err := Parse([]byte(src))
	if err != nil {
		b.Fatal(err)
	}
	ex := &Executor{}
	ctx := context.Background()
	in := json.RawMessage(benchInput)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0, cpuOK := processCPU()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x, err := ex.Start(ctx, def, "bench", in)
		if err != nil {
			b.Fatal(err)
		}
		res, err := x.Run(ctx)
		if err != nil || res.Status != StatusSucceeded {
			b.Fatalf("%v %+v", err, res)
		}
	}
	b.StopTimer()
	cpu1, _ := processCPU()
	runtime.ReadMemStats(&after)
	transitions := float64(b.N) * float64(n+1) // the chain plus Done
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/transitions, "ns/transition")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/transitions, "allocs/transition")
	if cpuOK {
		// CPU time is what a transition costs even on a busy machine,
		// where wall time also counts waiting for a core.
		b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/transitions, "cpu-ns/transition")
	}
}

func BenchmarkPassTransition(b *testing.B) {
	benchTransitions(b, chain(100, `{"Type":"Pass","Next":"NEXT"}`), 100)
}

func BenchmarkPassTransitionResultPath(b *testing.B) {
	benchTransitions(b, chain(100, `{"Type":"Pass","Result":{"ok":true},"ResultPath":"$.image.check","Next":"NEXT"}`), 100)
}

func BenchmarkChoiceTransition(b *testing.B) {
	benchTransitions(b, chain(100, `{"Type":"Choice","Choices":[
		{"Variable":"$.image.state","StringEquals":"failed","Next":"Failed"},
		{"And":[{"Variable":"$.n","NumericGreaterThan":1000},{"Variable":"$.ready","BooleanEquals":true}],"Next":"Failed"}
	],"Default":"NEXT"}`), 100)
}
