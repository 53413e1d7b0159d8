package awssim

// backupStore holds the backup resources. (Being written: see the issue.)
type backupStore struct{}
