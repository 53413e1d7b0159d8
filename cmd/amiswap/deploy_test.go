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
	} {
		code, _, stderr := run(t, nil, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", c.args, code, stderr, c.want)
		}
	}
}
