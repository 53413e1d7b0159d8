package awssim

import "time"

// callLog is the log of API calls behind GET /_sim/calls and Sim.Calls.
//
// Every request appends to it, and it holds up to maxCalls entries, so it
// is kept compact: an entry holds no pointer (its strings are indexes into
// names, the distinct service names, actions, access key ids and error
// codes seen), which makes it a third of the size of a Call and leaves the
// garbage collector nothing to scan in it. Interning also copies each
// string once, instead of keeping alive the request a substring came from.
type callLog struct {
	entries []callEntry
	dropped int // entries dropped to stay within maxCalls
	names   []string
	index   map[string]uint32 // names[index[s]] == s
}

type callEntry struct {
	at                                 int64 // virtual time, Unix nanoseconds
	service, action, accessKeyID, code uint32
	status                             int32
}

// add appends a call, dropping the older half of the log when it is full.
func (l *callLog) add(c Call) {
	if len(l.entries) >= maxCalls {
		n := copy(l.entries, l.entries[len(l.entries)/2:])
		l.dropped += len(l.entries) - n
		l.entries = l.entries[:n]
		if len(l.names) > maxCalls {
			l.reintern() // a client sent very many distinct names
		}
	}
	l.entries = append(l.entries, callEntry{
		at:          c.Time.UnixNano(),
		service:     l.intern(c.Service),
		action:      l.intern(c.Action),
		accessKeyID: l.intern(c.AccessKeyID),
		code:        l.intern(c.ErrorCode),
		status:      int32(c.Status),
	})
}

// intern returns the index of s in names, adding a copy of it if new.
func (l *callLog) intern(s string) uint32 {
	if i, ok := l.index[s]; ok {
		return i
	}
	if l.index == nil {
		l.index = map[string]uint32{}
	}
	s = string([]byte(s)) // a copy: s may point into a request's body
	i := uint32(len(l.names))
	l.names = append(l.names, s)
	l.index[s] = i
	return i
}

// reintern rebuilds names from the entries still logged, so that names
// dropped with their calls are freed.
func (l *callLog) reintern() {
	old := l.names
	l.names, l.index = nil, nil
	for i := range l.entries {
		e := &l.entries[i]
		e.service = l.intern(old[e.service])
		e.action = l.intern(old[e.action])
		e.accessKeyID = l.intern(old[e.accessKeyID])
		e.code = l.intern(old[e.code])
	}
}

// all returns the logged calls in order, their times in loc (the virtual
// clock's location).
func (l *callLog) all(loc *time.Location) []Call {
	if len(l.entries) == 0 {
		return nil
	}
	out := make([]Call, len(l.entries))
	for i, e := range l.entries {
		out[i] = Call{
			Time:        time.Unix(0, e.at).In(loc),
			Service:     l.names[e.service],
			Action:      l.names[e.action],
			AccessKeyID: l.names[e.accessKeyID],
			Status:      int(e.status),
			ErrorCode:   l.names[e.code],
		}
	}
	return out
}
