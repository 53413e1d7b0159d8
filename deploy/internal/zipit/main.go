// Command zipit packages a Lambda bootstrap executable into a reproducible
// zip (see deploy.LambdaZip). It is what scripts/build-lambda.sh runs, so
// that the build needs no zip binary.
//
//	go run ./deploy/internal/zipit -o dist/amiswap-lambda.zip dist/bootstrap
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/amiswap/amiswap/deploy"
)

func main() {
	out := flag.String("o", "dist/amiswap-lambda.zip", "zip file to write")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: zipit -o OUT.zip BOOTSTRAP")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *out); err != nil {
		fmt.Fprintln(os.Stderr, "zipit:", err)
		os.Exit(1)
	}
}

func run(bootstrap, out string) error {
	data, err := os.ReadFile(bootstrap)
	if err != nil {
		return err
	}
	z, err := deploy.LambdaZip(data)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(out, z, 0o644); err != nil {
		return err
	}
	fmt.Printf("%s: %d bytes (bootstrap %d bytes), s3 key %s\n", out, len(z), len(data), deploy.ArtifactKey(z))
	return nil
}
