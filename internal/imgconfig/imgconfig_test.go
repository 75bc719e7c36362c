package imgconfig

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// config is an image config as Dagger v0.19.10's dockerBuild pushes it: one history entry per
// layer, written by the engine's exporter, the times those of the engine that built it.
func config(created string, history ...string) string {
	return `{"architecture":"amd64","config":{"Env":["PATH=/usr/bin:/bin"],"Cmd":["traefik"],"Labels":{"org.opencontainers.image.version":"3.1"}},` +
		`"created":"` + created + `","history":[` + strings.Join(history, ",") + `],"os":"linux",` +
		`"rootfs":{"type":"layers","diff_ids":["sha256:aa","sha256:bb","sha256:cc"]}}`
}

func entry(created, by string) string {
	if by == "" {
		return `{"created":"` + created + `","comment":"` + ExporterComment + `"}`
	}
	return `{"created":"` + created + `","created_by":"` + by + `","comment":"` + ExporterComment + `"}`
}

const pulled = "pulled from 10.99.0.1:5000/library/traefik:v3.1@sha256:afbc"

var commit = time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)

func TestNormalizeGivesOneConfigForTheSameLayers(t *testing.T) {
	// the same three layers as two fresh engines wrote them (measured: a build job and its
	// retry on the Docker executor, the retry importing the first run's cache)
	firstRun := config("2026-12-06T06:55:45.77964203Z",
		entry("2026-12-06T06:55:45.711586562Z", pulled),
		entry("2026-12-06T06:55:45.712166782Z", pulled),
		entry("2026-12-06T06:55:45.77964203Z", "[2/2] COPY --chmod=0644 traefik.yml /etc/traefik/traefik.yml"))
	retry := config("2026-12-06T06:55:45.77964203Z",
		entry("2026-12-06T07:01:06.605174057Z", "created by buildkit"),
		entry("2026-12-06T07:01:06.606387052Z", "imported sha256:2dd5"),
		entry("2026-12-06T06:55:45.77964203Z", "imported sha256:8e98"))
	// the same image once more, its keys in another order and indented
	var v any
	if err := json.Unmarshal([]byte(firstRun), &v); err != nil {
		t.Fatal(err)
	}
	indented, _ := json.MarshalIndent(v, "", "   ")

	a, err := Normalize([]byte(firstRun), commit)
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string]string{"retry": retry, "indented": string(indented)} {
		b, err := Normalize([]byte(in), commit)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s: normalized configs differ:\n%s\n%s", name, a, b)
		}
	}
	// a later commit is another image
	later, _ := Normalize([]byte(firstRun), commit.Add(time.Second))
	if bytes.Equal(a, later) {
		t.Error("the config does not change with the commit's time")
	}
}

func TestNormalizeRewritesOnlyTheEnginesFields(t *testing.T) {
	own := `{"created":"2020-01-02T03:04:05Z","created_by":"RUN make","comment":"buildkit.dockerfile.v0","empty_layer":true}`
	in := config("2026-12-06T06:55:45.7Z", entry("2026-12-06T06:55:45.7Z", pulled), own)
	out, err := Normalize([]byte(in), commit)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Created string           `json:"created"`
		Config  map[string]any   `json:"config"`
		History []map[string]any `json:"history"`
		RootFS  map[string]any   `json:"rootfs"`
		OS      string           `json:"os"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if got.Created != "2026-12-01T09:30:00Z" {
		t.Errorf("created = %q, want the commit's time", got.Created)
	}
	if len(got.History) != 2 {
		t.Fatalf("history has %d entries, want 2", len(got.History))
	}
	if h := got.History[0]; h["created"] != "2026-12-01T09:30:00Z" || h["created_by"] != nil || h["comment"] != ExporterComment {
		t.Errorf("the engine's entry is %v, want the commit's time, no created_by, the comment kept", h)
	}
	if h := got.History[1]; h["created"] != "2020-01-02T03:04:05Z" || h["created_by"] != "RUN make" || h["empty_layer"] != true {
		t.Errorf("an entry the engine did not write was changed: %v", h)
	}
	if got.OS != "linux" || got.Config["Cmd"].([]any)[0] != "traefik" || len(got.RootFS["diff_ids"].([]any)) != 3 {
		t.Errorf("other fields were not kept: %s", out)
	}
	again, err := Normalize(out, commit)
	if err != nil || !bytes.Equal(again, out) {
		t.Errorf("normalizing twice changed the config (%v):\n%s\n%s", err, out, again)
	}
}

func TestNormalizeKeepsNumbersAsWritten(t *testing.T) {
	in := `{"created":"x","config":{"StopSignal":"SIGTERM","Healthcheck":{"Interval":30000000000,"Retries":3}},"history":null}`
	out, err := Normalize([]byte(in), commit)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"Interval":30000000000`) {
		t.Errorf("a large number was not kept as written: %s", out)
	}
}

func TestNormalizeRefusesWhatIsNoImageConfig(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"not JSON":       {`{"created":`, "not a JSON object"},
		"a list":         {`[1,2]`, "not a JSON object"},
		"null":           {`null`, "not a JSON object: null"},
		"two values":     {`{} {}`, "more than one JSON value"},
		"history object": {`{"history":{}}`, "history is a map[string]interface {}, not a list"},
		"history entry":  {`{"history":["x"]}`, "history entry 0 is a string"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Normalize([]byte(tc.in), commit)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Normalize(%s) = %v, want an error with %q", tc.in, err, tc.want)
			}
		})
	}
}

func TestWithConfigPointsTheManifestAtTheNewConfig(t *testing.T) {
	manifest := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:old","size":1234},` +
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:aa","size":31415926535}]}`
	cfg := []byte(`{"created":"2026-12-01T09:30:00Z"}`)
	out, err := WithConfig([]byte(manifest), cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"config":{"digest":"` + Digest(cfg) + `","mediaType":"application/vnd.oci.image.config.v1+json","size":34},` +
		`"layers":[{"digest":"sha256:aa","mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":31415926535}],` +
		`"mediaType":"application/vnd.oci.image.manifest.v1+json","schemaVersion":2}`
	if string(out) != want {
		t.Errorf("WithConfig =\n%s\nwant\n%s", out, want)
	}
	if d := Digest(nil); d != "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("Digest of nothing = %s, want sha256's of the empty string", d)
	}
	if _, err := WithConfig([]byte(`{"manifests":[]}`), cfg); err == nil || !strings.Contains(err.Error(), "not an image manifest") {
		t.Errorf("WithConfig of an index = %v, want it refused as no image manifest", err)
	}
}
