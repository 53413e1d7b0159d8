package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
)

// openPTY opens a pseudo-terminal pair with the standard library only
// (pty(7): open /dev/ptmx, unlock it with TIOCSPTLCK, find the slave's
// number with TIOCGPTN, open /dev/pts/N), or skips the test when the
// system has none.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	var n uint32
	var ioctlErr error
	rc, err := m.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	err = rc.Control(func(fd uintptr) {
		var unlock int32
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
			ioctlErr = fmt.Errorf("TIOCSPTLCK: %w", e)
			return
		}
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
			ioctlErr = fmt.Errorf("TIOCGPTN: %w", e)
		}
	})
	if err == nil {
		err = ioctlErr
	}
	if err != nil {
		m.Close()
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		m.Close()
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { s.Close(); m.Close() })
	return m, s
}

// runOnTerminal runs the CLI with stdin and stderr on a pseudo-terminal
// (stdout in a buffer) and answers the first question it asks there.
func runOnTerminal(t *testing.T, env map[string]string, answer string, args ...string) (code int, stdout, terminal string) {
	t.Helper()
	master, slave := openPTY(t)
	var out bytes.Buffer
	var screen syncBuffer
	asked := make(chan struct{})
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		r := bufio.NewReader(master)
		signalled := false
		for {
			b, err := r.ReadByte()
			if err != nil {
				return
			}
			screen.Write([]byte{b})
			if !signalled && strings.HasSuffix(screen.String(), "[y/N]: ") {
				signalled = true
				close(asked)
			}
		}
	}()
	go func() {
		// Type the answer once the question is on the screen, as a
		// person would.
		select {
		case <-asked:
			io.WriteString(master, answer+"\n")
		case <-readDone:
		}
	}()
	e := &Env{Stdout: &out, Stderr: slave, Stdin: slave, Getenv: func(k string) string { return env[k] }}
	err := Run(context.Background(), args, e)
	code = exitCode(err, slave)
	// With the slave closed, the master reads what is left, then EIO.
	slave.Close()
	<-readDone
	return code, out.String(), screen.String()
}

// TestDeployAsksOnTerminal runs deploy and deploy --delete with stdin on
// a pseudo-terminal: the change set is listed, then the question; yes
// executes it, no deletes the change set and changes nothing (exit 0);
// --delete asks the same way.
func TestDeployAsksOnTerminal(t *testing.T) {
	env, cfg := motoDeployEnv(t, "us-east-1")
	zip := lambdaZip(t)
	args := []string{"deploy", "--stack-name", "amiswap-tty", "--artifact-bucket", "amiswap-tty-artifacts", "--create-bucket", "--lambda-zip", zip,
		"--builder-role-arns", "arn:aws:iam::123456789012:role/web"}

	code, stdout, screen := runOnTerminal(t, env, "y", append(args, "--email", "ops@example.com")...)
	if code != 0 || !strings.Contains(screen, "Execute change set") || !strings.Contains(screen, "on stack amiswap-tty? [y/N]: ") {
		t.Fatalf("create, answered y: exit %d\nterminal: %q\nstdout:\n%s", code, screen, stdout)
	}
	if !strings.Contains(stdout, "AWS::StepFunctions::StateMachine") || !strings.Contains(stdout, "CREATE_COMPLETE") {
		t.Errorf("create: the change set or the creation is not shown:\n%s", stdout)
	}

	// An update answered no: exit 0, the change set is deleted, the
	// parameter keeps its value.
	code, stdout, screen = runOnTerminal(t, env, "n", append(args, "--email", "other@example.com")...)
	if code != 0 || !strings.Contains(screen, "declined; nothing was changed") || !strings.Contains(stdout, "change set deleted") || strings.Contains(stdout, "UPDATE_COMPLETE") {
		t.Fatalf("update, answered n: exit %d\nterminal: %q\nstdout:\n%s", code, screen, stdout)
	}
	ctx := context.Background()
	cfn := cloudformation.NewFromConfig(cfg)
	stacks, err := cfn.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("amiswap-tty")})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range stacks.Stacks[0].Parameters {
		if aws.ToString(p.ParameterKey) == "NotificationEmail" && aws.ToString(p.ParameterValue) != "ops@example.com" {
			t.Errorf("declined update changed NotificationEmail to %q", aws.ToString(p.ParameterValue))
		}
	}
	sets, err := cfn.ListChangeSets(ctx, &cloudformation.ListChangeSetsInput{StackName: aws.String("amiswap-tty")})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sets.Summaries {
		if s.ExecutionStatus == "AVAILABLE" {
			t.Errorf("declined change set %s left available", aws.ToString(s.ChangeSetName))
		}
	}

	// --delete answered no keeps the stack; yes deletes it.
	code, _, screen = runOnTerminal(t, env, "no", "deploy", "--stack-name", "amiswap-tty", "--delete")
	if code != 0 || !strings.Contains(screen, "Delete stack amiswap-tty? [y/N]: ") || stackStatus(t, cfg, "amiswap-tty") == "" {
		t.Fatalf("delete, answered no: exit %d, terminal %q, stack %q", code, screen, stackStatus(t, cfg, "amiswap-tty"))
	}
	code, stdout, screen = runOnTerminal(t, env, "yes", "deploy", "--stack-name", "amiswap-tty", "--delete")
	if code != 0 || !strings.Contains(stdout, "stack deleted") || stackStatus(t, cfg, "amiswap-tty") != "" {
		t.Fatalf("delete, answered yes: exit %d\nterminal %q\nstdout:\n%s", code, screen, stdout)
	}
}

// TestIsTerminal: a pseudo-terminal is a terminal; /dev/null (a
// character device), a pipe and a buffer are not.
func TestIsTerminal(t *testing.T) {
	_, slave := openPTY(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, c := range []struct {
		name string
		v    any
		want bool
	}{{"pty", slave, true}, {"/dev/null", devNull(t), false}, {"pipe", r, false}, {"buffer", &bytes.Buffer{}, false}, {"nil", nil, false}} {
		if got := isTerminal(c.v); got != c.want {
			t.Errorf("%s: isTerminal %v, want %v", c.name, got, c.want)
		}
	}
}
