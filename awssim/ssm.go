package awssim

// ssmStore holds the ssm resources. (Being written: see the issue.)
type ssmStore struct{}
