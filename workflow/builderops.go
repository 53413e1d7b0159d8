package workflow

// This file registers the builder-side ops: the builder instance, its
// generalization, the golden AMI, cleanup and notification.

import "context"

// registerBuilderOps registers the builder-side ops with the production
// clients.
func registerBuilderOps(r *Registry, c Clients, conf Config) {
	launch := &LaunchBuilder{EC2: c.EC2}
	ready := &CheckBuilderReady{EC2: c.EC2, SSM: c.SSM}
	stop := &StopBuilder{EC2: c.EC2}
	stopped := &CheckBuilderStopped{EC2: c.EC2}
	prep := &Prepare{SSM: c.SSM}
	prepCheck := &CheckPrepared{SSM: c.SSM, EC2: c.EC2}
	gen := &Generalize{SSM: c.SSM}
	genCheck := &CheckGeneralized{SSM: c.SSM, EC2: c.EC2, Invocations: c.SSM}
	create := &CreateImage{EC2: c.EC2}
	imgCheck := &CheckImage{EC2: c.EC2, Deprecator: c.EC2}
	launchV := &LaunchVerifier{EC2: c.EC2}
	readyV := &CheckVerifierReady{EC2: c.EC2, SSM: c.SSM}
	runV := &RunVerification{SSM: c.SSM}
	checkV := &CheckVerification{SSM: c.SSM, EC2: c.EC2}
	endV := &TerminateVerifier{EC2: c.EC2}
	hand := &HandOff{SSM: c.SSM}
	handCheck := &CheckHandOff{SSM: c.SSM}
	clean := &Cleanup{EC2: c.EC2, Backup: c.Backup, ASG: c.ASG}
	notify := &Notify{SNS: c.SNS, TopicArn: conf.TopicArn, DB: c.DynamoDB, Table: conf.LockTable}

	r.Handle("launch-builder", typedHandler(launch.Launch))
	r.Handle("check-builder-ready", typedHandler(ready.Check))
	r.Handle("stop-builder", typedHandler(stop.Stop))
	r.Handle("check-builder-stopped", typedHandler(stopped.Check))
	r.Handle("prepare", typedHandler(prep.Send))
	r.Handle("check-prepared", typedHandler(prepCheck.Check))
	r.Handle("generalize", typedHandler(gen.Send))
	r.Handle("check-generalized", typedHandler(genCheck.Check))
	r.Handle("create-image", typedHandler(create.Create))
	r.Handle("check-image", typedHandler(imgCheck.Check))
	r.Handle("launch-verifier", typedHandler(launchV.Launch))
	r.Handle("check-verifier-ready", typedHandler(readyV.Check))
	r.Handle("verify", typedHandler(runV.Send))
	r.Handle("check-verification", typedHandler(checkV.Check))
	r.Handle("terminate-verifier", typedHandler(endV.Terminate))
	r.Handle("record-parameter", typedHandler(hand.Record))
	r.Handle("hand-off", typedHandler(hand.Put))
	r.Handle("check-hand-off", typedHandler(handCheck.Check))
	r.Handle("terminate-builder", typedHandler(clean.TerminateBuilder))
	r.Handle("cleanup", typedHandler(clean.Clean))
	r.Handle("notify", typedHandler(notify.Send))
}

// typedHandler adapts a typed handler method to a HandlerFunc. A failed call returns
// a nil result, never a typed nil pointer inside the interface.
func typedHandler[T any](f func(context.Context, Payload) (*T, error)) HandlerFunc {
	return func(ctx context.Context, p Payload) (any, error) {
		out, err := f(ctx, p)
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}
