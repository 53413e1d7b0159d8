// Command gentemplate writes deploy/template.json from deploy.BuildTemplate
// (run by `go generate ./deploy`, from the deploy directory).
package main

import (
	"fmt"
	"os"

	"github.com/amiswap/amiswap/deploy"
)

func main() {
	b, err := deploy.BuildTemplate()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gentemplate:", err)
		os.Exit(1)
	}
	if err := os.WriteFile("template.json", b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gentemplate:", err)
		os.Exit(1)
	}
}
