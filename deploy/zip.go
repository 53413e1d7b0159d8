package deploy

// This file writes the Lambda deployment package: a zip whose bytes depend
// only on the files' contents (fixed modification times, sorted entries,
// fixed modes), so that the same bootstrap always gives the same zip and
// the same S3 key.

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"time"
)

// ZipEntry is one file of a deployment package.
type ZipEntry struct {
	Name string
	Data []byte
	Mode fs.FileMode // 0755 for the bootstrap
}

// zipTime is the modification time of every entry (the zip format's
// epoch, so that no build time leaks into the package).
var zipTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// WriteZip writes entries to w as a reproducible zip archive.
func WriteZip(w io.Writer, entries []ZipEntry) error {
	sorted := append([]ZipEntry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	zw := zip.NewWriter(w)
	for i, e := range sorted {
		if i > 0 && sorted[i-1].Name == e.Name {
			return fmt.Errorf("zip: duplicate entry %q", e.Name)
		}
		h := &zip.FileHeader{Name: e.Name, Method: zip.Deflate, Modified: zipTime}
		h.SetMode(e.Mode.Perm())
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return fmt.Errorf("zip %s: %w", e.Name, err)
		}
		if _, err := fw.Write(e.Data); err != nil {
			return fmt.Errorf("zip %s: %w", e.Name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("zip: %w", err)
	}
	return nil
}

// LambdaZip returns the deployment package of a bootstrap executable.
func LambdaZip(bootstrap []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := WriteZip(&buf, []ZipEntry{{Name: "bootstrap", Data: bootstrap, Mode: 0o755}}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ArtifactKey is the S3 key of a deployment package: its SHA-256, so that
// a changed binary gets a new key (and CloudFormation sees the change) and
// an unchanged one is not uploaded twice.
func ArtifactKey(zipData []byte) string {
	sum := sha256.Sum256(zipData)
	return "amiswap/amiswap-lambda-" + hex.EncodeToString(sum[:]) + ".zip"
}
