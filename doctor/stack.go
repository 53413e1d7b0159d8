package doctor

// This file reads the stack: its status, parameters and outputs, and the
// roles of its functions (DescribeStackResources), as CloudFormation
// reports them in AWS and in the simulator.

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// stackInfo is what the checks use of the stack.
type stackInfo struct {
	name   string
	params map[string]string
	// roles maps a function's logical id prefix (Builder, UpdateAsg, …)
	// to its role's ARN: the template names a function XFunction and its
	// role XRole.
	roles map[string]string
}

func (r *run) stackCheck(ctx context.Context) {
	name := r.opts.StackName
	deploy := fmt.Sprintf("deploy it: amiswap deploy --stack-name %s --artifact-bucket BUCKET --builder-role-arns ROLE_ARN (or give --stack-name)", name)
	out, err := r.c.CFN.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil || len(out.Stacks) == 0 {
		detail := fmt.Sprintf("no stack %s in %s", name, r.region)
		if err != nil && !strings.Contains(err.Error(), "does not exist") {
			detail += ": " + err.Error()
		}
		r.fail(CheckStack, "", detail, deploy)
		return
	}
	st := out.Stacks[0]
	status := string(st.StackStatus)
	info := &stackInfo{name: name, params: map[string]string{}, roles: map[string]string{}}
	for _, p := range st.Parameters {
		info.params[aws.ToString(p.ParameterKey)] = aws.ToString(p.ParameterValue)
	}
	var outputs []string
	for _, o := range st.Outputs {
		outputs = append(outputs, aws.ToString(o.OutputKey)+"="+aws.ToString(o.OutputValue))
	}
	sort.Strings(outputs)
	if !strings.HasSuffix(status, "_COMPLETE") || strings.HasPrefix(status, "DELETE") || strings.HasPrefix(status, "ROLLBACK") {
		r.fail(CheckStack, "", fmt.Sprintf("stack %s is %s", name, status), "fix the stack's last update (see its events), then update it again: amiswap deploy --stack-name "+name)
		return
	}
	res, err := r.c.CFN.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String(name)})
	if err != nil {
		r.fail(CheckStack, "", fmt.Sprintf("stack %s is %s; its resources cannot be read: %v", name, status, err), "allow the caller cloudformation:DescribeStackResources")
		return
	}
	for _, x := range res.StackResources {
		id := aws.ToString(x.LogicalResourceId)
		if aws.ToString(x.ResourceType) != "AWS::IAM::Role" || !strings.HasSuffix(id, "Role") {
			continue
		}
		info.roles[strings.TrimSuffix(id, "Role")] = r.roleARN(ctx, aws.ToString(x.PhysicalResourceId))
	}
	for _, fn := range []string{"Builder", "UpdateAsg", "Compensate"} {
		if info.roles[fn] == "" {
			r.fail(CheckStack, "", fmt.Sprintf("stack %s (%s) has no %sRole: it is not an amiswap stack, or an old one", name, status, fn), "update it: amiswap deploy --stack-name "+name)
			return
		}
	}
	r.stack = info
	r.pass(CheckStack, "", fmt.Sprintf("stack %s %s; outputs %s", name, status, strings.Join(outputs, ", ")))
}

// roleARN is a role's ARN, from IAM (its path included) or, when IAM does
// not answer, built from its name.
func (r *run) roleARN(ctx context.Context, name string) string {
	if out, err := r.c.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)}); err == nil && out.Role != nil {
		return aws.ToString(out.Role.Arn)
	}
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", r.partition, r.account, name)
}
