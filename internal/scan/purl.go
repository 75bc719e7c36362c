package scan

import (
	"fmt"
	"net/url"
	"strings"
)

// purl is a package URL (https://github.com/package-url/purl-spec) split into its parts, each
// percent-decoded.
type purl struct {
	typ, namespace, name, version, subpath string
	qualifiers                             map[string]string
}

// parsePURL splits "pkg:type/namespace/name@version?qualifiers#subpath" as the purl
// specification reads it. It applies no type-specific normalisation.
func parsePURL(s string) (purl, error) {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || !strings.EqualFold(scheme, "pkg") {
		return purl{}, fmt.Errorf("%q is not a package URL: it must start with pkg:, e.g. pkg:deb/debian/openssl", s)
	}
	var p purl
	var err error
	rest, sub, _ := strings.Cut(rest, "#")
	if p.subpath, err = url.PathUnescape(strings.Trim(sub, "/")); err != nil {
		return purl{}, fmt.Errorf("package URL %q: subpath: %w", s, err)
	}
	rest, query, _ := strings.Cut(rest, "?")
	if p.qualifiers, err = parseQualifiers(query); err != nil {
		return purl{}, fmt.Errorf("package URL %q: qualifiers: %w", s, err)
	}
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	if len(segs) < 2 || segs[0] == "" {
		return purl{}, fmt.Errorf("package URL %q has no type and name: write pkg:TYPE/[NAMESPACE/]NAME[@VERSION]", s)
	}
	p.typ = strings.ToLower(segs[0])
	last := segs[len(segs)-1]
	if i := strings.LastIndex(last, "@"); i >= 0 {
		if p.version, err = url.PathUnescape(last[i+1:]); err != nil {
			return purl{}, fmt.Errorf("package URL %q: version: %w", s, err)
		}
		last = last[:i]
	}
	if p.name, err = url.PathUnescape(last); err != nil || p.name == "" {
		return purl{}, fmt.Errorf("package URL %q has no name: write pkg:TYPE/[NAMESPACE/]NAME[@VERSION]", s)
	}
	ns := segs[1 : len(segs)-1]
	for i, seg := range ns {
		if ns[i], err = url.PathUnescape(seg); err != nil {
			return purl{}, fmt.Errorf("package URL %q: namespace: %w", s, err)
		}
	}
	p.namespace = strings.Join(ns, "/")
	return p, nil
}

func parseQualifiers(query string) (map[string]string, error) {
	q := map[string]string{}
	if query == "" {
		return q, nil
	}
	for kv := range strings.SplitSeq(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		v, err := url.PathUnescape(v)
		if err != nil {
			return nil, err
		}
		if v != "" {
			q[strings.ToLower(k)] = v
		}
	}
	return q, nil
}

// covers says whether the constraint p matches target as trivy's purl.Match does: the same
// type, namespace and name; p's version and subpath when p has them; every qualifier of p
// present in target with the same value.
func (p purl) covers(target purl) bool {
	switch {
	case p.typ != target.typ, p.namespace != target.namespace, p.name != target.name:
		return false
	case p.version != "" && p.version != target.version:
		return false
	case p.subpath != "" && p.subpath != target.subpath:
		return false
	}
	for k, v := range p.qualifiers {
		if target.qualifiers[k] != v {
			return false
		}
	}
	return true
}
