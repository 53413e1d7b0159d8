package awssim

// snsStore holds the sns resources. (Being written: see the issue.)
type snsStore struct{}
