package vcs

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"shipyard/internal/tagtype"
)

// FuzzDecodeTag: decodeTag never panics, a tag it accepts has a name and is annotated or
// lightweight, and written back as JSON it decodes to the same tag. The seeds are the GitLab
// answers the tests serve (testdata/*.json: tags and error documents).
func FuzzDecodeTag(f *testing.F) {
	paths, err := filepath.Glob("testdata/*.json")
	if err != nil || len(paths) == 0 {
		f.Fatalf("no GitLab answers in testdata (%v)", err)
	}
	for _, p := range paths {
		body, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		tag, err := decodeTag(bytes.NewReader(body))
		if err != nil {
			return
		}
		if tag.Name == "" || (tag.Type() != tagtype.Annotated && tag.Type() != tagtype.Lightweight) {
			t.Fatalf("decodeTag(%q) = %+v (%s): want a named annotated or lightweight tag", body, tag, tag.Type())
		}
		again, err := json.Marshal(tag)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := decodeTag(bytes.NewReader(again)); err != nil || back != tag {
			t.Fatalf("decodeTag(%q) = %+v, written back as %s it decodes to %+v, %v", body, tag, again, back, err)
		}
	})
}
