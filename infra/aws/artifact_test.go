package awsinfra

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestZipBootstrap(t *testing.T) {
	a, err := zipBootstrap([]byte("binary"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := zipBootstrap([]byte("binary"))
	if !bytes.Equal(a, b) || ArtifactKey(a) != ArtifactKey(b) {
		t.Error("the same executable zipped twice differs: keys would not be content-addressed")
	}
	c, _ := zipBootstrap([]byte("binary2"))
	if ArtifactKey(a) == ArtifactKey(c) {
		t.Error("different executables share a key")
	}
	zr, err := zip.NewReader(bytes.NewReader(a), int64(len(a)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" || zr.File[0].Mode().Perm()&0o111 == 0 {
		t.Fatalf("zip must hold one executable named bootstrap, has %v", zr.File)
	}
	rc, _ := zr.File[0].Open()
	body, _ := io.ReadAll(rc)
	if string(body) != "binary" {
		t.Errorf("bootstrap = %q", body)
	}
	if k := ArtifactKey(a); !strings.HasPrefix(k, "lambda/") || len(k) != len("lambda/")+64+len(".zip") {
		t.Errorf("key %q is not lambda/<sha256>.zip", k)
	}
}

func TestArtifactBucketName(t *testing.T) {
	for _, c := range []struct{ stack, want string }{
		{"twinedge", "twinedge-artifacts-123456789012-eu-west-2"},
		{"Demo", "demo-artifacts-123456789012-eu-west-2"},
		{strings.Repeat("a", 40), strings.Repeat("a", 63-len("-artifacts-123456789012-eu-west-2")) + "-artifacts-123456789012-eu-west-2"},
	} {
		got := ArtifactBucketName(c.stack, "123456789012", "eu-west-2")
		if got != c.want || len(got) > 63 {
			t.Errorf("ArtifactBucketName(%q) = %q (%d chars), want %q", c.stack, got, len(got), c.want)
		}
	}
}

// TestBuildLambdaZip builds the real bootstrap for Lambda: reproducible (same bytes twice,
// so a re-deploy uploads nothing) and within DESIGN.md's 8 MB budget.
func TestBuildLambdaZip(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, LambdaPackage, "main.go")); err != nil {
		t.Skipf("%s has no main.go yet (the API engineer's bootstrap)", LambdaPackage)
	}
	if testing.Short() {
		t.Skip("cross-compiles the Lambda twice; skipped with -short")
	}
	ctx := context.Background()
	a, err := BuildLambdaZip(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	b, err := BuildLambdaZip(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("two builds of the same source differ; the content-addressed key would change on every deploy")
	}
	if len(a) > 8<<20 {
		t.Errorf("Lambda zip is %d bytes, over the 8 MB budget", len(a))
	}
	zr, err := zip.NewReader(bytes.NewReader(a), int64(len(a)))
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := zr.File[0].Open()
	head := make([]byte, 20)
	io.ReadFull(rc, head)
	// ELF, 64-bit, machine 0xB7 (AArch64) at offset 18.
	if string(head[:4]) != "\x7fELF" || head[4] != 2 || head[18] != 0xb7 {
		t.Errorf("bootstrap is not a linux/arm64 ELF executable: % x", head)
	}
}
