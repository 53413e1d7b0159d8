//go:build !linux && !darwin && !freebsd && !netbsd && !openbsd && !dragonfly && !windows

package main

// isTerminalFd reports false where amiswap cannot tell: commands that ask
// then need --yes.
func isTerminalFd(fd uintptr) bool { return false }
