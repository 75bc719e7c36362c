package dockerctx

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzRewrite checks that Rewrite never panics, returns its input unchanged without
// contexts or when no context is written in it, fails only with ErrUnsupported for valid
// contexts, and that rewriting its own output changes nothing more.
func FuzzRewrite(f *testing.F) {
	for _, seed := range []string{
		"FROM base AS b\nCOPY --from=frontend a /b\n",
		"FROM node AS frontend\nFROM python\nCOPY --from=frontend [\"/a\", \"/b\"]\n",
		"RUN --mount=from=frontend,source=/d,target=/t <<EOF\nFROM frontend\nEOF\n",
		"# escape=`\nCOPY --from=frontend `\n  a b\n",
		"COPY \\\n  # c\n  --from=frontend \\\n  a \\\n  b\r\n",
	} {
		f.Add(seed)
	}
	if golden, err := os.ReadFile(filepath.Join("testdata", "multistage.Dockerfile")); err == nil {
		f.Add(string(golden))
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := Rewrite(in, nil)
		if err != nil || got != in {
			t.Fatalf("without contexts: got %q, %v; want the input back", got, err)
		}
		out, err := Rewrite(in, both)
		if err != nil {
			if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error %v does not wrap ErrUnsupported", err)
			}
			return
		}
		// Without quotes and escape characters (so without continuations) a name can only be
		// written literally.
		lower := strings.ToLower(in)
		literal := !strings.ContainsAny(in, "\\`\"'")
		if literal && !strings.Contains(lower, "frontend") && !strings.Contains(lower, "base") && out != in {
			t.Fatalf("no context named, but the text changed:\n%q\n%q", in, out)
		}
		again, err := Rewrite(out, both)
		if err != nil || again != out {
			t.Fatalf("rewriting the output again: got %q, %v; want %q", again, err, out)
		}
	})
}
