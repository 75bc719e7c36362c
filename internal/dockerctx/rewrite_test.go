package dockerctx

import (
	"encoding/csv"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const (
	fePath  = ".shipyard-contexts/frontend"
	baseRef = "127.0.0.1:5000/base:1.2"
)

var (
	feDir   = Context{Name: "frontend", Kind: Dir, Path: fePath}
	baseImg = Context{Name: "base", Kind: Image, Image: baseRef}
	both    = []Context{feDir, baseImg}
)

func TestRewrite(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		contexts []Context
		want     string
	}{
		// FROM
		{
			name:     "FROM image context keeps flags and AS",
			in:       "FROM --platform=$BUILDPLATFORM base AS build\nRUN make\n",
			contexts: both,
			want:     "FROM --platform=$BUILDPLATFORM " + baseRef + " AS build\nRUN make\n",
		},
		{
			name:     "FROM matches case-insensitively and a quoted name",
			in:       "FROM Base\nFROM \"BASE\" as x\n",
			contexts: both,
			want:     "FROM " + baseRef + "\nFROM " + baseRef + " as x\n",
		},
		{
			name:     "FROM with ARG-expanded, tagged or other names is untouched",
			in:       "ARG B=base\nFROM ${B}\nFROM $B AS y\nFROM base:3 AS z\nFROM basement\n",
			contexts: both,
			want:     "ARG B=base\nFROM ${B}\nFROM $B AS y\nFROM base:3 AS z\nFROM basement\n",
		},
		{
			name:     "a stage named like an image context stays; FROM the stage name goes to the context",
			in:       "FROM alpine AS base\nRUN touch /x\nFROM base\nCOPY --from=base /x /x\n",
			contexts: both,
			want:     "FROM alpine AS base\nRUN touch /x\nFROM " + baseRef + "\nCOPY --from=" + baseRef + " /x /x\n",
		},
		// COPY, directory context
		{
			name:     "COPY from a stage named like a dir context uses the context; the stage stays",
			in:       "FROM node AS frontend\nRUN npm run build\nFROM python\nCOPY --from=frontend /app/dist /srv/static\n",
			contexts: both,
			want:     "FROM node AS frontend\nRUN npm run build\nFROM python\nCOPY " + fePath + "/app/dist /srv/static\n",
		},
		{
			name:     "COPY dir context keeps other flags and prefixes every source",
			in:       "COPY --chown=app:app --from=frontend --link --chmod=644 /a b/ . ../../c */*.js /dst/\n",
			contexts: both,
			want:     "COPY --chown=app:app --link --chmod=644 " + fePath + "/a " + fePath + "/b/ " + fePath + " " + fePath + "/c " + fePath + "/*/*.js /dst/\n",
		},
		{
			name:     "COPY dir context with the root as source",
			in:       "COPY --from=frontend / /srv/\n",
			contexts: both,
			want:     "COPY " + fePath + "/ /srv/\n",
		},
		{
			name:     "COPY dir context in JSON-array form",
			in:       "COPY --from=frontend --chown=1000 [\"/app/dist\",\"index.html\", \"/srv/\"]\n",
			contexts: both,
			want:     "COPY --chown=1000 [\"" + fePath + "/app/dist\", \"" + fePath + "/index.html\", \"/srv/\"]\n",
		},
		{
			name:     "COPY dir context with variables and quotes is prefixed as written",
			in:       "COPY --from=frontend $DIST \"/my-dir\" /dst\n",
			contexts: both,
			want:     "COPY " + fePath + "/$DIST " + fePath + "/\"/my-dir\" /dst\n",
		},
		{
			name:     "COPY --from matches case-insensitively and quoted, lower-case keyword",
			in:       "copy --from=FrontEnd a /x\nCOPY --from=\"frontend\" b /y\n",
			contexts: both,
			want:     "copy " + fePath + "/a /x\nCOPY " + fePath + "/b /y\n",
		},
		{
			name:     "backslash escapes and quotes inside a flag are decoded as BuildKit does",
			in:       "COPY --from=f\\ront'end' a /x\n",
			contexts: both,
			want:     "COPY " + fePath + "/a /x\n",
		},
		{
			name:     "COPY --parents=false is allowed",
			in:       "COPY --parents=false --from=frontend a /x\n",
			contexts: both,
			want:     "COPY --parents=false " + fePath + "/a /x\n",
		},
		{
			name:     "COPY over continuation lines with a comment and a blank line inside",
			in:       "COPY --from=frontend \\\n# built assets\n\n     /app/dist \\\n     /srv/static\n",
			contexts: both,
			want:     "COPY \\\n# built assets\n\n     " + fePath + "/app/dist \\\n     /srv/static\n",
		},
		{
			name:     "COPY with the --from flag on its own continuation line",
			in:       "COPY \\\n    --from=frontend \\\n    --chown=app \\\n    dist /srv\n",
			contexts: both,
			want:     "COPY \\\n    \\\n    --chown=app \\\n    " + fePath + "/dist /srv\n",
		},
		{
			name:     "a flag split by a continuation is removed whole",
			in:       "COPY --from=front\\\nend a /b\n",
			contexts: both,
			want:     "COPY " + fePath + "/a /b\n",
		},
		{
			name:     "COPY with ARG-expanded --from, a stage index or another stage is untouched",
			in:       "COPY --from=${FE} a /b\nCOPY --from=0 a /b\nCOPY --from=builder a /b\nCOPY a /b\n",
			contexts: both,
			want:     "COPY --from=${FE} a /b\nCOPY --from=0 a /b\nCOPY --from=builder a /b\nCOPY a /b\n",
		},
		// COPY, image context
		{
			name:     "COPY image context replaces the --from value only",
			in:       "COPY --link --from=base [\"/etc/os-release\", \"/x\"]\nCOPY --from=BASE /a /b\n",
			contexts: both,
			want:     "COPY --link --from=" + baseRef + " [\"/etc/os-release\", \"/x\"]\nCOPY --from=" + baseRef + " /a /b\n",
		},
		// RUN --mount
		{
			name:     "bind mount from a dir context reads the build context",
			in:       "RUN --mount=type=bind,from=frontend,source=/app/dist,target=/dist ls /dist\n",
			contexts: both,
			want:     "RUN --mount=type=bind,source=" + fePath + "/app/dist,target=/dist ls /dist\n",
		},
		{
			name:     "bind mount by default type, src alias and no source",
			in:       "RUN --mount=from=frontend,target=/fe --mount=FROM=Frontend,SRC=x,dst=/x,rw true\n",
			contexts: both,
			want:     "RUN --mount=target=/fe,source=" + fePath + " --mount=SRC=" + fePath + "/x,dst=/x,rw true\n",
		},
		{
			name:     "mounts from an image context keep their type",
			in:       "RUN --mount=type=cache,from=base,target=/root/.cache \\\n    --mount=type=cache,target=/npm \\\n    pip install .\n",
			contexts: both,
			want:     "RUN --mount=type=cache,from=" + baseRef + ",target=/root/.cache \\\n    --mount=type=cache,target=/npm \\\n    pip install .\n",
		},
		{
			name:     "a mount whose source has a comma is re-quoted",
			in:       "RUN --mount='from=frontend,\"source=a,b\",target=/t' true\n",
			contexts: both,
			want:     "RUN --mount=\"\\\"source=" + fePath + "/a,b\\\",target=/t\" true\n",
		},
		{
			name:     "exec-form RUN with a mount",
			in:       "RUN --mount=from=frontend,target=/fe [\"ls\", \"/fe\"]\n",
			contexts: both,
			want:     "RUN --mount=target=/fe,source=" + fePath + " [\"ls\", \"/fe\"]\n",
		},
		{
			name:     "mounts from other stages or variables are untouched",
			in:       "RUN --mount=from=builder,target=/b --mount=from=$FE,target=/c --mount=type=secret,id=npmrc true\n",
			contexts: both,
			want:     "RUN --mount=from=builder,target=/b --mount=from=$FE,target=/c --mount=type=secret,id=npmrc true\n",
		},
		// What must stay as written
		{
			name:     "parser directives, comments, ONBUILD, other instructions and words mentioning the name",
			in:       "# syntax=127.0.0.1:5000/dockerfile:1\n# check=error=true\n# COPY --from=frontend a b\nFROM python\nLABEL from=frontend\nONBUILD COPY --from=frontend a /b\nRUN echo --from=frontend frontend\nENV X=base\n",
			contexts: both,
			want:     "# syntax=127.0.0.1:5000/dockerfile:1\n# check=error=true\n# COPY --from=frontend a b\nFROM python\nLABEL from=frontend\nONBUILD COPY --from=frontend a /b\nRUN echo --from=frontend frontend\nENV X=base\n",
		},
		{
			name: "here-document bodies are skipped, the instruction after them is rewritten",
			in: "FROM python\nRUN <<EOF bash\nFROM frontend\nCOPY --from=frontend a b\nEOF\n" +
				"COPY <<-\"END\" /etc/app.conf\n\tFROM frontend\n\tEND\nCOPY --from=frontend a /b\n",
			contexts: both,
			want: "FROM python\nRUN <<EOF bash\nFROM frontend\nCOPY --from=frontend a b\nEOF\n" +
				"COPY <<-\"END\" /etc/app.conf\n\tFROM frontend\n\tEND\nCOPY " + fePath + "/a /b\n",
		},
		{
			name:     "two here-documents on one RUN",
			in:       "RUN <<A cat - 3<<'B'\nFROM frontend\nA\nFROM frontend\nB\nFROM base\n",
			contexts: both,
			want:     "RUN <<A cat - 3<<'B'\nFROM frontend\nA\nFROM frontend\nB\nFROM " + baseRef + "\n",
		},
		{
			name:     "escape directive: backtick continues, backslash does not",
			in:       "# escape=`\nFROM python\nCOPY --from=frontend `\n    C:\\dist C:\\srv\\\nRUN echo \\\nFROM base\n",
			contexts: both,
			want:     "# escape=`\nFROM python\nCOPY `\n    " + fePath + "/C:\\dist C:\\srv\\\nRUN echo \\\nFROM " + baseRef + "\n",
		},
		{
			name:     "CRLF line endings and a byte-order mark are kept",
			in:       "\ufeffFROM base AS b\r\nCOPY --from=frontend \\\r\n  a /b\r\n",
			contexts: both,
			want:     "\ufeffFROM " + baseRef + " AS b\r\nCOPY \\\r\n  " + fePath + "/a /b\r\n",
		},
		{
			name:     "contexts the Dockerfile never names change nothing",
			in:       "FROM python AS app\nCOPY --from=app a b\n",
			contexts: []Context{feDir, baseImg, {Name: "unused.ctx-1", Kind: Dir, Path: "x"}},
			want:     "FROM python AS app\nCOPY --from=app a b\n",
		},
		{
			name: "no contexts",
			in:   "FROM frontend\nCOPY --from=frontend a b\n",
			want: "FROM frontend\nCOPY --from=frontend a b\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Rewrite(tt.in, tt.contexts)
			if err != nil {
				t.Fatalf("Rewrite: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Rewrite (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRewriteErrors(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		contexts []Context
		wantErr  error
		wantMsg  string // a part of the message that tells the user what to do
	}{
		{
			name:     "FROM a dir context",
			in:       "FROM python\nRUN true\nFROM frontend AS web\n",
			contexts: both,
			wantErr:  ErrUnsupported,
			wantMsg:  "Dockerfile line 3: FROM frontend AS web: named context cannot be emulated: FROM a directory/target context is not supported without named contexts; use COPY --from=frontend",
		},
		{
			name:     "FROM a dir context with flags, matched case-insensitively, after a here-document",
			in:       "RUN <<EOF\nx\nEOF\nFROM --platform=$TARGETPLATFORM FRONTEND\n",
			contexts: both,
			wantErr:  ErrUnsupported,
			wantMsg:  "Dockerfile line 4: FROM --platform=$TARGETPLATFORM FRONTEND: ",
		},
		{
			name:     "COPY --parents from a dir context",
			in:       "COPY --parents --from=frontend a/b /x\n",
			contexts: both,
			wantErr:  ErrUnsupported,
			wantMsg:  "drop --parents or copy each directory with its own COPY",
		},
		{
			name:     "cache mount seeded from a dir context",
			in:       "FROM python\nRUN --mount=type=cache,from=frontend,target=/c true\n",
			contexts: both,
			wantErr:  ErrUnsupported,
			wantMsg:  "Dockerfile line 2: RUN --mount=type=cache,from=frontend,target=/c true: named context cannot be emulated: a cache mount cannot be seeded from directory/target context \"frontend\"; use a bind mount",
		},
		{
			name:     "here-document source from a dir context",
			in:       "COPY --from=frontend <<EOF /x\nhello\nEOF\n",
			contexts: both,
			wantErr:  ErrUnsupported,
			wantMsg:  "a here-document source <<EOF cannot come from context \"frontend\"",
		},
		{
			name:     "COPY from a dir context without a destination",
			in:       "COPY --from=frontend a\n",
			contexts: both,
			wantErr:  ErrUnsupported,
			wantMsg:  "COPY --from=frontend needs at least one source and a destination",
		},
		{
			name:     "COPY JSON form from a dir context without a destination",
			in:       "COPY --from=frontend [\"a\"]\n",
			contexts: both,
			wantErr:  ErrUnsupported,
			wantMsg:  "needs at least one source and a destination",
		},
		{
			name:     "two --from flags",
			in:       "COPY --from=builder --from=frontend a /b\n",
			contexts: both,
			wantErr:  ErrUnsupported,
			wantMsg:  "COPY has 2 --from flags; keep exactly one",
		},
		{
			name:     "variable source climbing out of a dir context",
			in:       "COPY --from=frontend ${DIR}/../secret /x\n",
			contexts: both,
			wantErr:  ErrUnsupported,
			wantMsg:  "write it as a literal path",
		},
		{
			name:     "mount source climbing out of a dir context",
			in:       "RUN --mount=from=frontend,source=$D/..,target=/x true\n",
			contexts: both,
			wantErr:  ErrUnsupported,
			wantMsg:  "write it as a literal path",
		},
		{
			name:     "context name that is not a stage name",
			in:       "FROM python\n",
			contexts: []Context{{Name: "my/ctx", Kind: Dir, Path: "x"}},
			wantErr:  ErrInvalidContext,
			wantMsg:  `context "my/ctx": invalid named context: not a valid stage name`,
		},
		{
			name:     "context name starting with a digit",
			in:       "FROM python\n",
			contexts: []Context{{Name: "1st", Kind: Image, Image: baseRef}},
			wantErr:  ErrInvalidContext,
			wantMsg:  "not a valid stage name",
		},
		{
			name:     "empty context name",
			in:       "FROM python\n",
			contexts: []Context{{Kind: Image, Image: baseRef}},
			wantErr:  ErrInvalidContext,
			wantMsg:  "not a valid stage name",
		},
		{
			name:     "names differing only in case",
			in:       "FROM python\n",
			contexts: []Context{feDir, {Name: "FrontEnd", Kind: Image, Image: baseRef}},
			wantErr:  ErrInvalidContext,
			wantMsg:  `context "FrontEnd": invalid named context: same name as context "frontend"`,
		},
		{
			name:     "missing kind",
			in:       "FROM python\n",
			contexts: []Context{{Name: "x", Image: baseRef}},
			wantErr:  ErrInvalidContext,
			wantMsg:  "kind Kind(0); use dockerctx.Image or dockerctx.Dir",
		},
		{
			name:     "empty image reference",
			in:       "FROM python\n",
			contexts: []Context{{Name: "x", Kind: Image}},
			wantErr:  ErrInvalidContext,
			wantMsg:  `image reference "" is empty`,
		},
		{
			name:     "image reference with a blank",
			in:       "FROM python\n",
			contexts: []Context{{Name: "x", Kind: Image, Image: "a b"}},
			wantErr:  ErrInvalidContext,
			wantMsg:  "image reference",
		},
	}
	for _, p := range []string{"", "/abs", "../up", "a/../b", "a/", "./a", ".", "a b", "--x", "a$b"} {
		tests = append(tests, struct {
			name     string
			in       string
			contexts []Context
			wantErr  error
			wantMsg  string
		}{
			name:     "dir path " + p,
			in:       "FROM python\n",
			contexts: []Context{{Name: "fe", Kind: Dir, Path: p}},
			wantErr:  ErrInvalidContext,
			wantMsg:  "must be a clean relative path inside the build context",
		})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Rewrite(tt.in, tt.contexts)
			if err == nil {
				t.Fatalf("Rewrite returned %q and no error; want an error wrapping %v", got, tt.wantErr)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q does not wrap %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
			if got != "" {
				t.Errorf("Rewrite returned text %q together with an error", got)
			}
		})
	}
}

// TestRewriteGolden rewrites a multi-stage Dockerfile (Node front end, Python runtime, test
// stage) with contexts = { frontend = <directory> }; run with -update to refresh the golden file.
func TestRewriteGolden(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "multistage.Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Rewrite(string(in), []Context{feDir})
	if err != nil {
		t.Fatalf("Rewrite: %v", err)
	}
	golden := filepath.Join("testdata", "multistage.golden.Dockerfile")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("Rewrite (-want +got):\n%s", diff)
	}
	if again, err := Rewrite(got, []Context{feDir}); err != nil || again != got {
		t.Errorf("rewriting the result again changed it or failed (err %v)", err)
	}
}

// TestQuoteFlagRoundTrip checks that a rewritten --mount flag reads back, through BuildKit's
// flag scanner and CSV reader, as exactly the fields that were written.
func TestQuoteFlagRoundTrip(t *testing.T) {
	tests := [][]string{
		{"type=bind", "source=" + fePath + "/dist", "target=/x"},
		{"source=a,b", "target=/t"},
		{`source=say "hi"`, "target=/t"},
		{`source=back\slash`, "target=it's"},
		{"source=with space", "target=\ttab"},
	}
	for _, fields := range tests {
		word := quoteFlag("--mount=" + csvLine(fields))
		line := "RUN " + word + " true"
		in := parse(line).instructions[0]
		if len(in.flags) != 1 {
			t.Fatalf("%q: got %d flags, want 1", line, len(in.flags))
		}
		name, value, _ := in.flags[0].parts()
		if name != "mount" {
			t.Errorf("%q: flag name %q, want mount", line, name)
		}
		got, err := csv.NewReader(strings.NewReader(value)).Read()
		if err != nil {
			t.Fatalf("%q: reading mount CSV %q: %v", line, value, err)
		}
		if diff := cmp.Diff(fields, got); diff != "" {
			t.Errorf("%q: fields (-want +got):\n%s", line, diff)
		}
		if got := in.text[in.args.start:in.args.end]; got != "true" {
			t.Errorf("%q: arguments %q, want %q", line, got, "true")
		}
	}
}

// TestParseInstructions checks what the scanner sees as instructions, independently of any rewrite.
func TestParseInstructions(t *testing.T) {
	type instr struct {
		Line int
		Cmd  string
		Args string
	}
	tests := []struct {
		name string
		in   string
		want []instr
	}{
		{
			name: "continuations, comments inside them, blank lines",
			in:   "FROM a \\\n  # note\n\n  AS b\n\n# c\nRUN x \\\\\nRUN y\n",
			want: []instr{{1, "from", "a   AS b"}, {7, "run", `x \\`}, {8, "run", "y"}},
		},
		{
			name: "a directive after an instruction is a comment; escape only at the top",
			in:   "FROM a\n# escape=`\nRUN x `\nRUN y\n",
			want: []instr{{1, "from", "a"}, {3, "run", "x `"}, {4, "run", "y"}},
		},
		{
			name: "here-documents: chomp, quoted terminator, JSON form opens none",
			in:   "RUN <<-EOT\n\tRUN no\n\tEOT\nCOPY [\"<<X\", \"/y\"]\nRUN z\n",
			want: []instr{{1, "run", "<<-EOT"}, {4, "copy", `["<<X", "/y"]`}, {5, "run", "z"}},
		},
		{
			name: "here-document words follow shell quoting; a quoted terminator is unquoted",
			in:   "RUN echo \"a <<b\" ${X:-a <<c} \\<<d <<\"E\\\"F\"\nFROM x\nE\"F\nRUN z\n",
			want: []instr{{1, "run", "echo \"a <<b\" ${X:-a <<c} \\<<d <<\"E\\\"F\""}, {4, "run", "z"}},
		},
		{
			name: "an unterminated quote opens no here-document; an unterminated one runs to the end",
			in:   "RUN echo 'x <<EOF\nRUN <<EOF\nFROM frontend\n",
			want: []instr{{1, "run", "echo 'x <<EOF"}, {2, "run", "<<EOF"}},
		},
		{
			name: "a keyword alone",
			in:   "  HEALTHCHECK  \nFROM\tx",
			want: []instr{{1, "healthcheck", ""}, {2, "from", "x"}},
		},
		{
			name: "flags end at the first non-flag word or at --",
			in:   "COPY --a=1 --b=\"x y\" -- --c d\n",
			want: []instr{{1, "copy", "--c d"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []instr
			for _, in := range parse(tt.in).instructions {
				got = append(got, instr{in.line, in.cmd, in.text[in.args.start:in.args.end]})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("instructions (-want +got):\n%s", diff)
			}
		})
	}
}

func BenchmarkRewriteGolden(b *testing.B) {
	in, err := os.ReadFile(filepath.Join("testdata", "multistage.Dockerfile"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Rewrite(string(in), both); err != nil {
			b.Fatal(err)
		}
	}
}
