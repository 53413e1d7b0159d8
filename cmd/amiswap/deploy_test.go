package main

import (
	"strings"
	"testing"

	"github.com/amiswap/amiswap/deploy"
)

func TestTemplatePrintsTheEmbeddedTemplate(t *testing.T) {
	code, out, _ := run(t, nil, "template")
	if code != 0 || out != string(deploy.Template()) {
		t.Fatalf("exit %d; output differs from the embedded template", code)
	}
}

func TestDeployUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"deploy"}, "--artifact-bucket is required"},
		{[]string{"deploy", "--stack-name", "", "--delete"}, "--stack-name is required"},
		{[]string{"deploy", "--artifact-bucket", "b", "extra"}, "unexpected argument"},
		// BuilderRoleArns is required: refused before any AWS call (no
		// region or credentials are configured in this test).
		{[]string{"deploy", "--artifact-bucket", "b"}, "--builder-role-arns is required"},
		{[]string{"deploy", "--artifact-bucket", "b", "--builder-role-arns", ""}, "--builder-role-arns is required"},
		{[]string{"deploy", "--artifact-bucket", "b", "--builder-role-arns", "my-role"}, "is not an IAM role ARN"},
		{[]string{"deploy", "--artifact-bucket", "b", "--builder-role-arns", "arn:aws:iam::123456789012:role/r", "--stack-name", "1bad"}, "stack name"},
	} {
		code, _, stderr := run(t, nil, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", c.args, code, stderr, c.want)
		}
	}
}
