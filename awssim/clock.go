package awssim

import (
	"container/heap"
	"context"
	"time"
)

// clock is the simulator's virtual time. With speed 0 it moves only when
// advanced; otherwise it runs speed times faster than the wall clock.
// Fields are guarded by Sim.mu.
type clock struct {
	now      time.Time
	speed    float64
	wallBase time.Time
	virtBase time.Time
}

func (c *clock) init(start time.Time, speed float64) {
	c.now, c.speed = start, speed
	c.wallBase, c.virtBase = time.Now(), start
}

// target is the virtual time the wall clock says it is (free-running only).
func (c *clock) target() time.Time {
	if c.speed <= 0 {
		return c.now
	}
	return c.virtBase.Add(time.Duration(float64(time.Since(c.wallBase)) * c.speed))
}

// sync fires the timers that are due at the free-running clock's time.
func (c *clock) sync(s *Sim) { s.runUntil(c.target()) }

// timer is a callback scheduled at a virtual time; seq breaks ties so that
// timers due at the same instant run in the order they were scheduled.
type timer struct {
	at  time.Time
	seq uint64
	fn  func()
}

type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)   { *h = append(*h, x.(*timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

// after schedules fn to run, holding s.mu, once virtual time reaches now+d.
func (s *Sim) after(d time.Duration, fn func()) {
	s.seq++
	heap.Push(&s.timers, &timer{at: s.clock.now.Add(d), seq: s.seq, fn: fn})
}

// runUntil fires due timers in order, setting the clock to each timer's
// time so that timestamps are exact, then sets the clock to t.
func (s *Sim) runUntil(t time.Time) {
	for len(s.timers) > 0 && !s.timers[0].at.After(t) {
		tm := heap.Pop(&s.timers).(*timer)
		if tm.at.After(s.clock.now) {
			s.clock.now = tm.at
		}
		tm.fn()
	}
	if t.After(s.clock.now) {
		s.clock.now = t
	}
}

// Now returns the current virtual time.
func (s *Sim) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock.sync(s)
	return s.clock.now
}

// Speed reports how many times faster than the wall clock virtual time runs
// (0: manual clock).
func (s *Sim) Speed() float64 { return s.opts.Speed }

// Advance moves a manual clock forward by d, running every lifecycle step
// that falls due on the way. On a free-running clock it shifts virtual time
// ahead by d as well.
func (s *Sim) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d < 0 {
		return
	}
	if s.clock.speed > 0 {
		s.clock.virtBase = s.clock.virtBase.Add(d)
		s.clock.sync(s)
		return
	}
	s.runUntil(s.clock.now.Add(d))
}

// Sleep waits for d of virtual time: on a manual clock it advances the
// clock at once, on a free-running clock it sleeps d/speed of wall time.
func (s *Sim) Sleep(ctx context.Context, d time.Duration) error {
	if s.opts.Speed <= 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.Advance(d)
		return nil
	}
	t := time.NewTimer(time.Duration(float64(d) / s.opts.Speed))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Run keeps a free-running clock's timers firing (and so its events
// flowing) until ctx is done, even when no request arrives.
func (s *Sim) Run(ctx context.Context) {
	if s.opts.Speed <= 0 {
		<-ctx.Done()
		return
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.mu.Lock()
			s.clock.sync(s)
			s.mu.Unlock()
		}
	}
}
