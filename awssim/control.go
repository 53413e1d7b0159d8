package awssim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// serveControl serves the simulator's own API under /_sim/. It is not AWS.
func (s *Sim) serveControl(w http.ResponseWriter, r *http.Request) {
	switch r.Method + " " + r.URL.Path {
	case "GET /_sim/clock":
		s.mu.Lock()
		s.clock.sync(s)
		out := map[string]any{"now": s.clock.now.UTC().Format(time.RFC3339Nano), "speed": s.opts.Speed}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
	case "POST /_sim/clock":
		var in struct {
			Advance string `json:"advance"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			controlError(w, http.StatusBadRequest, "body must be {\"advance\":\"90s\"}: %v", err)
			return
		}
		d, err := time.ParseDuration(in.Advance)
		if err != nil || d < 0 {
			controlError(w, http.StatusBadRequest, "advance must be a non-negative Go duration such as \"90s\" or \"15m\", got %q", in.Advance)
			return
		}
		s.Advance(d)
		writeJSON(w, http.StatusOK, map[string]any{"now": s.Now().UTC().Format(time.RFC3339Nano), "speed": s.opts.Speed})
	case "POST /_sim/faults":
		var f Fault
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			controlError(w, http.StatusBadRequest, "cannot read fault: %v", err)
			return
		}
		if err := f.validate(); err != nil {
			controlError(w, http.StatusBadRequest, "%v", err)
			return
		}
		s.AddFault(f)
		writeJSON(w, http.StatusCreated, f)
	case "GET /_sim/faults":
		s.mu.Lock()
		out := append([]Fault{}, s.faults...)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
	case "DELETE /_sim/faults":
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	case "GET /_sim/state":
		writeJSON(w, http.StatusOK, s.State())
	case "GET /_sim/calls":
		calls := s.Calls()
		if calls == nil {
			calls = []Call{}
		}
		writeJSON(w, http.StatusOK, calls)
	case "GET /_sim/events":
		ev := s.Events()
		if ev == nil {
			ev = []Event{}
		}
		writeJSON(w, http.StatusOK, ev)
	case "POST /_sim/throttle":
		var t Throttle
		if err := json.NewDecoder(r.Body).Decode(&t); err != nil {
			controlError(w, http.StatusBadRequest, "cannot read throttle settings: %v", err)
			return
		}
		if t.ReadBurst < 0 || t.ReadRate < 0 || t.WriteBurst < 0 || t.WriteRate < 0 {
			controlError(w, http.StatusBadRequest, "throttle bursts and rates must not be negative: %+v", t)
			return
		}
		s.SetThrottle(t)
		writeJSON(w, http.StatusOK, t)
	default:
		controlError(w, http.StatusNotFound, "no simulator endpoint %s %s (see GET /_sim/state, /_sim/calls, /_sim/events, /_sim/clock, /_sim/faults)", r.Method, r.URL.Path)
	}
}

// State returns a JSON-ready snapshot of every resource, keyed by service.
func (s *Sim) State() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock.sync(s)
	out := map[string]any{"now": s.clock.now.UTC().Format(time.RFC3339Nano)}
	for _, st := range stores {
		out[st.name] = st.state(s)
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func controlError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}
