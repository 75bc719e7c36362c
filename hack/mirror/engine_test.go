package main

import (
	"strings"
	"testing"
)

func TestRef(t *testing.T) {
	m := &mirror{registry: "127.0.0.1:5000"}
	for _, c := range []struct{ in, want string }{
		{"debian:bookworm-slim", "127.0.0.1:5000/library/debian:bookworm-slim"},
		{"containrrr/watchtower:1.7.1", "127.0.0.1:5000/containrrr/watchtower:1.7.1"},
		{"registry.dagger.io/engine:v0.19.10", "127.0.0.1:5000/engine:v0.19.10"},
		{"localhost:5001/x/y:1", "127.0.0.1:5000/x/y:1"},
	} {
		if got := m.ref(c.in); got != c.want {
			t.Errorf("ref(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestParseEngineDirs(t *testing.T) {
	for _, c := range []struct {
		bins, goroots string
		want          map[string][2]string // platform -> bin, goroot
		err           string
	}{
		{"", "", map[string][2]string{}, ""},
		{"linux/amd64=/b,linux/arm64=/b/arm", "linux/amd64=/usr/local/go,linux/arm64=/g",
			map[string][2]string{"linux/amd64": {"/b", "/usr/local/go"}, "linux/arm64": {"/b/arm", "/g"}}, ""},
		{"amd64=/b", "", nil, `-engine-bin "amd64=/b": want PLATFORM=DIR`},
		{"linux/amd64=", "", nil, `-engine-bin "linux/amd64="`},
		{"", "linux/arm64", nil, `-goroot "linux/arm64"`},
	} {
		d, err := parseEngineDirs(c.bins, c.goroots)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("parseEngineDirs(%q, %q) error %v, want %q", c.bins, c.goroots, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("parseEngineDirs(%q, %q): %v", c.bins, c.goroots, err)
		}
		if len(d.bin) != len(c.want) {
			t.Errorf("parseEngineDirs(%q, %q) = %v", c.bins, c.goroots, d)
		}
		for p, w := range c.want {
			if d.bin[p] != w[0] || d.goroot[p] != w[1] {
				t.Errorf("%s: bin %q goroot %q, want %q %q", p, d.bin[p], d.goroot[p], w[0], w[1])
			}
		}
	}
}

func TestEngineStandInHashesEveryBinary(t *testing.T) {
	d, err := parseEngineDirs("linux/amd64=/b,linux/arm64=/a", "linux/amd64=/g1,linux/arm64=/g2")
	if err != nil {
		t.Fatal(err)
	}
	img := engineStandIn(d)
	files := strings.Join(img.HostFiles, " ")
	for _, b := range engineBinaries {
		for _, dir := range []string{"/b/", "/a/"} {
			if !strings.Contains(files, dir+b) {
				t.Errorf("the recipe hash leaves out %s%s: %s", dir, b, files)
			}
		}
	}
	if !strings.Contains(files, "/g2/VERSION") || !strings.Contains(img.StandIn, "pinned source") {
		t.Errorf("HostFiles %s, StandIn %q", files, img.StandIn)
	}
}

func TestFirstManifest(t *testing.T) {
	d, err := firstManifest([]byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:abc","size":1}]}`))
	if err != nil || d != "sha256:abc" {
		t.Errorf("firstManifest = %q, %v", d, err)
	}
	for _, bad := range []string{`{}`, `{"manifests":[]}`, `{"manifests":[{"digest":"md5:x"}]}`, `not json`} {
		if _, err := firstManifest([]byte(bad)); err == nil {
			t.Errorf("firstManifest(%s): no error", bad)
		}
	}
}
