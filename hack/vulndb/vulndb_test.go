package main

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const status = `Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1

Package: libc6
Status: install ok installed
Source: glibc (2.36-9+deb12u10)
Version: 2.36-9+deb12u10+b1

Package: gone
Status: deinstall ok config-files
Version: 1.0

Package: bash
Status: install ok installed
Version: 5.2.15-2+b7
`

func TestReadDpkgStatus(t *testing.T) {
	p := filepath.Join(t.TempDir(), "status")
	if err := os.WriteFile(p, []byte(status), 0o644); err != nil {
		t.Fatal(err)
	}
	pkgs, err := readDpkgStatus(p)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]dpkg{
		"zlib1g": {"1:1.2.13.dfsg-1", "zlib", "1:1.2.13.dfsg-1"},
		"libc6":  {"2.36-9+deb12u10+b1", "glibc", "2.36-9+deb12u10"},
		"bash":   {"5.2.15-2+b7", "bash", "5.2.15-2+b7"},
	}
	if len(pkgs) != len(want) {
		t.Errorf("read %v, want %v", pkgs, want)
	}
	for k, w := range want {
		if pkgs[k] != w {
			t.Errorf("%s: %+v, want %+v", k, pkgs[k], w)
		}
	}
	advs, err := fixtures(pkgs, "zlib1g", "libc6")
	if err != nil {
		t.Fatal(err)
	}
	if a := advs[1]; a.Source != "glibc" || a.Installed != "2.36-9+deb12u10+b1" || a.Fixed != "2.36-9+deb12u10+fixture1" {
		t.Errorf("the HIGH fixture is %+v: want glibc fixed in its source version plus %s", a, fixtureSuffix)
	}
	if _, err := fixtures(pkgs, "zlib1g", "libssl3"); err == nil || !strings.Contains(err.Error(), "libssl3 is not installed") {
		t.Errorf("a package that is not installed: %v", err)
	}
}

func TestWriteTree(t *testing.T) {
	dir := t.TempDir()
	advs := []advisory{
		{ID: "CVE-2099-0001", Severity: "CRITICAL", Package: "zlib1g", Source: "zlib", Fixed: "1:1.2.13.dfsg-1+fixture1", Title: "T1"},
		{ID: "CVE-2099-0002", Severity: "HIGH", Package: "libzstd1", Source: "libzstd", Fixed: "1.5.4+dfsg2-5+fixture1", Title: "T2"},
	}
	if err := writeTree(dir, osRelease{codename: "bookworm", major: "12"}, advs); err != nil {
		t.Fatal(err)
	}
	var bug trackerBug
	readJSON(t, filepath.Join(dir, "vuln-list-debian/tracker/CVE/CVE-2099-0002.json"), &bug)
	// trivy-db takes the severity of a release's fix from the sid line before it
	if len(bug.Annotations) != 2 || bug.Annotations[0].Release != "" || bug.Annotations[0].Severity != "high" ||
		bug.Annotations[1].Release != "bookworm" || bug.Annotations[1].Version != "1.5.4+dfsg2-5+fixture1" {
		t.Errorf("CVE-2099-0002's tracker entry: %+v", bug)
	}
	var dists map[string]map[string]string
	readJSON(t, filepath.Join(dir, "vuln-list-debian/tracker/distributions.json"), &dists)
	if dists["bookworm"]["major-version"] != "12" {
		t.Errorf("distributions.json: %v", dists)
	}
	var nvd struct{ ID string }
	readJSON(t, filepath.Join(dir, "vuln-list-nvd/api/2099/CVE-2099-0001.json"), &nvd)
	if nvd.ID != "CVE-2099-0001" {
		t.Errorf("the NVD record: %+v", nvd)
	}
	for _, p := range []string{"vuln-list-nvd/api/2099/CVE-2099-0002.json"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			t.Errorf("%s: the HIGH one takes Debian's urgency, it needs no NVD record", p)
		}
	}
	for _, d := range []string{"DLA", "DSA", "source/bookworm/main/z"} {
		if fi, err := os.Stat(filepath.Join(dir, "vuln-list-debian/tracker", d)); err != nil || !fi.IsDir() {
			t.Errorf("tracker/%s: %v", d, err)
		}
	}
}

// The artifact has the layout trivy pulls: one layer of trivy's DB media type, titled db.tar.gz,
// holding the files of the DB directory at its top.
func TestPushDB(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	dbDir, work := t.TempDir(), t.TempDir()
	for f, body := range map[string]string{"trivy.db": "bolt", "metadata.json": `{"Version":2}`} {
		if err := os.WriteFile(filepath.Join(dbDir, f), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ref := strings.TrimPrefix(srv.URL, "http://") + "/trivy-db:2"
	digest, err := pushDB(dbDir, filepath.Join(work, "db.tar.gz"), ref)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := name.ParseReference(ref)
	img, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := img.Digest(); d.String() != digest {
		t.Errorf("pushed %s, reported %s", d, digest)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.MediaType != dbConfigType || len(m.Layers) != 1 || m.Layers[0].MediaType != dbLayerType ||
		m.Layers[0].Annotations["org.opencontainers.image.title"] != "db.tar.gz" {
		t.Fatalf("manifest %+v", m)
	}
	layers, _ := img.Layers()
	rc, err := layers[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	gz, err := gzip.NewReader(rc)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	got := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got[h.Name] = string(b)
	}
	if len(got) != 2 || got["trivy.db"] != "bolt" || got["metadata.json"] != `{"Version":2}` {
		t.Errorf("the layer holds %v", got)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
