package dockerctx

import (
	"regexp"
	"strconv"
	"strings"
)

// BaseImages lists the images a build of the Dockerfile up to stage target ("" = the last
// stage) starts from or copies from: the images of FROM and of COPY --from=, in order and
// without duplicates, with the global ARGs (those before the first FROM, with their defaults)
// and the build's args substituted. Earlier stages (by name or index) and scratch are not
// images. Stages after the target are not built and are left out; stages before it are listed
// even when the target does not use them (an over-approximation: every image listed was
// resolved for the build). A reference that still holds a variable after substitution is
// listed as written, so that the caller's resolution fails naming it.
func BaseImages(dockerfile, target string, args map[string]string) []string {
	s := parse(dockerfile)
	global := map[string]string{}
	stages := map[string]bool{}
	seen := map[string]bool{}
	var out []string
	add := func(ref string) {
		if ref == "" || strings.EqualFold(ref, "scratch") || stages[strings.ToLower(ref)] || seen[ref] {
			return
		}
		seen[ref] = true
		out = append(out, ref)
	}
	lookup := func(name string) (string, bool) {
		if v, ok := args[name]; ok {
			return v, true
		}
		v, ok := global[name]
		return v, ok
	}
	n := 0
	for _, in := range s.instructions {
		a := in.text[in.args.start:in.args.end]
		switch in.cmd {
		case "arg":
			if n > 0 {
				continue
			}
			for _, decl := range strings.Fields(a) {
				name, def, _ := strings.Cut(decl, "=")
				global[name] = expand(unquote(def), lookup)
			}
		case "from":
			if target != "" && n > 0 && stages[strings.ToLower(target)] {
				return out
			}
			words := strings.Fields(a)
			if len(words) == 0 {
				continue
			}
			add(expand(unquote(words[0]), lookup))
			stages[strconv.Itoa(n)] = true
			if len(words) >= 3 && strings.EqualFold(words[1], "as") {
				stages[strings.ToLower(words[2])] = true
			}
			n++
		case "copy":
			for _, f := range in.flags {
				if name, value, ok := f.parts(); ok && name == "from" {
					add(expand(value, lookup))
				}
			}
		}
	}
	return out
}

// reVar matches $NAME, ${NAME}, ${NAME:-default} and ${NAME:+alt}.
var reVar = regexp.MustCompile(`\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\})`)

// expand substitutes the variables lookup knows; unknown ones are kept as written.
func expand(s string, lookup func(string) (string, bool)) string {
	return reVar.ReplaceAllStringFunc(s, func(m string) string {
		g := reVar.FindStringSubmatch(m)
		name := g[1] + g[2]
		v, ok := lookup(name)
		switch g[3] {
		case "-":
			if !ok || v == "" {
				return g[4]
			}
		case "+":
			if ok && v != "" {
				return g[4]
			}
			return ""
		}
		if !ok {
			return m
		}
		return v
	})
}
