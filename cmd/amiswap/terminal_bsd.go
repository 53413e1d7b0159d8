//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package main

import "syscall"

// ioctlReadTermios is tcgetattr's ioctl on macOS and the BSDs.
const ioctlReadTermios = syscall.TIOCGETA
