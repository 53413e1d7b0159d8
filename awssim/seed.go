package awssim

import (
	"fmt"
	"time"
)

// seed creates the resources every fresh account has: a default VPC with a
// subnet in each of three zones, its default security group, and public
// base images owned by "amazon". Scenario "demo" adds an opted-in group.
// Callers hold s.mu.
func (s *Sim) seed(scenario string) error {
	switch scenario {
	case "", "empty", "demo":
	default:
		return fmt.Errorf("unknown scenario %q (want empty or demo)", scenario)
	}
	v := &vpc{ID: s.newID("vpc"), CIDR: "172.31.0.0/16", IsDefault: true}
	s.ec2.vpcs[v.ID] = v
	s.seedDefaultVPCNetwork(v)
	for i, z := range []string{"a", "b", "c"} {
		s.ec2.subnets = append(s.ec2.subnets, &subnet{
			ID: s.newID("subnet"), VpcID: v.ID, AZ: s.opts.Region + z,
			CIDR: fmt.Sprintf("172.31.%d.0/20", i*16), DefaultForAz: true,
		})
	}
	s.ec2.securityGroups = append(s.ec2.securityGroups, &securityGroup{
		ID: s.newID("sg"), Name: "default", Description: "default VPC security group", VpcID: v.ID,
	})
	for _, b := range baseImages {
		im := &image{
			ID: s.newID("ami"), Name: b.name, Description: b.description, OwnerID: "801119661308",
			OwnerAlias: "amazon", Platform: b.platform, State: "available", Architecture: "x86_64",
			Public: true, CreationDate: s.clock.now.AddDate(0, -1, 0), Tags: tags{},
		}
		// The root snapshot belongs to the publisher: it is not in this
		// account's snapshots, only named by the image.
		snapID := s.newID("snap")
		im.SnapshotIDs = []string{snapID}
		im.Devices = []volume{{ID: snapID, Device: b.root, SizeGiB: b.size}}
		s.addImage(im)
	}
	if scenario == "demo" {
		return s.seedDemo()
	}
	return nil
}

// seedDemo creates the demo scenario: a launch template demo-windows on the
// public Windows base image and the opted-in group demo-windows-web, whose
// two instances were launched an hour before the start time and are
// running, healthy and managed by SSM. Callers hold s.mu.
func (s *Sim) seedDemo() error {
	var base *image
	for _, im := range s.ec2.imageOrder {
		if im.Platform == "windows" && im.Public {
			base = im
			break
		}
	}
	if base == nil {
		return fmt.Errorf("demo scenario: no public Windows base image")
	}
	past := s.clock.now.Add(-time.Hour)
	// The instance profile the group's instances (and builders) use, with
	// its role, as IAM lists them.
	s.iamPutRole("demo-windows-ssm", "/", "")
	s.iam.profiles["demo-windows-ssm"] = &iamProfile{Name: "demo-windows-ssm", Path: "/", ID: s.iamID("AIPA"),
		ARN: s.instanceProfileARN("demo-windows-ssm"), Created: past.Add(-24 * time.Hour), roles: []string{"demo-windows-ssm"}}
	lt := s.addLaunchTemplate("demo-windows", s.rootARN(), past.Add(-24*time.Hour), ltVersion{Description: "demo Windows web tier", Data: ltData{
		ImageID: base.ID, InstanceType: "t3.large", HTTPTokens: "required",
		SecurityGroupIDs: []string{s.defaultSecurityGroup(s.ec2.subnets[0].VpcID).ID},
		// The SSM agent needs an instance profile to register; the builder
		// copies it from the template.
		InstanceProfileArn: s.instanceProfileARN("demo-windows-ssm"),
	}})
	g := &asGroup{
		Name: "demo-windows-web", ARN: s.asgGroupARN("demo-windows-web"),
		spec: asgSpec{LT: &asgLTRef{ID: lt.ID, Name: lt.Name, Version: "$Default"}},
		Min:  1, Max: 4, Desired: 2, Created: past, Tags: map[string]asgTag{
			"amiswap:enabled": {Key: "amiswap:enabled", Value: "true"},
			"Name":            {Key: "Name", Value: "demo-web", Propagate: true},
		},
	}
	for _, sn := range s.ec2.subnets {
		g.Subnets = append(g.Subnets, sn.ID)
	}
	// Builders get no public IP: the demo account reaches Systems Manager
	// through interface endpoints in the default VPC, as a private
	// network needs ("Use VPC endpoints to improve the security of EC2
	// instances", Systems Manager user guide).
	for _, svc := range []string{"ssm", "ssmmessages", "ec2messages"} {
		ep := s.addVPCEndpoint(s.ec2.subnets[0].VpcID, "com.amazonaws."+s.opts.Region+"."+svc, "Interface",
			append([]string(nil), g.Subnets...), []string{s.defaultSecurityGroup(s.ec2.subnets[0].VpcID).ID}, nil, true, tags{})
		ep.State, ep.Created = "available", past.Add(-24*time.Hour)
	}
	s.asgAddGroup(g)
	if len(g.members) != 2 {
		return fmt.Errorf("demo scenario: group launched %d instances, want 2 (%s)", len(g.members), g.launchErr)
	}
	for _, m := range g.members {
		in := m.in
		in.LaunchTime = past
		in.State, in.StateReason = "running", ""
		in.stateTime = past.Add(s.dur.InstancePending)
		in.gen++ // the boot timers scheduled at launch no longer apply
		in.StatusOK, in.AgentOnline = true, true
		s.instanceChanged(in)
	}
	return nil
}

var baseImages = []struct {
	name, description, platform, root string
	size                              int
}{
	{"Windows_Server-2022-English-Full-Base-2026.01.01", "Microsoft Windows Server 2022 Full Locale English AMI provided by Amazon", "windows", "/dev/sda1", 30},
	{"al2023-ami-2023.9.20260101.0-kernel-6.1-x86_64", "Amazon Linux 2023 AMI 2023.9.20260101.0 x86_64 HVM kernel-6.1", "", "/dev/xvda", 8},
}
