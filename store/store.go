// Package store keeps the durable history of local executions: one file of
// JSON lines per execution under a directory, appended event by event
// (synced on state transitions), listed, and loaded again so that
// asl.Executor.Resume can continue an execution after the process died.
package store

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/amiswap/amiswap/asl"
)

// ErrExists is returned when an execution with the same id was already
// recorded.
var ErrExists = errors.New("execution already exists")

const ext = ".jsonl"

// Store is a directory of execution histories. It is safe for concurrent
// use by several executions of one process; two processes must not append
// to the same execution at the same time.
type Store struct {
	// Meta, when set, is written next to each execution this store
	// creates (see Meta). Started is always written, from the wall clock.
	Meta *Meta

	dir  string
	mu   sync.Mutex
	open map[string]*os.File
}

// Meta is what the command that ran an execution knows about it and its
// history does not say: where it ran, and when by the wall clock (the
// history's timestamps follow the execution's clock, which is the
// simulator's for a run against the simulator).
type Meta struct {
	// Target is where the execution acts: "simulator <endpoint>" or
	// "<account>/<region>".
	Target string `json:"target"`
	// Started is the wall-clock time the execution started.
	Started time.Time `json:"started"`
}

const metaExt = ".meta.json"

// Status values a Summary shows beyond the execution's own: an execution
// stopped on purpose that can be resumed, and one an operator aborted
// (compensated and ended).
const (
	StatusInterrupted asl.Status = "INTERRUPTED"
	StatusAborted     asl.Status = "ABORTED"
)

var _ asl.Journal = (*Store)(nil)

// Open opens (creating it if needed) the store in dir.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return &Store{dir: dir, open: map[string]*os.File{}}, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// fileName maps an execution id to a file name: letters, digits, '-', '_'
// and '.' stay, every other byte becomes %XX.
func fileName(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || (c == '.' && i > 0) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String() + ext
}

func (s *Store) path(id string) string { return filepath.Join(s.dir, fileName(id)) }

func metaPath(historyPath string) string { return strings.TrimSuffix(historyPath, ext) + metaExt }

// writeMeta writes the Meta of a new execution: s.Meta, with Started.
func (s *Store) writeMeta(id string) error {
	var m Meta
	if s.Meta != nil {
		m = *s.Meta
	}
	if m.Started.IsZero() {
		m.Started = time.Now().UTC()
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return os.WriteFile(metaPath(s.path(id)), b, 0o644)
}

// readMeta reads an execution's Meta; ok is false when there is none.
func readMeta(historyPath string) (Meta, bool) {
	var m Meta
	b, err := os.ReadFile(metaPath(historyPath))
	if err != nil || json.Unmarshal(b, &m) != nil {
		return Meta{}, false
	}
	return m, true
}

// Append implements asl.Journal: it writes ev as one line of the
// execution's file. ExecutionStarted creates the file and fails with
// ErrExists if it is there already. With sync set the file is fsynced
// before Append returns; a terminal event also closes it.
func (s *Store) Append(id string, ev asl.Event, sync bool) error {
	line, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("append to %s: %w", id, err)
	}
	line = append(line, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.file(id, ev.Type == asl.ExecutionStarted)
	if err != nil {
		return err
	}
	if _, err := f.Write(line); err != nil {
		return fmt.Errorf("append to %s: %w", id, err)
	}
	if sync || ev.Type.IsTerminal() {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("append to %s: sync: %w", id, err)
		}
	}
	if ev.Type.IsTerminal() {
		delete(s.open, id)
		if err := f.Close(); err != nil {
			return fmt.Errorf("append to %s: close: %w", id, err)
		}
	}
	return nil
}

// file returns the open file of an execution: created for a new one,
// reopened (with a torn last line cut off) for one recorded earlier.
func (s *Store) file(id string, create bool) (*os.File, error) {
	if f, ok := s.open[id]; ok {
		if create {
			return nil, fmt.Errorf("create %s: %w", id, ErrExists)
		}
		return f, nil
	}
	p := s.path(id)
	if create {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("create %s: %w", id, ErrExists)
		}
		if err != nil {
			return nil, fmt.Errorf("create %s: %w", id, err)
		}
		if err := s.writeMeta(id); err != nil {
			f.Close()
			return nil, fmt.Errorf("create %s: meta: %w", id, err)
		}
		if err := syncDir(s.dir); err != nil {
			f.Close()
			return nil, fmt.Errorf("create %s: %w", id, err)
		}
		s.open[id] = f
		return f, nil
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("append to %s: %w", id, err)
	}
	if err := cutTornTail(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("append to %s: %w", id, err)
	}
	s.open[id] = f
	return f, nil
}

// cutTornTail truncates a last line that a crash left without its newline
// and leaves the offset at the end.
func cutTornTail(f *os.File) error {
	data, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	keep := int64(bytes.LastIndexByte(data, '\n') + 1)
	if keep != int64(len(data)) {
		if err := f.Truncate(keep); err != nil {
			return err
		}
	}
	_, err = f.Seek(keep, io.SeekStart)
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Load reads an execution's history. A missing execution is an error that
// wraps fs.ErrNotExist. A last line torn by a crash is ignored.
func (s *Store) Load(id string) (asl.History, error) {
	h, err := readFile(s.path(id))
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", id, err)
	}
	return h, nil
}

func readFile(p string) (asl.History, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	// A last line without its newline was torn by a crash: ignore it.
	data = data[:bytes.LastIndexByte(data, '\n')+1]
	var h asl.History
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 64<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		var ev asl.Event
		if err := json.Unmarshal(line, &ev); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if ev.ID != int64(len(h)+1) {
			return nil, fmt.Errorf("line %d: event id %d, want %d", n, ev.ID, len(h)+1)
		}
		h = append(h, ev)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if _, ok := h.Info(); !ok {
		return nil, errors.New("the history does not start with ExecutionStarted")
	}
	return h, nil
}

// Summary describes a stored execution.
type Summary struct {
	ID           string
	Name         string
	StateMachine string
	// Status is the execution's status, or StatusInterrupted for one an
	// operator stopped (still resumable), or StatusAborted for one an
	// operator aborted.
	Status asl.Status
	// StartTime is the start on the execution's clock.
	StartTime time.Time
	// StopTime is zero while the execution is RUNNING (or INTERRUPTED).
	StopTime time.Time
	// LastTime is the time of the last event.
	LastTime time.Time
	// State is the last state entered.
	State       string
	Events      int
	Transitions int
	// Group is the Auto Scaling group the execution resolved ("" before
	// it did, or when it found none).
	Group string
	// Target and Started come from the execution's Meta; without one,
	// Target is "" and Started is StartTime.
	Target  string
	Started time.Time
}

// Duration is the time from the start to the end (or, for an execution
// that has not ended, to the last event), on the execution's clock.
func (s Summary) Duration() time.Duration { return s.LastTime.Sub(s.StartTime) }

// List describes every stored execution, newest first.
func (s *Store) List() ([]Summary, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list executions: %w", err)
	}
	var out []Summary
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ext) {
			continue
		}
		h, err := readFile(filepath.Join(s.dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("list executions: %s: %w", e.Name(), err)
		}
		sm := summarize(h)
		if m, ok := readMeta(filepath.Join(s.dir, e.Name())); ok {
			sm.Target, sm.Started = m.Target, m.Started
		}
		out = append(out, sm)
	}
	// Newest first by the wall clock: histories of runs against the
	// simulator carry its (virtual) time.
	slices.SortFunc(out, func(a, b Summary) int {
		if c := b.Started.Compare(a.Started); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

func summarize(h asl.History) Summary {
	info, _ := h.Info()
	sm := Summary{ID: info.ID, Name: info.Name, StateMachine: info.StateMachineName, Status: h.Status(),
		StartTime: info.StartTime, Started: info.StartTime, LastTime: h[len(h)-1].Timestamp,
		Events: len(h), Transitions: h.Transitions(), Group: groupOf(h)}
	if sm.Status != asl.StatusRunning {
		sm.StopTime = h[len(h)-1].Timestamp
	}
	if _, ok := h.Redirected(); ok && sm.Status == asl.StatusFailed {
		sm.Status = StatusAborted
	}
	if h.Interrupted() {
		sm.Status = StatusInterrupted
	}
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].Type.IsStateEntered() {
			sm.State = h[i].State
			break
		}
	}
	return sm
}

// groupOf returns the group the execution resolved: target.group in the
// last state output that has one.
func groupOf(h asl.History) string {
	for i := len(h) - 1; i >= 0; i-- {
		if !h[i].Type.IsStateExited() || len(h[i].Output) == 0 {
			continue
		}
		var v struct {
			Target *struct {
				Group string `json:"group"`
			} `json:"target"`
		}
		if json.Unmarshal(h[i].Output, &v) == nil && v.Target != nil && v.Target.Group != "" {
			return v.Target.Group
		}
	}
	return ""
}

// Find returns the id of the stored execution named name (the newest, if
// several state machines used the name); the error wraps fs.ErrNotExist
// when there is none.
func (s *Store) Find(name string) (string, error) {
	list, err := s.List()
	if err != nil {
		return "", err
	}
	for _, sm := range list {
		if sm.Name == name || sm.ID == name {
			return sm.ID, nil
		}
	}
	return "", fmt.Errorf("find execution %q: %w", name, fs.ErrNotExist)
}

// Close closes the files of executions that have not ended.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for id, f := range s.open {
		errs = append(errs, f.Close())
		delete(s.open, id)
	}
	return errors.Join(errs...)
}

// Resume loads the stored execution id and rebuilds it with ex (whose
// Journal should be this store) so that Run continues it; see
// asl.Executor.Resume.
func (s *Store) Resume(ex *asl.Executor, def *asl.Definition, id string) (*asl.Execution, error) {
	h, err := s.Load(id)
	if err != nil {
		return nil, err
	}
	return ex.Resume(def, h)
}
