package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/amiswap/amiswap/awssim"
	"github.com/amiswap/amiswap/awssim/iam"
	"github.com/amiswap/amiswap/runner"
	"github.com/amiswap/amiswap/sandbox"
	"github.com/amiswap/amiswap/workflow"
	"github.com/aws/aws-sdk-go-v2/aws"
)

func init() {
	register(command{name: "sim", summary: "serve the AWS simulator (EC2, Auto Scaling, SSM, Backup, SNS, STS, DynamoDB, IAM, KMS, Step Functions, CloudFormation)", run: runSim})
}

// simInput are the flags of `amiswap sim`.
type simInput struct {
	Addr     string
	Region   string
	Speed    float64
	Scenario string
	Throttle bool
	Verbose  bool
	// IAMTemplate, when set, enforces each function's role from this
	// CloudFormation template on that function's access key.
	IAMTemplate string
	IAMParams   paramList
}

// paramList collects repeated KEY=VALUE flags.
type paramList map[string]string

func (p *paramList) String() string { return fmt.Sprint(map[string]string(*p)) }

func (p *paramList) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	if *p == nil {
		*p = paramList{}
	}
	(*p)[k] = val
	return nil
}

func runSim(ctx context.Context, args []string, env *Env) error {
	var in simInput
	fs := newFlagSet("sim", "[--addr 127.0.0.1:4566] [--region us-east-1] [--speed 60] [--scenario empty|demo]", env)
	fs.StringVar(&in.Addr, "addr", "127.0.0.1:4566", "address to listen on (loopback only: use 127.0.0.1:0 for a free port)")
	fs.StringVar(&in.Region, "region", "us-east-1", "simulated region")
	fs.Float64Var(&in.Speed, "speed", 60, "run simulated time this many times faster than the wall clock (0: manual clock, moved with POST /_sim/clock)")
	fs.StringVar(&in.Scenario, "scenario", "empty", "initial resources: empty (default VPC, base images) or demo (plus an opted-in Windows group)")
	fs.BoolVar(&in.Throttle, "throttle", true, "apply per-action request throttling as AWS does")
	fs.BoolVar(&in.Verbose, "v", false, "log every API call")
	fs.StringVar(&in.IAMTemplate, "iam-template", "", "enforce each Lambda function's role from this CloudFormation template (e.g. the output of 'amiswap template') on the function's access key AKIA<FUNCTION>")
	fs.Var(&in.IAMParams, "iam-param", "a template parameter for --iam-template, KEY=VALUE (repeatable), e.g. AWS::StackName=amiswap or BuilderRoleArns=arn:aws:iam::123456789012:role/web")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if in.Speed < 0 {
		return &usageError{"sim: --speed must be 0 or more"}
	}
	host, _, err := net.SplitHostPort(in.Addr)
	if err != nil {
		return &usageError{fmt.Sprintf("sim: --addr %q: %v", in.Addr, err)}
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return &usageError{fmt.Sprintf("sim: --addr %q is not a loopback address; the simulator has no authentication and serves 127.0.0.1 only", in.Addr)}
	}
	level := slog.LevelWarn
	if in.Verbose {
		level = slog.LevelDebug
	}
	sim, err := awssim.New(awssim.Options{
		Region: in.Region, Speed: in.Speed, Scenario: in.Scenario,
		Throttle: awssim.Throttle{Disabled: !in.Throttle},
		Logger:   slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level})),
	})
	if err != nil {
		return &usageError{"sim: " + err.Error()}
	}
	if in.IAMTemplate != "" {
		tmpl, err := os.ReadFile(in.IAMTemplate)
		if err != nil {
			return &usageError{"sim: --iam-template: " + err.Error()}
		}
		params := map[string]string{"AWS::StackName": "amiswap", "ArtifactBucket": "unused", "ArtifactKey": "unused"}
		for k, v := range in.IAMParams {
			params[k] = v
		}
		m, err := iam.Enable(sim, tmpl, params)
		if err != nil && strings.Contains(err.Error(), "Ref BuilderRoleArns") {
			// The template requires it, as a deployment does.
			return &usageError{"sim: --iam-template: the template requires BuilderRoleArns: give --iam-param BuilderRoleArns=ARN[,ARN…] (the roles of the instance profiles builders and groups use)"}
		}
		if err != nil {
			return fmt.Errorf("sim: --iam-template: %w", err)
		}
		for _, f := range m.Functions() {
			fmt.Fprintf(env.Stderr, "iam: function %s calls with access key %s\n", f, iam.KeyFor(f))
		}
	}
	ln, err := net.Listen("tcp", in.Addr)
	if err != nil {
		return fmt.Errorf("sim: listen: %w", err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(env.Stdout, "endpoint: http://%s\n", ln.Addr())
	fmt.Fprintf(env.Stdout, "region: %s  account: %s  speed: %gx  scenario: %s\n", sim.Region(), sim.AccountID(), in.Speed, in.Scenario)
	fmt.Fprintf(env.Stdout, "try: AWS_ENDPOINT_URL=http://%s AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test aws ec2 describe-images --owners amazon --region %s\n", ln.Addr(), in.Region)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go sim.Run(runCtx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	// amiswap's state machines, run in process against this simulator:
	// `aws stepfunctions start-execution` of amiswap-rollback rolls back.
	if err := installStates(ctx, sim, "http://"+ln.Addr().String(), in.IAMTemplate != "", env); err != nil {
		srv.Close()
		if ctx.Err() != nil {
			// Stopped (Ctrl-C, or the caller's context) while starting up:
			// a stop, not a failure.
			fmt.Fprintln(env.Stderr, "amiswap sim: stopped")
			return nil
		}
		return fmt.Errorf("sim: %w", err)
	}
	select {
	case <-ctx.Done():
		shutdownCtx, done := context.WithTimeout(context.Background(), 5*time.Second)
		defer done()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			return fmt.Errorf("sim: shutdown: %w", err)
		}
		fmt.Fprintln(env.Stderr, "amiswap sim: stopped")
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("sim: serve: %w", err)
	}
}

// installStates creates amiswap's swap and rollback state machines in the
// simulator and runs their executions over the handlers, with the
// AMISWAP_* configuration; under --iam-template each function calls with
// its own role's key.
func installStates(ctx context.Context, sim *awssim.Sim, endpoint string, underIAM bool, env *Env) error {
	conf, err := workflow.ConfigFromEnv(env.Getenv)
	if err != nil {
		return err
	}
	cfg, err := sandbox.Config(ctx, endpoint, sim.Region(), "AKIAAMISWAPLOCAL")
	if err != nil {
		return err
	}
	if err := sandbox.InstallStateMachines(ctx, sim, cfg, conf); err != nil {
		return err
	}
	if underIAM {
		opts := runner.Options{AWS: cfg, Config: conf, Clock: sim, FunctionAWS: map[string]aws.Config{}}
		for _, f := range workflow.Functions {
			if opts.FunctionAWS[f.Name], err = sandbox.Config(ctx, endpoint, sim.Region(), iam.KeyFor(f.Name)); err != nil {
				return err
			}
		}
		sim.SetStatesRunner(sandbox.StatesRunner{Options: opts})
	}
	return nil
}
