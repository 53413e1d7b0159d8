package awssim

// asgStore holds the autoscaling resources. (Being written: see the issue.)
type asgStore struct{}

// seedDemo creates the demo scenario's opted-in Windows group.
func (s *Sim) seedDemo() error { return nil }
