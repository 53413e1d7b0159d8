package deploy

import (
	"archive/zip"
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestLambdaZipIsReproducible(t *testing.T) {
	bin := bytes.Repeat([]byte("\x7fELF bootstrap "), 1000)
	a, err := LambdaZip(bin)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LambdaZip(append([]byte(nil), bin...))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two packages of the same bootstrap differ")
	}
	if ArtifactKey(a) != ArtifactKey(b) || !strings.HasPrefix(ArtifactKey(a), "amiswap/amiswap-lambda-") {
		t.Fatalf("artifact key %q", ArtifactKey(a))
	}
	c, _ := LambdaZip(append(bin, '!'))
	if ArtifactKey(c) == ArtifactKey(a) {
		t.Fatal("a changed bootstrap kept the same artifact key")
	}

	zr, err := zip.NewReader(bytes.NewReader(a), int64(len(a)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" {
		t.Fatalf("entries %v", zr.File)
	}
	f := zr.File[0]
	if f.Mode().Perm() != 0o755 || !f.Modified.Equal(zipTime) {
		t.Errorf("bootstrap mode %v modified %v, want 0755 at %v", f.Mode(), f.Modified, zipTime)
	}
	rc, _ := f.Open()
	got, _ := io.ReadAll(rc)
	if !bytes.Equal(got, bin) {
		t.Error("bootstrap content changed in the zip")
	}
}

func TestWriteZipSortsAndRefusesDuplicates(t *testing.T) {
	var buf bytes.Buffer
	err := WriteZip(&buf, []ZipEntry{{Name: "b", Data: []byte("2")}, {Name: "a", Data: []byte("1")}})
	if err != nil {
		t.Fatal(err)
	}
	zr, _ := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if zr.File[0].Name != "a" || zr.File[1].Name != "b" {
		t.Errorf("entries not sorted: %s, %s", zr.File[0].Name, zr.File[1].Name)
	}
	if err := WriteZip(io.Discard, []ZipEntry{{Name: "a"}, {Name: "a"}}); err == nil {
		t.Error("duplicate entries accepted")
	}
}
