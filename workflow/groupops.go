package workflow

// This file registers the group-side ops: resolve, lock and unlock, the
// UpdateAsg function's ops, and compensate.

// registerGroupOps registers the group-side ops with their production
// clients.
func registerGroupOps(r *Registry, c Clients, conf Config) {
	region := ""
	if c.EC2 != nil {
		region = c.EC2.Options().Region
	}
	res := &Resolver{backup: c.Backup, ec2: c.EC2, asg: c.ASG, conf: conf, region: region}
	if c.EC2 != nil && c.KMS != nil {
		res.keys = &keyChecker{snaps: c.EC2, kms: c.KMS}
	}
	lk := &Locker{db: c.DynamoDB, table: conf.LockTable, ttl: conf.LockTTL}
	g := &GroupOps{asg: c.ASG, ec2: c.EC2}
	comp := &Compensator{asg: c.ASG, ec2: c.EC2, ssm: c.SSM}

	r.Handle("resolve", typedHandler(res.Resolve))
	r.Handle("resolve-rollback", typedHandler((&RollbackResolver{asg: c.ASG, ec2: c.EC2}).Resolve))
	r.Handle("lock", typedHandler(lk.Lock))
	r.Handle("unlock", typedHandler(lk.Unlock))
	r.Handle("freeze", typedHandler(g.Freeze))
	r.Handle("update-launch-template", typedHandler(g.UpdateLaunchTemplate))
	r.Handle("thaw", typedHandler(g.Thaw))
	r.Handle("start-refresh", typedHandler(g.StartRefresh))
	r.Handle("check-refresh", typedHandler(g.CheckRefresh))
	r.Handle("compensate", typedHandler(comp.Compensate))
}
