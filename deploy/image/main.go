// Command image assembles the quorate container image without a container
// engine: one layer holding the static quorate binary and the scenario
// library, no base image, written as an OCI image layout archive (and,
// with --push, sent to a registry). `make image` runs it, then loads the
// archive into Docker when a daemon answers, so both paths give the same
// image.
//
// The image is reproducible: every file has the --created time and root
// ownership, entries are sorted, so the same binary, scenarios and time
// give the same digest.
//
//	go run ./deploy/image --binary bin/quorate-linux-amd64 --commit $(git rev-parse HEAD) \
//	    --out out/image/quorate.oci.tar
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Where things are inside the image. Manifests (deploy/k8s) and the
// Dockerfile name the same paths.
const (
	BinaryPath    = "/usr/local/bin/quorate"
	ScenariosPath = "/scenarios"
)

// Options is what goes into the image.
type Options struct {
	Binary    string    // a statically linked quorate for the target platform
	Scenarios string    // the repository's scenarios/ directory
	Commit    string    // the source revision, recorded as a label
	Arch      string    // GOARCH of the binary: amd64, arm64, ...
	Created   time.Time // the image's creation time and every file's mtime
}

func main() {
	var (
		o         Options
		out       string
		tag       string
		push      string
		dockerOut string
		created   int64
	)
	flag.StringVar(&o.Binary, "binary", "", "statically linked quorate binary (CGO_ENABLED=0)")
	flag.StringVar(&o.Scenarios, "scenarios", "scenarios", "the scenario library to copy to "+ScenariosPath)
	flag.StringVar(&o.Commit, "commit", "", "source revision for the image label")
	flag.StringVar(&o.Arch, "arch", "amd64", "GOARCH the binary was built for")
	flag.Int64Var(&created, "created", 0, "creation time, Unix seconds (e.g. the commit time, for a reproducible digest)")
	flag.StringVar(&out, "out", "", "write the image as an OCI image layout archive (tar) here")
	flag.StringVar(&tag, "tag", "latest", "tag recorded in the layout's index (org.opencontainers.image.ref.name)")
	flag.StringVar(&dockerOut, "docker-out", "", "also write the image as a docker save archive (for docker load of any version) here")
	flag.StringVar(&push, "push", "", "also push the image to this reference, e.g. registry.example.org/quorate:v1")
	flag.Parse()
	if flag.NArg() > 0 || o.Binary == "" || (out == "" && push == "" && dockerOut == "") {
		fmt.Fprintln(os.Stderr, "usage: image --binary FILE [--scenarios DIR] [--commit REV] [--out FILE.tar] [--docker-out FILE.tar] [--push REF]")
		os.Exit(2)
	}
	o.Created = time.Unix(created, 0).UTC()
	img, err := Build(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(2)
	}
	if out != "" {
		if err := WriteArchive(out, img, tag); err != nil {
			fmt.Fprintln(os.Stderr, "image:", err)
			os.Exit(1)
		}
	}
	if dockerOut != "" {
		if err := WriteDockerArchive(dockerOut, img, tag); err != nil {
			fmt.Fprintln(os.Stderr, "image:", err)
			os.Exit(1)
		}
	}
	if push != "" {
		if err := Push(push, img); err != nil {
			fmt.Fprintln(os.Stderr, "image:", err)
			os.Exit(1)
		}
	}
	d, _ := img.Digest()
	fmt.Printf("image %s (quorate %s, %s)\n", d, o.Commit, strings.Join(nonEmpty(out, dockerOut, push), ", "))
}

func nonEmpty(ss ...string) []string {
	return slices.DeleteFunc(ss, func(s string) bool { return s == "" })
}

// CheckStatic refuses a binary that needs a dynamic loader or shared
// libraries: the image has neither, so such a binary would fail only when
// a pod starts, with "no such file or directory".
func CheckStatic(file string) error {
	f, err := elf.Open(file)
	if err != nil {
		return fmt.Errorf("%s: not an ELF executable: %w", file, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked (it has an ELF interpreter); build it with CGO_ENABLED=0", file)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		return fmt.Errorf("%s needs shared libraries %s; build it with CGO_ENABLED=0", file, strings.Join(libs, ", "))
	}
	return nil
}

// Build assembles the image: one layer, the config with the entrypoint,
// OCI media types throughout.
func Build(o Options) (v1.Image, error) {
	if err := CheckStatic(o.Binary); err != nil {
		return nil, err
	}
	layerTar, err := layerBytes(o)
	if err != nil {
		return nil, err
	}
	// Compressed once here: every reader of the layer (digest, layout,
	// push) then reads these bytes instead of compressing anew.
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(layerTar); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(gz.Bytes())), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		History:   v1.History{Created: v1.Time{Time: o.Created}, CreatedBy: "deploy/image: quorate and the scenario library", Comment: o.Commit},
		MediaType: types.OCILayer,
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = o.Arch, "linux"
	cf.Created = v1.Time{Time: o.Created}
	cf.Config.Entrypoint = []string{BinaryPath}
	cf.Config.Cmd = []string{"--help"}
	cf.Config.Env = []string{"PATH=/usr/local/bin"}
	cf.Config.WorkingDir = "/"
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.title":    "quorate",
		"org.opencontainers.image.revision": o.Commit,
		"org.opencontainers.image.created":  o.Created.Format(time.RFC3339),
	}
	return mutate.ConfigFile(img, cf)
}

// layerBytes is the layer's tar: /usr/local/bin/quorate, the scenario
// library under /scenarios (its YAML and config files, not the Go loader
// nor test data) and a world-writable /tmp.
func layerBytes(o Options) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: o.Created, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, src string) error {
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(b)), ModTime: o.Created, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err = tw.Write(b)
		return err
	}
	for _, d := range []string{"usr", "usr/local", "usr/local/bin"} {
		if err := dir(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := file(strings.TrimPrefix(BinaryPath, "/"), 0o755, o.Binary); err != nil {
		return nil, err
	}
	files, err := scenarioFiles(o.Scenarios)
	if err != nil {
		return nil, err
	}
	dirs := map[string]bool{}
	for _, rel := range files {
		target := path.Join(strings.TrimPrefix(ScenariosPath, "/"), rel)
		var parents []string
		for d := path.Dir(target); d != "." && !dirs[d]; d = path.Dir(d) {
			parents = append(parents, d)
			dirs[d] = true
		}
		slices.Reverse(parents)
		for _, d := range parents {
			if err := dir(d, 0o755); err != nil {
				return nil, err
			}
		}
		if err := file(target, 0o644, filepath.Join(o.Scenarios, filepath.FromSlash(rel))); err != nil {
			return nil, err
		}
	}
	if err := dir("tmp", 0o1777); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// scenarioFiles lists the scenario library's files below root, slash
// separated and sorted: everything but Go sources and testdata.
func scenarioFiles(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || strings.HasSuffix(d.Name(), ".go") {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("--scenarios: %w", err)
	}
	if !slices.ContainsFunc(files, func(f string) bool { return strings.HasSuffix(f, ".yaml") }) {
		return nil, fmt.Errorf("--scenarios %s: no scenario (.yaml) files", root)
	}
	slices.Sort(files)
	return files, nil
}

// WriteArchive writes img as an OCI image layout (oci-layout, index.json,
// blobs/) packed in one tar file at out: what `docker load` (Docker 25
// and later), `skopeo copy oci-archive:` and `podman load` read.
func WriteArchive(out string, img v1.Image, tag string) error {
	tmp, err := os.MkdirTemp(filepath.Dir(out), ".image-layout-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	lp, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return err
	}
	if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": tag,
		"io.containerd.image.name":          "quorate:" + tag,
	})); err != nil {
		return err
	}
	return tarDir(tmp, out)
}

// tarDir packs the files below dir into the tar file out, in sorted order.
func tarDir(dir, out string) error {
	f, err := os.CreateTemp(filepath.Dir(out), ".image-*.tar")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		hdr.ModTime, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = time.Unix(0, 0), 0, 0, "", ""
		hdr.Mode = 0o644
		if d.IsDir() {
			hdr.Name += "/"
			hdr.Mode = 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), out)
}

// WriteDockerArchive writes img in the format of docker save (manifest.json
// and one directory per layer), named quorate:tag, which docker load reads
// whatever its version and image store.
func WriteDockerArchive(out string, img v1.Image, tag string) error {
	ref, err := name.NewTag("quorate:" + tag)
	if err != nil {
		return fmt.Errorf("--tag %q: %w", tag, err)
	}
	return tarball.WriteToFile(out, ref, img)
}

// Push sends img to a registry with the credentials of ~/.docker/config.json
// (docker login), as crane and ko do.
func Push(ref string, img v1.Image) error {
	r, err := name.ParseReference(ref)
	if err != nil {
		return fmt.Errorf("--push %q: %w", ref, err)
	}
	if err := remote.Write(r, img, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return fmt.Errorf("--push %s: %w", ref, err)
	}
	return nil
}
