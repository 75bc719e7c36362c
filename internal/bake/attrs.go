package bake

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Secret is one build secret: ID as the Dockerfile mounts it, read from the file Src or the
// environment variable Env (both empty: BuildKit's default, the variable or file named ID).
type Secret struct {
	ID  string
	Src string
	Env string
}

// SSH is one SSH agent socket or key set forwarded to the build (ID "default" is the agent).
type SSH struct {
	ID    string
	Paths []string
}

// CacheEntry is one cache-from or cache-to entry: Type (registry, local, gha, ...) and its attributes.
type CacheEntry struct {
	Type  string
	Attrs map[string]string
}

// Output is one output entry: Type (image, registry, local, tar, oci, docker, cacheonly), Dest and other attributes.
type Output struct {
	Type  string
	Dest  string
	Attrs map[string]string
}

// Attest is one attestation request (type sbom or provenance), possibly disabled.
type Attest struct {
	Type     string
	Disabled bool
	Attrs    map[string]string
}

// csvFields splits one CSV record the way buildx reads --secret, --cache-from, ... values.
func csvFields(s string) ([]string, error) {
	r := csv.NewReader(strings.NewReader(s))
	r.FieldsPerRecord = -1
	f, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	return f, err
}

// keyValues splits CSV key=value fields; fields without '=' are errors.
func keyValues(s string) ([][2]string, error) {
	fields, err := csvFields(s)
	if err != nil {
		return nil, err
	}
	var out [][2]string
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("invalid value %q: want key=value", f)
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

// ParseSecret reads "id=NAME,env=VAR", "id=NAME,src=PATH" (also type=env|file, source=).
func ParseSecret(s string) (Secret, error) {
	kvs, err := keyValues(s)
	if err != nil {
		return Secret{}, fmt.Errorf("secret %q: %w", s, err)
	}
	var sec Secret
	typ := ""
	for _, kv := range kvs {
		switch strings.ToLower(kv[0]) {
		case "type":
			if kv[1] != "file" && kv[1] != "env" {
				return Secret{}, fmt.Errorf("secret %q: unsupported secret type %q; use file or env", s, kv[1])
			}
			typ = kv[1]
		case "id":
			sec.ID = kv[1]
		case "src", "source":
			sec.Src = kv[1]
		case "env":
			sec.Env = kv[1]
		default:
			return Secret{}, fmt.Errorf("secret %q: unexpected key %q; use id, src or env", s, kv[0])
		}
	}
	if typ == "env" && sec.Env == "" {
		sec.Env, sec.Src = sec.Src, ""
	}
	return sec, nil
}

// ParseSSH reads "default" or "ID=PATH[,PATH...]".
func ParseSSH(s string) SSH {
	id, paths, ok := strings.Cut(s, "=")
	if !ok {
		return SSH{ID: id}
	}
	return SSH{ID: id, Paths: strings.Split(paths, ",")}
}

// ParseCacheEntries reads a cache-from/cache-to value: "type=...,k=v" is one entry; a value without '='
// is a comma-separated list of registry references, one entry each.
func ParseCacheEntries(s string) ([]CacheEntry, error) {
	fields, err := csvFields(s)
	if err != nil {
		return nil, fmt.Errorf("cache entry %q: %w", s, err)
	}
	if !strings.Contains(s, "=") {
		var out []CacheEntry
		for _, f := range fields {
			out = append(out, CacheEntry{Type: "registry", Attrs: map[string]string{"ref": f}})
		}
		return out, nil
	}
	e := CacheEntry{Attrs: map[string]string{}}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("cache entry %q: invalid value %q: want key=value", s, f)
		}
		if k = strings.ToLower(k); k == "type" {
			e.Type = v
		} else {
			e.Attrs[k] = v
		}
	}
	if e.Type == "" {
		return nil, fmt.Errorf("cache entry %q: type required, e.g. type=registry,ref=...", s)
	}
	return []CacheEntry{e}, nil
}

// ParseOutput reads "type=...,dest=...,k=v", a plain path (type local) or "-" (type tar to stdout).
func ParseOutput(s string) (Output, error) {
	fields, err := csvFields(s)
	if err != nil {
		return Output{}, fmt.Errorf("output %q: %w", s, err)
	}
	if len(fields) == 1 && fields[0] == s && !strings.HasPrefix(s, "type=") {
		if s == "-" {
			return Output{Type: "tar", Dest: "-", Attrs: map[string]string{}}, nil
		}
		return Output{Type: "local", Dest: s, Attrs: map[string]string{}}, nil
	}
	o := Output{Attrs: map[string]string{}}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return Output{}, fmt.Errorf("output %q: invalid value %q: want key=value", s, f)
		}
		switch k = strings.TrimSpace(strings.ToLower(k)); k {
		case "type":
			o.Type = v
		case "dest":
			o.Dest = v
		default:
			o.Attrs[k] = v
		}
	}
	if o.Type == "" {
		return Output{}, fmt.Errorf("output %q: type is required, e.g. type=image", s)
	}
	return o, nil
}

// ParseAttest reads "type=sbom|provenance[,disabled=true][,k=v]".
func ParseAttest(s string) (Attest, error) {
	kvs, err := keyValues(s)
	if err != nil {
		return Attest{}, fmt.Errorf("attest %q: %w", s, err)
	}
	a := Attest{Attrs: map[string]string{}}
	for _, kv := range kvs {
		switch strings.TrimSpace(strings.ToLower(kv[0])) {
		case "type":
			a.Type = kv[1]
		case "disabled":
			b, err := strconv.ParseBool(kv[1])
			if err != nil {
				return Attest{}, fmt.Errorf("attest %q: disabled=%q is not a boolean", s, kv[1])
			}
			a.Disabled = b
		default:
			a.Attrs[kv[0]] = kv[1]
		}
	}
	if a.Type == "" {
		return Attest{}, fmt.Errorf("attest %q: attestation type not specified; use type=sbom or type=provenance", s)
	}
	return a, nil
}

// elements iterates a list or tuple value, skipping unknown values and empty strings as buildx does.
func elements(v cty.Value) ([]cty.Value, error) {
	if !v.Type().IsListType() && !v.Type().IsTupleType() && !v.Type().IsSetType() {
		return nil, fmt.Errorf("want a list, got %s", v.Type().FriendlyName())
	}
	var out []cty.Value
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if !e.IsKnown() || e.IsNull() || (e.Type() == cty.String && e.AsString() == "") {
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// objectStrings converts an object or map element to string attributes.
func objectStrings(e cty.Value) (map[string]string, error) {
	m, err := convert.Convert(e, cty.Map(cty.String))
	if err != nil {
		return nil, fmt.Errorf("want a string or an object of strings, got %s", e.Type().FriendlyName())
	}
	out := map[string]string{}
	for k, v := range m.AsValueMap() {
		if v.IsKnown() && !v.IsNull() {
			out[k] = v.AsString()
		}
	}
	return out, nil
}

// take removes key from m and returns its value.
func take(m map[string]string, key string) string {
	v := m[key]
	delete(m, key)
	return v
}

// listValue reads a list attribute whose elements are CSV strings (parse) or objects of strings (object).
func listValue[T any](v cty.Value, parse func(string) ([]T, error), object func(map[string]string) (T, error)) ([]T, error) {
	elems, err := elements(v)
	if err != nil {
		return nil, err
	}
	out := []T{}
	for _, e := range elems {
		if e.Type() == cty.String {
			xs, err := parse(e.AsString())
			if err != nil {
				return nil, err
			}
			out = append(out, xs...)
			continue
		}
		m, err := objectStrings(e)
		if err != nil {
			return nil, err
		}
		x, err := object(m)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

// one adapts a parser of one entry to listValue.
func one[T any](parse func(string) (T, error)) func(string) ([]T, error) {
	return func(s string) ([]T, error) {
		x, err := parse(s)
		if err != nil {
			return nil, err
		}
		return []T{x}, nil
	}
}

func secretsValue(v cty.Value) ([]Secret, error) {
	return listValue(v, one(ParseSecret), func(m map[string]string) (Secret, error) {
		return Secret{ID: m["id"], Src: m["src"], Env: m["env"]}, nil
	})
}

func cacheValue(v cty.Value) ([]CacheEntry, error) {
	return listValue(v, ParseCacheEntries, func(m map[string]string) (CacheEntry, error) {
		c := CacheEntry{Type: take(m, "type"), Attrs: m}
		if c.Type == "" {
			return c, errors.New("cache entry without type; set type = \"registry\" (or local, gha, ...)")
		}
		return c, nil
	})
}

func outputsValue(v cty.Value) ([]Output, error) {
	return listValue(v, one(ParseOutput), func(m map[string]string) (Output, error) {
		o := Output{Type: take(m, "type"), Dest: take(m, "dest"), Attrs: m}
		if o.Type == "" {
			return o, errors.New("output without type; set type = \"image\" (or registry, local, ...)")
		}
		return o, nil
	})
}

func attestValue(v cty.Value) ([]Attest, error) {
	return listValue(v, one(ParseAttest), func(m map[string]string) (Attest, error) {
		a := Attest{Type: take(m, "type"), Attrs: m}
		if d, ok := m["disabled"]; ok {
			delete(m, "disabled")
			var err error
			if a.Disabled, err = strconv.ParseBool(d); err != nil {
				return a, fmt.Errorf("attest disabled=%q is not a boolean", d)
			}
		}
		if a.Type == "" {
			return a, errors.New("attestation type not specified; use type = \"sbom\" or \"provenance\"")
		}
		return a, nil
	})
}

func sshValue(v cty.Value) ([]SSH, error) {
	elems, err := elements(v)
	if err != nil {
		return nil, err
	}
	out := []SSH{}
	for _, e := range elems {
		if e.Type() == cty.String {
			out = append(out, ParseSSH(e.AsString()))
			continue
		}
		obj, err := convert.Convert(e, cty.ObjectWithOptionalAttrs(map[string]cty.Type{"id": cty.String, "paths": cty.List(cty.String)}, []string{"id", "paths"}))
		if err != nil {
			return nil, fmt.Errorf("want a string or {id = ..., paths = [...]}, got %s", e.Type().FriendlyName())
		}
		s := SSH{}
		if id := obj.GetAttr("id"); !id.IsNull() {
			s.ID = id.AsString()
		}
		if p := obj.GetAttr("paths"); !p.IsNull() {
			for _, x := range p.AsValueSlice() {
				s.Paths = append(s.Paths, x.AsString())
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// dedupBy keeps the first position of each key and the last value given for it.
func dedupBy[T any](in []T, key func(T) string) []T {
	if len(in) == 0 {
		return nil
	}
	var out []T
	at := map[string]int{}
	for _, e := range in {
		k := key(e)
		if i, ok := at[k]; ok {
			out[i] = e
			continue
		}
		at[k] = len(out)
		out = append(out, e)
	}
	return out
}

// dedupEqual drops entries equal to an earlier one.
func dedupEqual[T any](in []T, eq func(a, b T) bool) []T {
	if len(in) == 0 {
		return nil
	}
	var out []T
next:
	for _, e := range in {
		for _, o := range out {
			if eq(o, e) {
				continue next
			}
		}
		out = append(out, e)
	}
	return out
}

func cacheEqual(a, b CacheEntry) bool { return a.Type == b.Type && maps.Equal(a.Attrs, b.Attrs) }
func outputEqual(a, b Output) bool {
	return a.Type == b.Type && a.Dest == b.Dest && maps.Equal(a.Attrs, b.Attrs)
}

// dedupStrings drops empty strings and repeats, keeping the first occurrence's order.
func dedupStrings(in []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range in {
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	return out
}
