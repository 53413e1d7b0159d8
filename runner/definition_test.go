package runner

import (
	"testing"

	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/workflow"
)

// TestDefinitionsParse: the deployed definition (with placeholders) and the
// local one both pass the executor's validation, which refuses anything it
// does not implement.
func TestDefinitionsParse(t *testing.T) {
	for name, def := range map[string][]byte{"deployed": workflow.Definition(), "local": workflow.LocalDefinition()} {
		if _, err := asl.Parse(def); err != nil {
			t.Errorf("%s definition: %v", name, err)
		}
	}
}
