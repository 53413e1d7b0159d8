package main

// This file is the two-stage interrupt of `amiswap run`: the first SIGINT
// or SIGTERM stops the execution after the step in flight, the second
// stops it at once. Either way nothing is ended: the execution is recorded
// as interrupted and `run --resume` or `run --abort` goes on from there.

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"

	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/runner"
)

// interrupter turns signals into cancelling a run's context at the right
// moment. A step is in flight from its state's entry (or a task attempt)
// until the state exits; waiting (a Wait state, a retry's delay) or not
// having started yet is not a step in flight, so a signal then stops at
// once.
type interrupter struct {
	stderr io.Writer
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	sig    os.Signal // the first signal; nil until one arrives
	count  int
	idle   bool   // no step in flight
	state  string // the state in flight or last entered
	exited bool   // the run's context was cancelled
}

// newInterrupter watches signals (nil: none) for a run under ctx; the
// returned context is the run's.
func newInterrupter(ctx context.Context, signals <-chan os.Signal, stderr io.Writer) (*interrupter, context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	it := &interrupter{stderr: stderr, cancel: cancel, done: make(chan struct{}), idle: true}
	if signals != nil {
		go func() {
			for {
				select {
				case s := <-signals:
					it.signal(s)
				case <-it.done:
					return
				}
			}
		}()
	}
	return it, ctx
}

// stop ends the watch and releases the run's context.
func (it *interrupter) stop() {
	close(it.done)
	it.cancel()
}

// signal handles one signal.
func (it *interrupter) signal(s os.Signal) {
	it.mu.Lock()
	defer it.mu.Unlock()
	it.count++
	switch {
	case it.count > 1:
		fmt.Fprintf(it.stderr, "amiswap: %s again: stopping at once (the execution stays resumable)\n", signalName(s))
		it.stopRun()
	case it.idle:
		it.sig = s
		it.stopRun()
	default:
		it.sig = s
		fmt.Fprintf(it.stderr, "amiswap: %s: stopping after the step in flight (%s); send it again to stop at once\n", signalName(s), it.state)
	}
}

func (it *interrupter) stopRun() {
	it.exited = true
	it.cancel()
}

// observe follows the execution (an asl.Executor Observer).
func (it *interrupter) observe(_ *asl.Execution, ev asl.Event) {
	it.mu.Lock()
	defer it.mu.Unlock()
	switch {
	case ev.Type == asl.WaitStateEntered, ev.Type == asl.RetryScheduled:
		it.idle, it.state = true, ev.State
	case ev.Type.IsStateEntered(), ev.Type == asl.TaskScheduled:
		it.idle, it.state = false, ev.State
	case ev.Type.IsStateExited():
		it.idle = true
	}
	if it.sig != nil && it.idle && !it.exited {
		it.stopRun()
	}
}

// observeWith is an execution observer that shows the interrupter each
// event first (once a step shows, it is in flight), then progress.
func (it *interrupter) observeWith(progress *runner.Progress) func(*asl.Execution, asl.Event) {
	return func(x *asl.Execution, ev asl.Event) {
		it.observe(x, ev)
		progress.Observe(x, ev)
	}
}

// signaled returns the first signal, if one arrived.
func (it *interrupter) signaled() os.Signal {
	it.mu.Lock()
	defer it.mu.Unlock()
	return it.sig
}

// exitStatus is the shell's status for a process ended by s: 128 + its
// number (130 for SIGINT, 143 for SIGTERM).
func exitStatus(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 130
}

func signalName(s os.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}
