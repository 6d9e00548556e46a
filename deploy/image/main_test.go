package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/quorate/quorate/internal/quoratebin"
)

// TestImageArchive builds the image as `make image` does, reads the
// archive back with the same library, checks the config and the layer's
// files, and runs the binary taken out of the layer.
func TestImageArchive(t *testing.T) {
	dir := t.TempDir()
	commit := quoratebin.Commit(t)
	bin := quoratebin.Build(t, dir, commit, true)
	created := time.Unix(1_700_000_000, 0).UTC()
	opts := Options{Binary: bin, Scenarios: "../../scenarios", Commit: commit, Arch: "amd64", Created: created}
	img, err := Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "quorate.oci.tar")
	if err := WriteArchive(archive, img, "test"); err != nil {
		t.Fatal(err)
	}
	back, err := ReadArchive(archive, filepath.Join(dir, "layout"))
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(back); err != nil {
		t.Fatalf("the archive's image does not validate: %v", err)
	}
	d1, _ := img.Digest()
	d2, _ := back.Digest()
	if d1 != d2 {
		t.Errorf("digest %s built, %s read back", d1, d2)
	}
	if mt, _ := back.MediaType(); mt != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %s, want %s", mt, types.OCIManifestSchema1)
	}

	cf, err := back.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cf.Config.Entrypoint, " "); got != BinaryPath {
		t.Errorf("entrypoint %q, want %q", got, BinaryPath)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || !cf.Created.Time.Equal(created) {
		t.Errorf("config os %s arch %s created %v", cf.OS, cf.Architecture, cf.Created.Time)
	}
	if cf.Config.Labels["org.opencontainers.image.revision"] != commit {
		t.Errorf("revision label %q, want %q", cf.Config.Labels["org.opencontainers.image.revision"], commit)
	}
	layers, err := back.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%d layers (%v), want one on no base image", len(layers), err)
	}

	files := layerFiles(t, back)
	want, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	q, ok := files["usr/local/bin/quorate"]
	if !ok || !bytes.Equal(q.data, want) || q.mode != 0o755 {
		t.Fatalf("usr/local/bin/quorate: present %v, mode %o, same bytes as the binary %v", ok, q.mode, bytes.Equal(q.data, want))
	}
	if tmp, ok := files["tmp"]; !ok || !tmp.dir || tmp.mode != 0o1777 {
		t.Errorf("tmp: present %v mode %o, want a 1777 directory", ok, tmp.mode)
	}
	nScenarios := 0
	for name, f := range files {
		if strings.HasSuffix(name, ".go") || strings.Contains(name, "/testdata/") {
			t.Errorf("%s: Go sources and test data stay out of the image", name)
		}
		if strings.HasPrefix(name, "scenarios/") && strings.HasSuffix(name, ".yaml") {
			nScenarios++
		}
		if !f.mtime.Equal(created) {
			t.Errorf("%s: mtime %v, want the image's creation time %v", name, f.mtime, created)
		}
	}
	lib, _ := filepath.Glob("../../scenarios/library/*.yaml")
	if nScenarios < len(lib) || len(lib) == 0 {
		t.Errorf("%d scenarios in the image, the library alone has %d", nScenarios, len(lib))
	}

	// The binary from the layer, run as the entrypoint would be.
	root := filepath.Join(dir, "rootfs")
	for name, f := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if f.dir {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.data, os.FileMode(f.mode)); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(filepath.Join(root, "usr/local/bin/quorate"), "--version").CombinedOutput()
	if err != nil || string(out) != "quorate "+commit+"\n" {
		t.Errorf("quorate --version from the image: %v\n%q, want %q", err, out, "quorate "+commit+"\n")
	}
	run := exec.Command(filepath.Join(root, "usr/local/bin/quorate"), "run", "scenarios/library/redundant-links-switch-failure.yaml", "--seed", "1")
	run.Dir = root
	if out, err := run.CombinedOutput(); err != nil {
		t.Errorf("the image's library scenario does not run from its own tree: %v\n%s", err, out)
	}

	t.Run("runc", func(t *testing.T) { runInContainer(t, archive, commit) })
	t.Run("push", func(t *testing.T) { pushAndPull(t, img) })
	t.Run("docker", func(t *testing.T) {
		path := filepath.Join(dir, "quorate.docker.tar")
		if err := WriteDockerArchive(path, img, "test"); err != nil {
			t.Fatal(err)
		}
		tag, _ := name.NewTag("quorate:test")
		loaded, err := tarball.ImageFromPath(path, &tag)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Image(loaded); err != nil {
			t.Fatalf("the docker archive does not validate: %v", err)
		}
		want, _ := img.ConfigName()
		if got, _ := loaded.ConfigName(); got != want {
			t.Errorf("docker archive config %s, built %s", got, want)
		}
		wl, _ := img.Layers()
		gl, _ := loaded.Layers()
		wd, _ := wl[0].DiffID()
		if len(gl) != 1 {
			t.Fatalf("%d layers in the docker archive", len(gl))
		}
		if gd, _ := gl[0].DiffID(); gd != wd {
			t.Errorf("docker archive layer %s, built %s", gd, wd)
		}
	})

	// The same inputs give the same digest.
	again, err := Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	if d3, _ := again.Digest(); d3 != d1 {
		t.Errorf("two builds of the same inputs: digests %s and %s", d1, d3)
	}
}

// runInContainer unpacks the archive with umoci (an OCI implementation
// other than the one that wrote it) into a runtime bundle and runs it with
// runc, as a container engine would: the entrypoint with --version, then a
// sweep of a scenario from the image's own library.
func runInContainer(t *testing.T, archive, commit string) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("running the image with runc needs root; CI runs as root")
		}
		t.Skip("skipping the runc run of the image: it needs root")
	}
	for _, tool := range []string{"umoci", "runc"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed (scripts/setup.sh installs it)", tool)
			}
			t.Skipf("skipping the runc run of the image: %s is not installed (make setup installs it)", tool)
		}
	}
	dir := t.TempDir()
	layoutDir := filepath.Join(dir, "layout")
	if err := os.Mkdir(layoutDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("tar", "-xf", archive, "-C", layoutDir).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	bundle := filepath.Join(dir, "bundle")
	if out, err := exec.Command("umoci", "unpack", "--image", layoutDir+":test", bundle).CombinedOutput(); err != nil {
		t.Fatalf("umoci unpack: %v\n%s", err, out)
	}
	run := func(args ...string) string {
		t.Helper()
		cfgPath := filepath.Join(bundle, "config.json")
		raw, err := os.ReadFile(cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		var cfg map[string]any
		if err := json.Unmarshal(raw, &cfg); err != nil {
			t.Fatal(err)
		}
		proc := cfg["process"].(map[string]any)
		entry := proc["args"].([]any)[0] // umoci puts the image's entrypoint first
		if entry != BinaryPath {
			t.Fatalf("the bundle runs %v, want the entrypoint %s", proc["args"], BinaryPath)
		}
		argv := []any{entry}
		for _, a := range args {
			argv = append(argv, a)
		}
		proc["args"], proc["terminal"] = argv, false
		if raw, err = json.Marshal(cfg); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cfgPath, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("quorate-image-test-%d", os.Getpid())
		defer exec.Command("runc", "delete", "-f", id).Run()
		var stdout, stderr bytes.Buffer
		cmd := exec.Command("runc", "run", "-b", bundle, id)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("runc run quorate %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
		}
		return stdout.String()
	}
	if out := run("--version"); out != "quorate "+commit+"\n" {
		t.Errorf("quorate --version in the container: %q, want %q", out, "quorate "+commit+"\n")
	}
	if out := run("sweep", "/scenarios/library/qdevice-two-node.yaml", "--seeds", "1-2", "--parallel", "1"); !strings.Contains(out, "OK: all 2 runs passed") {
		t.Errorf("a sweep of the image's library in the container:\n%s", out)
	}
}

// TestImageRejectsDynamicBinary: a binary that needs a loader would fail
// in the image with a bare "no such file or directory".
func TestImageRejectsDynamicBinary(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	sh, _ = filepath.EvalSymlinks(sh)
	if err := CheckStatic(sh); err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Errorf("CheckStatic(%s) = %v, want an error naming CGO_ENABLED=0", sh, err)
	}
	if err := CheckStatic("main.go"); err == nil || !strings.Contains(err.Error(), "not an ELF") {
		t.Errorf("CheckStatic(main.go) = %v, want not an ELF executable", err)
	}
	if _, err := Build(Options{Binary: sh, Scenarios: "../../scenarios"}); err == nil {
		t.Error("Build accepted a dynamically linked binary")
	}
}

// pushAndPull sends the image to a registry (an in-process one) and pulls
// it back by digest.
func pushAndPull(t *testing.T, img v1.Image) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/quorate:push-test"
	if err := Push(ref, img); err != nil {
		t.Fatal(err)
	}
	r, _ := name.ParseReference(ref)
	pulled, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if got, _ := pulled.Digest(); got != want {
		t.Errorf("pulled %s, pushed %s", got, want)
	}
	if err := Push("not a ref!", img); err == nil || !strings.Contains(err.Error(), "--push") {
		t.Errorf("Push(bad ref) = %v", err)
	}
}

type layerFile struct {
	data  []byte
	mode  int64
	mtime time.Time
	dir   bool
}

// layerFiles reads the image's filesystem.
func layerFiles(t *testing.T, img v1.Image) map[string]layerFile {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string]layerFile{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimSuffix(hdr.Name, "/")] = layerFile{data: b, mode: hdr.Mode, mtime: hdr.ModTime, dir: hdr.Typeflag == tar.TypeDir}
	}
	return files
}

var errNoImage = errors.New("no image in the layout")

// ReadArchive reads back an archive WriteArchive wrote: the layout is
// unpacked into dir and its one image returned.
func ReadArchive(archive, dir string) (v1.Image, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		target := filepath.Join(dir, filepath.FromSlash(hdr.Name))
		if !strings.HasPrefix(target, filepath.Clean(dir)+string(filepath.Separator)) {
			return nil, fmt.Errorf("%s: entry %q leaves the layout", archive, hdr.Name)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return nil, err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return nil, err
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil, err
			}
			if err := os.WriteFile(target, b, 0o644); err != nil {
				return nil, err
			}
		}
	}
	lp, err := layout.FromPath(dir)
	if err != nil {
		return nil, err
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		return nil, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(m.Manifests) != 1 {
		return nil, fmt.Errorf("%s: %w (want exactly one, found %d)", archive, errNoImage, len(m.Manifests))
	}
	return idx.Image(m.Manifests[0].Digest)
}
