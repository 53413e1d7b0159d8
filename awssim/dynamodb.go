package awssim

// ddbStore holds the dynamodb resources. (Being written: see the issue.)
type ddbStore struct{}
