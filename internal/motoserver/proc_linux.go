package motoserver

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts moto_server in its own process group (a pyenv shim or a
// wrapper script may start it as a child) and has the kernel kill it if
// the test binary dies without cleaning up.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// kill ends moto_server's process group.
func kill(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
