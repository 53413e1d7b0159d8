//go:build !linux

package motoserver

import "os/exec"

// setProcAttr leaves the process attributes as they are off Linux.
func setProcAttr(cmd *exec.Cmd) {}

// kill ends moto_server.
func kill(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}
