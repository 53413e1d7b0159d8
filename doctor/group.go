package doctor

// This file holds the checks of one group: its launch template and image,
// what the stack's roles must be allowed for it (iam:SimulatePrincipalPolicy
// with the group's real ARNs and the context keys AWS supplies), the KMS
// keys of its image, the builder's network path to Systems Manager, and
// its instances' SSM agents.

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/amiswap/amiswap"
	"github.com/aws/aws-sdk-go-v2/aws"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// groupInfo is what the checks of one group share.
type groupInfo struct {
	name, arn       string
	g               asgtypes.AutoScalingGroup
	ltID, ltVersion string
	data            *ec2types.ResponseLaunchTemplateData
	image           *ec2types.Image
	subnet          string   // the builder's
	groups          []string // the builder's security groups
	profileARN      string   // the builder's instance profile
	profileRole     string   // the role inside it
	templateRole    string   // the role of the launch template's profile
	instances       []string // InService and Pending instances
}

func (r *run) group(ctx context.Context, g asgtypes.AutoScalingGroup) {
	gi := &groupInfo{name: aws.ToString(g.AutoScalingGroupName), arn: aws.ToString(g.AutoScalingGroupARN), g: g}
	for _, in := range g.Instances {
		if in.LifecycleState == asgtypes.LifecycleStateInService || in.LifecycleState == asgtypes.LifecycleStatePending {
			gi.instances = append(gi.instances, aws.ToString(in.InstanceId))
		}
	}
	if r.launchTemplate(ctx, gi) {
		r.builderSpec(ctx, gi)
		r.iamLaunch(ctx, gi)
		r.iamUpdateGroup(ctx, gi)
		r.kmsKeys(ctx, gi)
	} else {
		for _, id := range []string{CheckIAMLaunch, CheckIAMUpdateGroup, CheckKMS} {
			r.fail(id, gi.name, "not checked: the group has no usable launch template (see "+CheckLaunchTemplate+")", "fix "+CheckLaunchTemplate+" first")
		}
		gi.subnet = firstSubnet(g)
		if s := r.param("BuilderSubnetId"); s != "" {
			gi.subnet = s
		}
	}
	r.builderNetwork(ctx, gi)
	r.ssmManaged(ctx, gi)
	r.backupPlan(ctx, gi)
}

func (r *run) param(name string) string {
	if r.stack == nil {
		return ""
	}
	return r.stack.params[name]
}

func firstSubnet(g asgtypes.AutoScalingGroup) string {
	s, _, _ := strings.Cut(aws.ToString(g.VPCZoneIdentifier), ",")
	return strings.TrimSpace(s)
}

// launchTemplate checks that the group launches from a launch template
// whose version and image resolve (the checks launch-template and image).
func (r *run) launchTemplate(ctx context.Context, gi *groupInfo) bool {
	g := gi.g
	spec := g.LaunchTemplate
	if spec == nil && g.MixedInstancesPolicy != nil && g.MixedInstancesPolicy.LaunchTemplate != nil {
		spec = g.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification
	}
	if spec == nil {
		detail := "the group has no launch template"
		if lc := aws.ToString(g.LaunchConfigurationName); lc != "" {
			detail = "the group uses the launch configuration " + lc + ", not a launch template: amiswap skips it"
		}
		r.fail(CheckLaunchTemplate, gi.name, detail,
			"migrate the group to a launch template (EC2 Auto Scaling user guide, \"Migrate your Auto Scaling groups to launch templates\"), then point the group at it")
		r.fail(CheckImage, gi.name, "not checked: no launch template", "fix "+CheckLaunchTemplate+" first")
		return false
	}
	gi.ltID, gi.ltVersion = aws.ToString(spec.LaunchTemplateId), aws.ToString(spec.Version)
	if gi.ltVersion == "" {
		gi.ltVersion = "$Default"
	}
	in := &ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{gi.ltVersion}}
	if gi.ltID != "" {
		in.LaunchTemplateId = aws.String(gi.ltID)
	} else {
		in.LaunchTemplateName = spec.LaunchTemplateName
	}
	out, err := r.c.EC2.DescribeLaunchTemplateVersions(ctx, in)
	if err != nil || len(out.LaunchTemplateVersions) == 0 {
		r.fail(CheckLaunchTemplate, gi.name, fmt.Sprintf("launch template %s version %s cannot be read: %v", gi.ltID+aws.ToString(spec.LaunchTemplateName), gi.ltVersion, err),
			"point the group at an existing launch template version")
		r.fail(CheckImage, gi.name, "not checked: the launch template cannot be read", "fix "+CheckLaunchTemplate+" first")
		return false
	}
	v := out.LaunchTemplateVersions[0]
	gi.ltID, gi.data = aws.ToString(v.LaunchTemplateId), v.LaunchTemplateData
	r.pass(CheckLaunchTemplate, gi.name, fmt.Sprintf("launch template %s (%s) version %s (now %d)", gi.ltID, aws.ToString(v.LaunchTemplateName), gi.ltVersion, aws.ToInt64(v.VersionNumber)))

	imageID := aws.ToString(gi.data.ImageId)
	switch {
	case imageID == "":
		r.fail(CheckImage, gi.name, "the launch template version names no image", "give the launch template an ImageId")
		return false
	case strings.HasPrefix(imageID, "resolve:ssm:"):
		r.fail(CheckImage, gi.name, "the launch template's image is the Systems Manager parameter "+imageID+": amiswap writes an AMI id into a new version",
			"use an AMI id in the launch template")
		return false
	}
	imgs, err := r.c.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{imageID}})
	if err != nil || len(imgs.Images) == 0 {
		r.fail(CheckImage, gi.name, fmt.Sprintf("image %s does not resolve: %v", imageID, err), "point the launch template at an existing AMI")
		return false
	}
	gi.image = &imgs.Images[0]
	if gi.image.State != ec2types.ImageStateAvailable {
		r.fail(CheckImage, gi.name, fmt.Sprintf("image %s is %s", imageID, gi.image.State), "point the launch template at an available AMI")
		return false
	}
	r.pass(CheckImage, gi.name, fmt.Sprintf("image %s (%s) is available", imageID, aws.ToString(gi.image.Name)))
	return true
}

// builderSpec works out what the builder launches with, as LaunchBuilder
// does: the stack's builder overrides, else the group's first subnet and
// the launch template's security groups and instance profile.
func (r *run) builderSpec(ctx context.Context, gi *groupInfo) {
	d := gi.data
	gi.subnet = firstSubnet(gi.g)
	gi.groups = append(gi.groups, d.SecurityGroupIds...)
	for _, ni := range d.NetworkInterfaces {
		if gi.subnet == "" {
			gi.subnet = aws.ToString(ni.SubnetId)
		}
		gi.groups = append(gi.groups, ni.Groups...)
	}
	if s := r.param("BuilderSubnetId"); s != "" {
		gi.subnet = s
	}
	if sgs := r.param("BuilderSecurityGroupIds"); sgs != "" {
		gi.groups = strings.Split(sgs, ",")
	}
	ltProfile := ""
	if p := d.IamInstanceProfile; p != nil {
		ltProfile = aws.ToString(p.Arn)
		if ltProfile == "" && aws.ToString(p.Name) != "" {
			ltProfile = fmt.Sprintf("arn:%s:iam::%s:instance-profile/%s", r.partition, r.account, aws.ToString(p.Name))
		}
	}
	gi.profileARN = ltProfile
	if p := r.param("BuilderInstanceProfile"); p != "" {
		gi.profileARN = p
		if !strings.HasPrefix(p, "arn:") {
			gi.profileARN = fmt.Sprintf("arn:%s:iam::%s:instance-profile/%s", r.partition, r.account, p)
		}
	}
	gi.profileRole = r.profileRole(ctx, gi.profileARN)
	if ltProfile == gi.profileARN {
		gi.templateRole = gi.profileRole
	} else {
		gi.templateRole = r.profileRole(ctx, ltProfile)
	}
}

// profileRole is the ARN of the role inside an instance profile (its name
// need not be the role's), or "" when there is no profile or it cannot be
// read.
func (r *run) profileRole(ctx context.Context, profileARN string) string {
	if profileARN == "" {
		return ""
	}
	name := profileARN[strings.LastIndexByte(profileARN, '/')+1:]
	out, err := r.c.IAM.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
	if err != nil || out.InstanceProfile == nil || len(out.InstanceProfile.Roles) == 0 {
		return ""
	}
	return aws.ToString(out.InstanceProfile.Roles[0].Arn)
}

// ask is one question to IAM: may the role do action on these resources
// with this context?
type ask struct {
	action    string
	resources []string
	context   map[string]string
}

// simulate asks IAM about each question for a role and returns the denied
// action/resource pairs.
func (r *run) simulate(ctx context.Context, roleARN string, asks []ask) ([]string, error) {
	var denied []string
	for _, a := range asks {
		in := &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String(roleARN), ActionNames: []string{a.action}, ResourceArns: a.resources}
		keys := make([]string, 0, len(a.context))
		for k := range a.context {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			in.ContextEntries = append(in.ContextEntries, iamtypes.ContextEntry{ContextKeyName: aws.String(k), ContextKeyType: iamtypes.ContextKeyTypeEnumString, ContextKeyValues: []string{a.context[k]}})
		}
		out, err := r.c.IAM.SimulatePrincipalPolicy(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("iam:SimulatePrincipalPolicy %s %s: %w", roleARN, a.action, err)
		}
		for _, e := range out.EvaluationResults {
			if e.EvalDecision != iamtypes.PolicyEvaluationDecisionTypeAllowed {
				denied = append(denied, aws.ToString(e.EvalActionName)+" on "+aws.ToString(e.EvalResourceName))
			}
		}
	}
	return denied, nil
}

func (r *run) ec2ARN(resource string) string {
	return fmt.Sprintf("arn:%s:ec2:%s:%s:%s", r.partition, r.region, r.account, resource)
}

func (r *run) imageARN(id string) string {
	return fmt.Sprintf("arn:%s:ec2:%s::image/%s", r.partition, r.region, id)
}

// launchAsks are the questions of launching an instance of the group's
// network from image with the given profile role: RunInstances on every
// resource of the request, CreateTags of what it tags (ec2:CreateAction
// RunInstances), PassRole of the role inside the profile ("Grant IAM
// permissions required for Amazon EC2 launch templates" / "Use an IAM
// role to grant permissions to applications running on Amazon EC2
// instances": the caller passes the role, not the profile).
func (r *run) launchAsks(gi *groupInfo, extra []string, runContext map[string]string, tags bool, role string) []ask {
	res := []string{r.ec2ARN("instance/*"), r.ec2ARN("volume/*"), r.ec2ARN("network-interface/*"), r.imageARN(aws.ToString(gi.image.ImageId))}
	if gi.subnet != "" {
		res = append(res, r.ec2ARN("subnet/"+gi.subnet))
	}
	for _, sg := range gi.groups {
		res = append(res, r.ec2ARN("security-group/"+strings.TrimSpace(sg)))
	}
	res = append(res, extra...)
	asks := []ask{{action: "ec2:RunInstances", resources: res, context: runContext}}
	if tags {
		asks = append(asks, ask{action: "ec2:CreateTags", resources: []string{r.ec2ARN("instance/*"), r.ec2ARN("volume/*")},
			context: map[string]string{"ec2:CreateAction": "RunInstances"}})
	}
	if role != "" {
		asks = append(asks, ask{action: "iam:PassRole", resources: []string{role}, context: map[string]string{"iam:PassedToService": "ec2.amazonaws.com"}})
	}
	return asks
}

// iamLaunch asks IAM whether the Builder role may launch this group's
// builder: tagged amiswap:role=builder, in its subnet and security groups,
// from an image, passing the profile's role.
func (r *run) iamLaunch(ctx context.Context, gi *groupInfo) {
	if r.stack == nil {
		r.fail(CheckIAMLaunch, gi.name, "not checked: no stack", "fix "+CheckStack+" first")
		return
	}
	if gi.profileARN != "" && gi.profileRole == "" {
		r.fail(CheckIAMLaunch, gi.name, "instance profile "+gi.profileARN+" does not exist or holds no role: the builder cannot launch with it",
			"create the instance profile with a role that has AmazonSSMManagedInstanceCore, or give the stack's BuilderInstanceProfile")
		return
	}
	role := r.stack.roles["Builder"]
	asks := r.launchAsks(gi, nil, map[string]string{"aws:RequestTag/" + amiswap.TagRole: amiswap.RoleBuilder, "aws:TagKeys": amiswap.TagRole}, true, gi.profileRole)
	denied, err := r.simulate(ctx, role, asks)
	switch {
	case err != nil:
		r.fail(CheckIAMLaunch, gi.name, err.Error(), "allow the caller iam:SimulatePrincipalPolicy on the stack's roles")
	case len(denied) > 0:
		fix := "update the stack (amiswap deploy) so that the Builder role allows them"
		if gi.profileRole != "" && anyHas(denied, "iam:PassRole") {
			fix = "add " + gi.profileRole + " to the stack's BuilderRoleArns parameter (amiswap deploy --builder-role-arns), or " + fix
		}
		r.fail(CheckIAMLaunch, gi.name, "the Builder role "+role+" is denied "+strings.Join(denied, "; "), fix)
	default:
		detail := fmt.Sprintf("the Builder role may launch from %s into %s", aws.ToString(gi.image.ImageId), gi.subnet)
		if gi.profileRole != "" {
			detail += " and pass " + gi.profileRole
		}
		r.pass(CheckIAMLaunch, gi.name, detail)
	}
}

func anyHas(list []string, s string) bool {
	for _, x := range list {
		if strings.Contains(x, s) {
			return true
		}
	}
	return false
}

// iamUpdateGroup asks IAM whether UpdateAsg and Compensate may update the
// group: Auto Scaling checks, on UpdateAutoScalingGroup and
// StartInstanceRefresh with a launch template, the caller's
// ec2:RunInstances on the template, ec2:CreateTags when it has
// TagSpecifications and iam:PassRole for its profile's role ("Control
// Amazon EC2 launch template usage in Auto Scaling groups", EC2 Auto
// Scaling user guide).
func (r *run) iamUpdateGroup(ctx context.Context, gi *groupInfo) {
	if r.stack == nil {
		r.fail(CheckIAMUpdateGroup, gi.name, "not checked: no stack", "fix "+CheckStack+" first")
		return
	}
	tagged := len(gi.data.TagSpecifications) > 0
	ltARN := r.ec2ARN("launch-template/" + gi.ltID)
	groupCtx := map[string]string{"aws:ResourceTag/" + amiswap.TagEnabled: groupTag(gi.g, amiswap.TagEnabled)}
	var problems []string
	for _, fn := range []string{"UpdateAsg", "Compensate"} {
		role := r.stack.roles[fn]
		asks := []ask{{action: "autoscaling:UpdateAutoScalingGroup", resources: []string{gi.arn}, context: groupCtx}}
		if fn == "UpdateAsg" && groupTag(gi.g, amiswap.TagRefresh) == "rolling" {
			asks = append(asks, ask{action: "autoscaling:StartInstanceRefresh", resources: []string{gi.arn}, context: groupCtx})
		}
		asks = append(asks, r.launchAsks(gi, []string{ltARN}, nil, tagged, gi.templateRole)...)
		denied, err := r.simulate(ctx, role, asks)
		if err != nil {
			r.fail(CheckIAMUpdateGroup, gi.name, err.Error(), "allow the caller iam:SimulatePrincipalPolicy on the stack's roles")
			return
		}
		if len(denied) > 0 {
			problems = append(problems, "the "+fn+" role "+role+" is denied "+strings.Join(denied, "; "))
		}
	}
	if len(problems) > 0 {
		fix := "update the stack (amiswap deploy) so that the UpdateAsg and Compensate roles allow them"
		if groupTag(gi.g, amiswap.TagEnabled) != "true" {
			fix = "tag the group " + amiswap.TagEnabled + "=true (the roles change opted-in groups only), or " + fix
		}
		if gi.templateRole != "" && anyHas(problems, "iam:PassRole") {
			fix = "add " + gi.templateRole + " to the stack's BuilderRoleArns parameter, or " + fix
		}
		r.fail(CheckIAMUpdateGroup, gi.name, strings.Join(problems, "; "), fix)
		return
	}
	detail := "UpdateAsg and Compensate may update the group with launch template " + gi.ltID
	if tagged {
		detail += " (tagging what it launches)"
	}
	if gi.templateRole != "" {
		detail += " and pass " + gi.templateRole
	}
	r.pass(CheckIAMUpdateGroup, gi.name, detail)
}

// kmsKeys checks that the roles that launch, image or update the group
// may use the customer managed KMS keys of its image's snapshots, through
// EC2 ("Requirements for Amazon EBS encryption", EBS user guide:
// kms:CreateGrant, kms:Decrypt, kms:DescribeKey,
// kms:GenerateDataKeyWithoutPlaintext, kms:ReEncrypt*). AWS managed keys
// (alias/aws/ebs) need nothing.
func (r *run) kmsKeys(ctx context.Context, gi *groupInfo) {
	keys := map[string]bool{}
	for _, m := range gi.image.BlockDeviceMappings {
		if m.Ebs != nil && aws.ToBool(m.Ebs.Encrypted) && aws.ToString(m.Ebs.KmsKeyId) != "" {
			keys[aws.ToString(m.Ebs.KmsKeyId)] = true
		}
	}
	for _, m := range gi.data.BlockDeviceMappings {
		if m.Ebs != nil && aws.ToString(m.Ebs.KmsKeyId) != "" {
			keys[aws.ToString(m.Ebs.KmsKeyId)] = true
		}
	}
	var customer []string
	for k := range keys {
		out, err := r.c.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(k)})
		switch {
		case err == nil && out.KeyMetadata != nil && out.KeyMetadata.KeyManager == kmstypes.KeyManagerTypeAws:
			continue
		case err == nil && out.KeyMetadata != nil:
			customer = append(customer, aws.ToString(out.KeyMetadata.Arn))
		default:
			customer = append(customer, k)
		}
	}
	sort.Strings(customer)
	if len(customer) == 0 {
		r.pass(CheckKMS, gi.name, "the image's volumes use no customer managed KMS key")
		return
	}
	if r.stack == nil {
		r.fail(CheckKMS, gi.name, "not checked: no stack (keys "+strings.Join(customer, ", ")+")", "fix "+CheckStack+" first")
		return
	}
	via := map[string]string{"kms:ViaService": "ec2." + r.region + ".amazonaws.com"}
	grant := map[string]string{"kms:ViaService": via["kms:ViaService"], "kms:GrantIsForAWSResource": "true"}
	var problems []string
	for _, fn := range []string{"Builder", "Image", "UpdateAsg", "Compensate"} {
		role := r.stack.roles[fn]
		if role == "" {
			continue
		}
		var asks []ask
		for _, a := range []string{"kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"} {
			asks = append(asks, ask{action: a, resources: customer, context: via})
		}
		asks = append(asks, ask{action: "kms:CreateGrant", resources: customer, context: grant})
		denied, err := r.simulate(ctx, role, asks)
		if err != nil {
			r.fail(CheckKMS, gi.name, err.Error(), "allow the caller iam:SimulatePrincipalPolicy on the stack's roles")
			return
		}
		if len(denied) > 0 {
			problems = append(problems, "the "+fn+" role is denied "+strings.Join(denied, "; "))
		}
	}
	if len(problems) > 0 {
		r.fail(CheckKMS, gi.name, "the image's volumes are encrypted with "+strings.Join(customer, ", ")+": "+strings.Join(problems, "; "),
			"add "+strings.Join(customer, ",")+" to the stack's KmsKeyArns parameter and update the stack (amiswap deploy)")
		return
	}
	r.pass(CheckKMS, gi.name, "the roles may use "+strings.Join(customer, ", ")+" through EC2")
}

// builderNetwork checks that the builder's subnet reaches Systems
// Manager. The builder gets no public IP, so a route to an internet
// gateway is not enough: it needs a route to a NAT gateway, or VPC
// interface endpoints for ssm, ssmmessages and ec2messages ("Use VPC
// endpoints to improve the security of EC2 instances", Systems Manager
// user guide).
func (r *run) builderNetwork(ctx context.Context, gi *groupInfo) {
	if gi.subnet == "" {
		r.fail(CheckBuilderNetwork, gi.name, "the group names no subnet for the builder", "give the group subnets (VPCZoneIdentifier) or the stack's BuilderSubnetId")
		return
	}
	sn, err := r.c.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{gi.subnet}})
	if err != nil || len(sn.Subnets) == 0 {
		r.fail(CheckBuilderNetwork, gi.name, fmt.Sprintf("subnet %s cannot be read: %v", gi.subnet, err), "give the builder an existing subnet (the group's first, or BuilderSubnetId)")
		return
	}
	vpc := aws.ToString(sn.Subnets[0].VpcId)
	rt, err := r.routeTable(ctx, gi.subnet, vpc)
	if err != nil {
		r.fail(CheckBuilderNetwork, gi.name, err.Error(), "allow the caller ec2:DescribeRouteTables")
		return
	}
	igw := ""
	for _, rte := range rt.Routes {
		if aws.ToString(rte.DestinationCidrBlock) != "0.0.0.0/0" || rte.State != ec2types.RouteStateActive {
			continue
		}
		if nat := aws.ToString(rte.NatGatewayId); nat != "" {
			r.pass(CheckBuilderNetwork, gi.name, fmt.Sprintf("subnet %s routes 0.0.0.0/0 to the NAT gateway %s (route table %s)", gi.subnet, nat, aws.ToString(rt.RouteTableId)))
			return
		}
		if strings.HasPrefix(aws.ToString(rte.GatewayId), "igw-") {
			igw = aws.ToString(rte.GatewayId)
		}
	}
	eps, err := r.c.EC2.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpc}}}})
	if err != nil {
		r.fail(CheckBuilderNetwork, gi.name, "ec2:DescribeVpcEndpoints: "+err.Error(), "allow the caller ec2:DescribeVpcEndpoints")
		return
	}
	var missing []string
	for _, svc := range []string{"ssm", "ssmmessages", "ec2messages"} {
		name := "com.amazonaws." + r.region + "." + svc
		found := false
		for _, ep := range eps.VpcEndpoints {
			// The API reference's enum is "Available"; AWS writes it in
			// lower case: compare without case.
			if aws.ToString(ep.ServiceName) == name && ep.VpcEndpointType == ec2types.VpcEndpointTypeInterface &&
				strings.EqualFold(string(ep.State), "available") && aws.ToBool(ep.PrivateDnsEnabled) {
				found = true
			}
		}
		if !found {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		r.pass(CheckBuilderNetwork, gi.name, fmt.Sprintf("subnet %s reaches Systems Manager through the interface endpoints of VPC %s", gi.subnet, vpc))
		return
	}
	detail := fmt.Sprintf("subnet %s (route table %s) has no route to a NAT gateway and VPC %s lacks the interface endpoints %s", gi.subnet, aws.ToString(rt.RouteTableId), vpc, strings.Join(missing, ", "))
	if igw != "" {
		detail += "; its route to the internet gateway " + igw + " does not serve the builder, which gets no public IP"
	}
	r.fail(CheckBuilderNetwork, gi.name, detail,
		"route the subnet's 0.0.0.0/0 to a NAT gateway, or create interface endpoints (private DNS on) for ssm, ssmmessages and ec2messages in the VPC, or give the stack a BuilderSubnetId that has one of them")
}

// routeTable is the subnet's route table: its explicit association, else
// its VPC's main table.
func (r *run) routeTable(ctx context.Context, subnet, vpc string) (*ec2types.RouteTable, error) {
	for _, filters := range [][]ec2types.Filter{
		{{Name: aws.String("association.subnet-id"), Values: []string{subnet}}},
		{{Name: aws.String("vpc-id"), Values: []string{vpc}}, {Name: aws.String("association.main"), Values: []string{"true"}}},
	} {
		out, err := r.c.EC2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: filters})
		if err != nil {
			return nil, fmt.Errorf("ec2:DescribeRouteTables: %w", err)
		}
		if len(out.RouteTables) > 0 {
			return &out.RouteTables[0], nil
		}
	}
	return nil, fmt.Errorf("subnet %s has no route table", subnet)
}

// ssmManaged checks that the group's instances are managed by Systems
// Manager with their agent online: a backup of one is a builder whose agent
// must come online to be generalized.
func (r *run) ssmManaged(ctx context.Context, gi *groupInfo) {
	fix := "install and start the SSM agent, give the instances an instance profile whose role has AmazonSSMManagedInstanceCore, and let their subnet reach Systems Manager"
	if len(gi.instances) == 0 {
		r.fail(CheckSSMManaged, gi.name, "the group has no instance in service to check", "give the group capacity, then run doctor again")
		return
	}
	online := map[string]bool{}
	p := ssm.NewDescribeInstanceInformationPaginator(r.c.SSM, &ssm.DescribeInstanceInformationInput{
		Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("InstanceIds"), Values: gi.instances}}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			r.fail(CheckSSMManaged, gi.name, "ssm:DescribeInstanceInformation: "+err.Error(), "allow the caller ssm:DescribeInstanceInformation")
			return
		}
		for _, in := range page.InstanceInformationList {
			if in.PingStatus == ssmtypes.PingStatusOnline {
				online[aws.ToString(in.InstanceId)] = true
			}
		}
	}
	var off []string
	for _, id := range gi.instances {
		if !online[id] {
			off = append(off, id)
		}
	}
	if len(off) > 0 {
		r.fail(CheckSSMManaged, gi.name, fmt.Sprintf("%d of %d instances have no SSM agent online: %s", len(off), len(gi.instances), strings.Join(off, ", ")), fix)
		return
	}
	r.pass(CheckSSMManaged, gi.name, fmt.Sprintf("the SSM agent of all %d instances is online", len(gi.instances)))
}
