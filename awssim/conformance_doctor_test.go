package awssim

// Conformance scenarios of what `amiswap doctor` reads: route tables, NAT
// gateways and VPC endpoints, backup plans and vault lock, and
// CloudFormation's answer for a stack that does not exist.

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	backuptypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func init() {
	conformanceScenarios = append(conformanceScenarios,
		scenario{"ec2/route-tables-nat-endpoints", scenarioRouteTables},
		scenario{"backup/plans-and-vault-lock", scenarioBackupPlans},
		scenario{"cloudformation/unknown-stack", scenarioUnknownStack},
	)
}

func scenarioRouteTables(t *testing.T, cfg aws.Config, on impl) {
	ctx := context.Background()
	c := ec2.NewFromConfig(cfg)
	sn, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("default-for-az"), Values: []string{"true"}}}})
	must(t, "DescribeSubnets", err)
	if len(sn.Subnets) < 2 {
		t.Fatalf("want two default subnets, got %d", len(sn.Subnets))
	}
	private, other := sn.Subnets[0], sn.Subnets[1]
	vpc := aws.ToString(private.VpcId)
	main, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}}, {Name: aws.String("association.main"), Values: []string{"true"}}}})
	must(t, "DescribeRouteTables main", err)
	if len(main.RouteTables) != 1 {
		t.Fatalf("main route tables of the default VPC: %d", len(main.RouteTables))
	}
	rt, err := c.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(vpc)})
	must(t, "CreateRouteTable", err)
	rtID := aws.ToString(rt.RouteTable.RouteTableId)
	if !strings.HasPrefix(rtID, "rtb-") || aws.ToString(rt.RouteTable.VpcId) != vpc {
		t.Errorf("CreateRouteTable: %+v", rt.RouteTable)
	}
	assoc, err := c.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: aws.String(rtID), SubnetId: private.SubnetId})
	must(t, "AssociateRouteTable", err)
	if !strings.HasPrefix(aws.ToString(assoc.AssociationId), "rtbassoc-") {
		t.Errorf("association id %q", aws.ToString(assoc.AssociationId))
	}
	nat, err := c.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: other.SubnetId, ConnectivityType: ec2types.ConnectivityTypePrivate})
	must(t, "CreateNatGateway", err)
	natID := aws.ToString(nat.NatGateway.NatGatewayId)
	if !strings.HasPrefix(natID, "nat-") || aws.ToString(nat.NatGateway.SubnetId) != aws.ToString(other.SubnetId) {
		t.Errorf("CreateNatGateway: %+v", nat.NatGateway)
	}
	_, err = c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(rtID), DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String(natID)})
	must(t, "CreateRoute", err)
	on.advance(natPending)
	nats, err := c.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{Filter: []ec2types.Filter{{Name: aws.String("subnet-id"), Values: []string{aws.ToString(other.SubnetId)}}}})
	must(t, "DescribeNatGateways", err)
	if len(nats.NatGateways) != 1 || nats.NatGateways[0].State != ec2types.NatGatewayStateAvailable {
		t.Errorf("DescribeNatGateways: %+v", nats.NatGateways)
	}
	got, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{{Name: aws.String("association.subnet-id"), Values: []string{aws.ToString(private.SubnetId)}}}})
	must(t, "DescribeRouteTables association.subnet-id", err)
	if len(got.RouteTables) != 1 || aws.ToString(got.RouteTables[0].RouteTableId) != rtID {
		t.Fatalf("the subnet's route table: %+v", got.RouteTables)
	}
	toNAT := false
	for _, r := range got.RouteTables[0].Routes {
		toNAT = toNAT || (aws.ToString(r.DestinationCidrBlock) == "0.0.0.0/0" && aws.ToString(r.NatGatewayId) == natID)
	}
	if !toNAT {
		t.Errorf("no route to %s: %+v", natID, got.RouteTables[0].Routes)
	}
	// moto associates a subnet with a route table that does not exist;
	// AWS refuses it (CONFORMANCE.md).
	if _, err := c.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: aws.String("rtb-00000000000000000"), SubnetId: private.SubnetId}); !on.moto {
		wantCode(t, err, "InvalidRouteTableID.NotFound")
	}

	svc := "com.amazonaws." + cfg.Region + ".ssm"
	ep, err := c.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{VpcId: aws.String(vpc), ServiceName: aws.String(svc),
		VpcEndpointType: ec2types.VpcEndpointTypeInterface, SubnetIds: []string{aws.ToString(private.SubnetId)}, PrivateDnsEnabled: aws.Bool(true)})
	must(t, "CreateVpcEndpoint", err)
	if !strings.HasPrefix(aws.ToString(ep.VpcEndpoint.VpcEndpointId), "vpce-") {
		t.Errorf("CreateVpcEndpoint: %+v", ep.VpcEndpoint)
	}
	on.advance(endpointPending)
	eps, err := c.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}}, {Name: aws.String("service-name"), Values: []string{svc}}}})
	must(t, "DescribeVpcEndpoints", err)
	if len(eps.VpcEndpoints) != 1 || eps.VpcEndpoints[0].VpcEndpointType != ec2types.VpcEndpointTypeInterface ||
		!strings.EqualFold(string(eps.VpcEndpoints[0].State), "available") || !aws.ToBool(eps.VpcEndpoints[0].PrivateDnsEnabled) ||
		len(eps.VpcEndpoints[0].SubnetIds) != 1 {
		t.Errorf("DescribeVpcEndpoints: %+v", eps.VpcEndpoints)
	}
}

func scenarioBackupPlans(t *testing.T, cfg aws.Config, on impl) {
	ctx := context.Background()
	c := backup.NewFromConfig(cfg)
	_, err := c.CreateBackupVault(ctx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String("locked")})
	must(t, "CreateBackupVault", err)
	plan, err := c.CreateBackupPlan(ctx, &backup.CreateBackupPlanInput{BackupPlan: &backuptypes.BackupPlanInput{
		BackupPlanName: aws.String("daily"),
		Rules: []backuptypes.BackupRuleInput{{RuleName: aws.String("nightly"), TargetBackupVaultName: aws.String("locked"),
			ScheduleExpression: aws.String("cron(0 3 * * ? *)")}},
	}})
	must(t, "CreateBackupPlan", err)
	if aws.ToString(plan.BackupPlanId) == "" || !strings.Contains(aws.ToString(plan.BackupPlanArn), ":backup-plan:") || aws.ToString(plan.VersionId) == "" {
		t.Errorf("CreateBackupPlan: %+v", plan)
	}
	got, err := c.GetBackupPlan(ctx, &backup.GetBackupPlanInput{BackupPlanId: plan.BackupPlanId})
	must(t, "GetBackupPlan", err)
	if aws.ToString(got.BackupPlan.BackupPlanName) != "daily" || len(got.BackupPlan.Rules) != 1 ||
		aws.ToString(got.BackupPlan.Rules[0].TargetBackupVaultName) != "locked" || aws.ToString(got.BackupPlan.Rules[0].RuleId) == "" {
		t.Errorf("GetBackupPlan: %+v", got.BackupPlan)
	}
	list, err := c.ListBackupPlans(ctx, &backup.ListBackupPlansInput{})
	must(t, "ListBackupPlans", err)
	if len(list.BackupPlansList) != 1 || aws.ToString(list.BackupPlansList[0].BackupPlanId) != aws.ToString(plan.BackupPlanId) {
		t.Errorf("ListBackupPlans: %+v", list.BackupPlansList)
	}
	_, err = c.PutBackupVaultLockConfiguration(ctx, &backup.PutBackupVaultLockConfigurationInput{BackupVaultName: aws.String("locked"), MinRetentionDays: aws.Int64(7)})
	must(t, "PutBackupVaultLockConfiguration", err)
	v, err := c.DescribeBackupVault(ctx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String("locked")})
	must(t, "DescribeBackupVault", err)
	if !aws.ToBool(v.Locked) || aws.ToInt64(v.MinRetentionDays) != 7 {
		t.Errorf("DescribeBackupVault of a locked vault: Locked %v MinRetentionDays %d", aws.ToBool(v.Locked), aws.ToInt64(v.MinRetentionDays))
	}
}

func scenarioUnknownStack(t *testing.T, cfg aws.Config, on impl) {
	_, err := cloudformation.NewFromConfig(cfg).DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{StackName: aws.String("no-such-stack")})
	if err == nil {
		t.Fatal("DescribeStacks of an unknown stack succeeded")
	}
	wantCode(t, err, "ValidationError")
}
