package dockerctx

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
)

// Rewrite returns dockerfile with every reference to one of contexts replaced by what the
// build can use without named contexts: the image reference for Image contexts, and files
// under the context's Path in the build context for Dir contexts. See the package
// documentation for the exact rules. Text that refers to no context is returned unchanged,
// byte for byte.
func Rewrite(dockerfile string, contexts []Context) (string, error) {
	byName, err := indexContexts(contexts)
	if err != nil {
		return "", err
	}
	r := &rewriter{src: parse(dockerfile), contexts: byName}
	for _, in := range r.src.instructions {
		var err error
		switch in.cmd {
		case "from":
			err = r.from(in)
		case "copy":
			err = r.copy(in)
		case "run":
			err = r.run(in)
		}
		if err != nil {
			return "", fmt.Errorf("Dockerfile line %d: %w", in.line, err)
		}
	}
	return r.apply()
}

// edit replaces the Dockerfile bytes in [start, end) with text.
type edit struct {
	span
	text string
}

// rewriter collects the edits for one Dockerfile.
type rewriter struct {
	src      *source
	contexts map[string]Context
	edits    []edit
}

// lookup returns the context a name written in the Dockerfile refers to. Names that use
// variables, quotes or the escape character are never matched.
func (r *rewriter) lookup(name string) (Context, bool) {
	if name == "" || strings.ContainsAny(name, `$"'`) || strings.IndexByte(name, r.src.escape) >= 0 {
		return Context{}, false
	}
	c, ok := r.contexts[strings.ToLower(name)]
	return c, ok
}

// replace records that the logical range sp of in becomes text.
func (r *rewriter) replace(in *instruction, sp span, text string) {
	r.edits = append(r.edits, edit{in.origSpan(sp), text})
}

// remove records that the logical range sp of in goes away, with the blanks after it on the same line.
func (r *rewriter) remove(in *instruction, sp span) {
	o := in.origSpan(sp)
	for o.end < len(r.src.text) && (r.src.text[o.end] == ' ' || r.src.text[o.end] == '\t') {
		o.end++
	}
	r.edits = append(r.edits, edit{o, ""})
}

// apply returns the Dockerfile with all edits made.
func (r *rewriter) apply() (string, error) {
	if len(r.edits) == 0 {
		return r.src.text, nil
	}
	slices.SortFunc(r.edits, func(a, b edit) int { return a.start - b.start })
	var out strings.Builder
	prev := 0
	for _, e := range r.edits {
		if e.start < prev {
			return "", fmt.Errorf("%w: internal error: overlapping edits at byte %d; please report this Dockerfile", ErrUnsupported, e.start)
		}
		out.WriteString(r.src.text[prev:e.start])
		out.WriteString(e.text)
		prev = e.end
	}
	out.WriteString(r.src.text[prev:])
	return out.String(), nil
}

// unsupported returns an ErrUnsupported error about the instruction.
func unsupported(in *instruction, format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", excerpt(in), ErrUnsupported, fmt.Sprintf(format, args...))
}

// excerpt returns the start of the instruction for error messages.
func excerpt(in *instruction) string {
	t := strings.TrimSpace(in.text)
	if len(t) > 80 {
		return t[:77] + "..."
	}
	return t
}

// from rewrites "FROM [--flags] NAME [AS stage]" when NAME is a context.
func (r *rewriter) from(in *instruction) error {
	args := in.words(in.args)
	if len(args) == 0 {
		return nil
	}
	base := args[0]
	c, ok := r.lookup(unquote(in.text[base.start:base.end]))
	if !ok {
		return nil
	}
	if c.Kind == Dir {
		return unsupported(in, "FROM a directory/target context is not supported without named contexts; use COPY --from=%s to copy files out of context %q in a stage built FROM an image", c.Name, c.Name)
	}
	r.replace(in, base, c.Image)
	return nil
}

// unquote removes one pair of matching quotes around a whole word.
func unquote(w string) string {
	if len(w) >= 2 && (w[0] == '"' || w[0] == '\'') && w[len(w)-1] == w[0] {
		return w[1 : len(w)-1]
	}
	return w
}

// copy rewrites "COPY --from=NAME [flags] SRC... DST" when NAME is a context.
func (r *rewriter) copy(in *instruction) error {
	var froms []flagWord
	var ctx Context
	found := false
	for _, f := range in.flags {
		name, value, hasValue := f.parts()
		if name != "from" {
			continue
		}
		froms = append(froms, f)
		if c, ok := r.lookup(value); ok && hasValue {
			ctx, found = c, true
		}
	}
	if !found {
		return nil
	}
	if len(froms) > 1 {
		return unsupported(in, "COPY has %d --from flags; keep exactly one", len(froms))
	}
	from := froms[0]
	if ctx.Kind == Image {
		r.replace(in, from.span, quoteFlag("--from="+ctx.Image))
		return nil
	}
	for _, f := range in.flags {
		if name, value, hasValue := f.parts(); name == "parents" && (!hasValue || value != "false") {
			return unsupported(in, "COPY --parents from directory/target context %q would also recreate its location %s in the destination; drop --parents or copy each directory with its own COPY", ctx.Name, ctx.Path)
		}
	}
	r.remove(in, from.span)

	if vals, isJSON := in.jsonArgs(); isJSON {
		if len(vals) < 2 {
			return unsupported(in, "COPY --from=%s needs at least one source and a destination", ctx.Name)
		}
		for i, v := range vals[:len(vals)-1] {
			p, err := inContext(ctx.Path, v, r.src.escape)
			if err != nil {
				return unsupported(in, "%v", err)
			}
			vals[i] = p
		}
		r.replace(in, in.args, jsonArray(vals))
		return nil
	}
	args := in.words(in.args)
	if len(args) < 2 {
		return unsupported(in, "COPY --from=%s needs at least one source and a destination", ctx.Name)
	}
	for _, a := range args[:len(args)-1] {
		src := in.text[a.start:a.end]
		if _, isHeredoc := parseHeredoc(src); isHeredoc {
			return unsupported(in, "a here-document source %s cannot come from context %q; drop --from=%s for it", src, ctx.Name, ctx.Name)
		}
		p, err := inContext(ctx.Path, src, r.src.escape)
		if err != nil {
			return unsupported(in, "%v", err)
		}
		r.replace(in, a, p)
	}
	return nil
}

// run rewrites "RUN --mount=...,from=NAME,..." when NAME is a context.
func (r *rewriter) run(in *instruction) error {
	for _, f := range in.flags {
		name, value, hasValue := f.parts()
		if name != "mount" || !hasValue {
			continue
		}
		fields, err := csv.NewReader(strings.NewReader(value)).Read()
		if err != nil {
			continue // BuildKit rejects it; nothing to rewrite
		}
		var ctx Context
		found := false
		mountType := "bind"
		for _, fl := range fields {
			k, v, _ := strings.Cut(fl, "=")
			switch strings.ToLower(k) {
			case "from":
				ctx, found = r.lookup(v)
			case "type":
				mountType = strings.ToLower(v)
			}
		}
		if !found {
			continue
		}
		var out []string
		if ctx.Kind == Image {
			for _, fl := range fields {
				if k, _, _ := strings.Cut(fl, "="); strings.EqualFold(k, "from") {
					fl = k + "=" + ctx.Image
				}
				out = append(out, fl)
			}
		} else {
			if mountType != "bind" {
				return unsupported(in, "a %s mount cannot be seeded from directory/target context %q; use a bind mount (type=bind,from=%s) or COPY --from=%s", mountType, ctx.Name, ctx.Name, ctx.Name)
			}
			hasSource := false
			for _, fl := range fields {
				k, v, _ := strings.Cut(fl, "=")
				switch strings.ToLower(k) {
				case "from":
					continue
				case "source", "src":
					p, err := inContext(ctx.Path, v, r.src.escape)
					if err != nil {
						return unsupported(in, "%v", err)
					}
					fl, hasSource = k+"="+p, true
				}
				out = append(out, fl)
			}
			if !hasSource {
				out = append(out, "source="+ctx.Path)
			}
		}
		r.replace(in, f.span, quoteFlag("--mount="+csvLine(out)))
	}
	return nil
}

// inContext returns the build-context path that stands for src inside a Dir context at dir.
// Literal paths are cleaned as if rooted at the context, so ".." cannot leave it (as in
// BuildKit); paths with quotes, variables or escapes are prefixed as written and may not use "..".
func inContext(dir, src string, escape byte) (string, error) {
	if !strings.ContainsAny(src, `"'$`) && strings.IndexByte(src, escape) < 0 {
		rel := strings.TrimPrefix(path.Clean("/"+src), "/")
		slash := ""
		if strings.HasSuffix(src, "/") {
			slash = "/"
		}
		if rel == "" {
			return dir + slash, nil
		}
		return dir + "/" + rel + slash, nil
	}
	if slices.Contains(strings.Split(src, "/"), "..") {
		return "", fmt.Errorf("source %s uses quotes, variables or escapes together with \"..\", which could leave the context; write it as a literal path", src)
	}
	return dir + "/" + strings.TrimLeft(src, "/"), nil
}

// jsonArray renders strings as a JSON array in Dockerfile exec form.
func jsonArray(vals []string) string {
	quoted := make([]string, len(vals))
	for i, v := range vals {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(v) // encoding a string cannot fail
		quoted[i] = strings.TrimSuffix(b.String(), "\n")
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// csvLine renders mount fields the way BuildKit's CSV reader reads them back.
func csvLine(fields []string) string {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(fields) // writing to a bytes.Buffer cannot fail
	w.Flush()
	return strings.TrimSuffix(b.String(), "\n")
}

// quoteFlag writes a "--name=value" flag so BuildKit's flag scanner reads it back unchanged,
// double-quoting the value when it has blanks, quotes or backslashes.
func quoteFlag(word string) string {
	needs := false
	for i := 0; i < len(word); i++ {
		if c := word[i]; isSpaceByte(c) || c == '"' || c == '\'' || c == '\\' {
			needs = true
			break
		}
	}
	if !needs {
		return word
	}
	name, value, _ := strings.Cut(word, "=")
	value = strings.ReplaceAll(value, `\`, `\\`)
	return name + `="` + strings.ReplaceAll(value, `"`, `\"`) + `"`
}
