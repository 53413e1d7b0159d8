package main

import "syscall"

// ioctlReadTermios is tcgetattr's ioctl on Linux (ioctl_tty(2)).
const ioctlReadTermios = syscall.TCGETS
