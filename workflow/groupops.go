package workflow

// This file registers the group-side ops: resolve, lock and unlock, the
// UpdateAsg function's ops, and compensate.

import "context"

// registerGroupOps registers the group-side ops with their production
// clients.
func registerGroupOps(r *Registry, c Clients, conf Config) {
	region := ""
	if c.EC2 != nil {
		region = c.EC2.Options().Region
	}
	res := &Resolver{backup: c.Backup, ec2: c.EC2, asg: c.ASG, conf: conf, region: region}
	lk := &Locker{db: c.DynamoDB, table: conf.LockTable, ttl: conf.LockTTL}
	g := &GroupOps{asg: c.ASG, ec2: c.EC2}
	comp := &Compensator{asg: c.ASG, ec2: c.EC2}

	r.Handle("resolve", func(ctx context.Context, p Payload) (any, error) { return res.Resolve(ctx, p) })
	r.Handle("lock", func(ctx context.Context, p Payload) (any, error) { return lk.Lock(ctx, p) })
	r.Handle("unlock", func(ctx context.Context, p Payload) (any, error) { return lk.Unlock(ctx, p) })
	r.Handle("freeze", func(ctx context.Context, p Payload) (any, error) { return g.Freeze(ctx, p) })
	r.Handle("update-launch-template", func(ctx context.Context, p Payload) (any, error) { return g.UpdateLaunchTemplate(ctx, p) })
	r.Handle("thaw", func(ctx context.Context, p Payload) (any, error) { return g.Thaw(ctx, p) })
	r.Handle("start-refresh", func(ctx context.Context, p Payload) (any, error) { return g.StartRefresh(ctx, p) })
	r.Handle("check-refresh", func(ctx context.Context, p Payload) (any, error) { return g.CheckRefresh(ctx, p) })
	r.Handle("compensate", func(ctx context.Context, p Payload) (any, error) { return comp.Compensate(ctx, p) })
}
