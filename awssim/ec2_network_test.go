package awssim

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func filter(name string, values ...string) ec2types.Filter {
	return ec2types.Filter{Name: aws.String(name), Values: values}
}

// TestDefaultVPCRoutesToItsInternetGateway: a default VPC has an attached
// internet gateway and a main route table with the local route and
// 0.0.0.0/0 to the gateway ("Default VPCs", Amazon VPC user guide,
// https://docs.aws.amazon.com/vpc/latest/userguide/default-vpc.html). Its
// subnets have no explicit association: association.subnet-id finds
// nothing, association.main=true finds the main table.
func TestDefaultVPCRoutesToItsInternetGateway(t *testing.T) {
	ts := newTestSim(t, Options{})
	ctx := context.Background()
	c := ec2.NewFromConfig(ts.Cfg)
	vpcs, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{filter("is-default", "true")}})
	if err != nil || len(vpcs.Vpcs) != 1 {
		t.Fatalf("DescribeVpcs: %v", err)
	}
	vpcID := aws.ToString(vpcs.Vpcs[0].VpcId)
	igws, err := c.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: []ec2types.Filter{filter("attachment.vpc-id", vpcID)}})
	if err != nil || len(igws.InternetGateways) != 1 || len(igws.InternetGateways[0].Attachments) != 1 {
		t.Fatalf("DescribeInternetGateways: %v %+v", err, igws)
	}
	igw := aws.ToString(igws.InternetGateways[0].InternetGatewayId)
	main, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{filter("vpc-id", vpcID), filter("association.main", "true")}})
	if err != nil || len(main.RouteTables) != 1 {
		t.Fatalf("main route table: %v %+v", err, main)
	}
	routes := map[string]ec2types.Route{}
	for _, r := range main.RouteTables[0].Routes {
		routes[aws.ToString(r.DestinationCidrBlock)] = r
	}
	if r := routes["0.0.0.0/0"]; aws.ToString(r.GatewayId) != igw || r.State != ec2types.RouteStateActive {
		t.Errorf("0.0.0.0/0 → %s (%s), want %s active", aws.ToString(r.GatewayId), r.State, igw)
	}
	if r := routes["172.31.0.0/16"]; aws.ToString(r.GatewayId) != "local" {
		t.Errorf("no local route: %+v", routes)
	}
	if !aws.ToBool(main.RouteTables[0].Associations[0].Main) {
		t.Error("the main association is not marked main")
	}
	sn, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	if err != nil {
		t.Fatal(err)
	}
	subnet := aws.ToString(sn.Subnets[0].SubnetId)
	explicit, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{filter("association.subnet-id", subnet)}})
	if err != nil || len(explicit.RouteTables) != 0 {
		t.Errorf("association.subnet-id of a subnet on the main table: %v %+v", err, explicit.RouteTables)
	}
	if _, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{filter("no-such-filter", "x")}}); errCode(err) != "InvalidParameterValue" {
		t.Errorf("unknown filter: %v", err)
	}
}

// TestPrivateSubnetWithNATAndEndpoints builds what a private builder subnet
// needs: its own route table (no internet route), then a NAT gateway
// (pending, then available) and a route to it, and interface endpoints.
func TestPrivateSubnetWithNATAndEndpoints(t *testing.T) {
	ts := newTestSim(t, Options{})
	ctx := context.Background()
	c := ec2.NewFromConfig(ts.Cfg)
	sn, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	if err != nil {
		t.Fatal(err)
	}
	private, public := sn.Subnets[0], sn.Subnets[1]
	vpcID := aws.ToString(private.VpcId)
	rt, err := c.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(vpcID), TagSpecifications: []ec2types.TagSpecification{
		{ResourceType: ec2types.ResourceTypeRouteTable, Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String("private")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	rtID := aws.ToString(rt.RouteTable.RouteTableId)
	if len(rt.RouteTable.Routes) != 1 || aws.ToString(rt.RouteTable.Routes[0].GatewayId) != "local" {
		t.Errorf("a new route table has only the local route: %+v", rt.RouteTable.Routes)
	}
	assoc, err := c.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: aws.String(rtID), SubnetId: private.SubnetId})
	if err != nil || !strings.HasPrefix(aws.ToString(assoc.AssociationId), "rtbassoc-") {
		t.Fatalf("AssociateRouteTable: %v", err)
	}
	if _, err := c.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: aws.String(rtID), SubnetId: private.SubnetId}); errCode(err) != "Resource.AlreadyAssociated" {
		t.Errorf("second association: %v", err)
	}
	got, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{filter("association.subnet-id", aws.ToString(private.SubnetId))}})
	if err != nil || len(got.RouteTables) != 1 || aws.ToString(got.RouteTables[0].RouteTableId) != rtID {
		t.Fatalf("the private subnet's table: %v %+v", err, got)
	}

	nat, err := c.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: public.SubnetId})
	if err != nil || nat.NatGateway.State != ec2types.NatGatewayStatePending {
		t.Fatalf("CreateNatGateway: %v %+v", err, nat)
	}
	natID := aws.ToString(nat.NatGateway.NatGatewayId)
	if _, err := c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(rtID), DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String(natID)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(rtID), DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String(natID)}); errCode(err) != "RouteAlreadyExists" {
		t.Errorf("duplicate route: %v", err)
	}
	ts.Advance(natPending)
	nats, err := c.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{Filter: []ec2types.Filter{filter("vpc-id", vpcID), filter("state", "available")}})
	if err != nil || len(nats.NatGateways) != 1 || aws.ToString(nats.NatGateways[0].SubnetId) != aws.ToString(public.SubnetId) {
		t.Fatalf("DescribeNatGateways: %v %+v", err, nats)
	}
	withNAT, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{rtID}})
	if err != nil || len(withNAT.RouteTables[0].Routes) != 2 || aws.ToString(withNAT.RouteTables[0].Routes[1].NatGatewayId) != natID {
		t.Fatalf("route to the NAT gateway: %v %+v", err, withNAT)
	}

	svc := "com.amazonaws.us-east-1.ssm"
	ep, err := c.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{VpcId: aws.String(vpcID), ServiceName: aws.String(svc),
		VpcEndpointType: ec2types.VpcEndpointTypeInterface, SubnetIds: []string{aws.ToString(private.SubnetId)}})
	// The API reference's enum says "Pending"/"Available"; AWS answers
	// them in lower case (its documented examples), which is what the
	// simulator sends: compare without case.
	if err != nil || !strings.EqualFold(string(ep.VpcEndpoint.State), "pending") || !aws.ToBool(ep.VpcEndpoint.PrivateDnsEnabled) {
		t.Fatalf("CreateVpcEndpoint: %v %+v", err, ep)
	}
	if _, err := c.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{VpcId: aws.String(vpcID), ServiceName: aws.String("com.amazonaws.eu-west-1.ssm")}); errCode(err) != "InvalidServiceName" {
		t.Errorf("an endpoint of another region's service: %v", err)
	}
	ts.Advance(endpointPending)
	eps, err := c.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{Filters: []ec2types.Filter{filter("vpc-id", vpcID), filter("service-name", svc)}})
	if err != nil || len(eps.VpcEndpoints) != 1 || !strings.EqualFold(string(eps.VpcEndpoints[0].State), "available") ||
		eps.VpcEndpoints[0].VpcEndpointType != ec2types.VpcEndpointTypeInterface || len(eps.VpcEndpoints[0].SubnetIds) != 1 {
		t.Fatalf("DescribeVpcEndpoints: %v %+v", err, eps)
	}
}

// TestDeleteLaunchTemplate deletes a template with its versions; a group
// that used it can no longer launch.
func TestDeleteLaunchTemplate(t *testing.T) {
	ts := newTestSim(t, Options{})
	ctx := context.Background()
	c := ec2.NewFromConfig(ts.Cfg)
	imgs, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}})
	if err != nil {
		t.Fatal(err)
	}
	lt, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("gone"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: imgs.Images[0].ImageId}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateName: aws.String("gone")})
	if err != nil || aws.ToString(out.LaunchTemplate.LaunchTemplateId) != aws.ToString(lt.LaunchTemplate.LaunchTemplateId) {
		t.Fatalf("DeleteLaunchTemplate: %v %+v", err, out)
	}
	if _, err := c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{aws.ToString(lt.LaunchTemplate.LaunchTemplateId)}}); errCode(err) != "InvalidLaunchTemplateId.NotFound" {
		t.Errorf("describe after delete: %v", err)
	}
	if _, err := c.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId}); errCode(err) != "InvalidLaunchTemplateId.NotFound" {
		t.Errorf("second delete: %v", err)
	}
}
