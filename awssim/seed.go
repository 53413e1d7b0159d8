package awssim

import "fmt"

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

var baseImages = []struct {
	name, description, platform, root string
	size                              int
}{
	{"Windows_Server-2022-English-Full-Base-2026.01.01", "Microsoft Windows Server 2022 Full Locale English AMI provided by Amazon", "windows", "/dev/sda1", 30},
	{"al2023-ami-2023.9.20260101.0-kernel-6.1-x86_64", "Amazon Linux 2023 AMI 2023.9.20260101.0 x86_64 HVM kernel-6.1", "", "/dev/xvda", 8},
}
