package bake

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// targetAttrs are the target attributes evaluated and stored.
var targetAttrs = []string{"annotations", "args", "attest", "cache-from", "cache-to", "call", "context", "contexts",
	"description", "dockerfile", "dockerfile-inline", "entitlements", "extra-hosts", "inherits", "labels", "network", "no-cache",
	"no-cache-filter", "output", "platforms", "pull", "secret", "shm-size", "ssh", "tags", "target", "ulimits"}

// unsupportedTargetAttrs are real bake attributes this package deliberately does not implement, with what to do.
var unsupportedTargetAttrs = map[string]string{
	"resources": "build resource limits are not supported; remove the attribute (the engine decides resources)",
	"policy":    "build policies are not supported; remove the attribute",
}

// targetSpec is one target's attributes before defaults; nil fields were not written.
type targetSpec struct {
	label, name                                          string
	rng                                                  hcl.Range
	inherits                                             []string
	inheritsRange, contextsRange, platformsRange         hcl.Range
	description                                          *string
	context, dockerfile, target, call, network, shmSize  *string
	dockerfileInline                                     *string
	pull, noCache                                        *bool
	args, labels, extraHosts, contexts                   map[string]string
	tags, platforms, annotations, noCacheFilter, ulimits []string
	entitlements                                         []string
	secrets                                              []Secret
	ssh                                                  []SSH
	cacheFrom, cacheTo                                   []CacheEntry
	outputs                                              []Output
	attest                                               []Attest
}

// evaluateTargets evaluates every target block, once per matrix combination, recording each under its name.
func (p *parser) evaluateTargets() error {
	schema := &hcl.BodySchema{}
	for _, a := range append(append([]string{"matrix", "name"}, targetAttrs...), sortedKeys(unsupportedTargetAttrs)...) {
		schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: a})
	}
	for _, b := range p.targetBlocks {
		label := b.Labels[0]
		content, remain, diags := b.Body.PartialContent(schema)
		if diags.HasErrors() {
			return diagsError(ErrInvalid, diags, fmt.Sprintf("fix target %q", label))
		}
		extra, diags := remain.JustAttributes()
		if diags.HasErrors() {
			return diagsError(ErrInvalid, diags, fmt.Sprintf("target %q takes only attributes (%s)", label, strings.Join(targetAttrs, ", ")))
		}
		for _, a := range sortedAttrs(extra) {
			return fmt.Errorf("%s: %w: unknown attribute %q in target %q; supported attributes: %s",
				pos(a.NameRange), ErrInvalid, a.Name, label, strings.Join(targetAttrs, ", "))
		}
		for _, a := range sortedAttrs(content.Attributes) {
			if why, ok := unsupportedTargetAttrs[a.Name]; ok {
				return fmt.Errorf("%s: %w: attribute %q in target %q: %s", pos(a.NameRange), ErrUnsupported, a.Name, label, why)
			}
		}
		ctxs, local, err := p.matrix(content.Attributes["matrix"], label)
		if err != nil {
			return err
		}
		nameAttr, hasName := content.Attributes["name"]
		if hasName && content.Attributes["matrix"] == nil {
			return fmt.Errorf("%s: %w: name in target %q requires matrix; remove name or add matrix = {...}", pos(nameAttr.NameRange), ErrInvalid, label)
		}
		var names []string
		for _, ctx := range ctxs {
			name := label
			if hasName {
				v, err := p.eval(nameAttr.Expr, ctx, local, fmt.Sprintf("the name of target %q", label))
				if err != nil {
					return err
				}
				s, err := convert.Convert(v, cty.String)
				if err != nil || s.IsNull() {
					return fmt.Errorf("%s: %w: the name of target %q must be a string", pos(nameAttr.Expr.Range()), ErrInvalid, label)
				}
				name = s.AsString()
				if !validName.MatchString(name) {
					return fmt.Errorf("%s: %w: target name %q (from the matrix) may only contain letters, digits, _ and -; use sanitize() in name",
						pos(nameAttr.Expr.Range()), ErrInvalid, name)
				}
			}
			if slices.Contains(names, name) {
				return fmt.Errorf("%s: %w: target %q generates the name %q twice; make name use every matrix key",
					pos(b.LabelRanges[0]), ErrDuplicate, label, name)
			}
			names = append(names, name)
			spec, err := p.evaluateTarget(content.Attributes, ctx, local, label, name)
			if err != nil {
				return err
			}
			spec.rng = b.LabelRanges[0]
			p.specs[name] = append(p.specs[name], spec)
		}
		p.renamed[label] = dedupStrings(append(p.renamed[label], names...))
	}
	return nil
}

// matrix returns one evaluation context per combination of the matrix values (just p.ctx without a matrix).
func (p *parser) matrix(a *hcl.Attribute, label string) ([]*hcl.EvalContext, map[string]bool, error) {
	if a == nil {
		return []*hcl.EvalContext{p.ctx}, nil, nil
	}
	where := fmt.Sprintf("the matrix of target %q", label)
	v, err := p.eval(a.Expr, p.ctx, nil, where)
	if err != nil {
		return nil, nil, err
	}
	if !v.Type().IsMapType() && !v.Type().IsObjectType() {
		return nil, nil, fmt.Errorf("%s: %w: %s must be a map of lists, like { tgt = [\"a\", \"b\"] }", pos(a.Expr.Range()), ErrInvalid, where)
	}
	combos := []map[string]cty.Value{{}}
	local := map[string]bool{}
	m := v.AsValueMap()
	for _, k := range sortedKeys(m) {
		local[k] = true
		if !m[k].CanIterateElements() {
			return nil, nil, fmt.Errorf("%s: %w: %s: the value of %q must be a list", pos(a.Expr.Range()), ErrInvalid, where, k)
		}
		var next []map[string]cty.Value
		for _, e := range m[k].AsValueSlice() {
			for _, c := range combos {
				n := map[string]cty.Value{k: e}
				for ck, cv := range c {
					n[ck] = cv
				}
				next = append(next, n)
			}
		}
		combos = next
	}
	var out []*hcl.EvalContext
	for _, c := range combos {
		child := p.ctx.NewChild()
		child.Variables = c
		out = append(out, child)
	}
	return out, local, nil
}

// evaluateTarget evaluates one target block's attributes in ctx; an attribute that evaluates to null counts as not written.
func (p *parser) evaluateTarget(attrs hcl.Attributes, ctx *hcl.EvalContext, local map[string]bool, label, name string) (*targetSpec, error) {
	spec := &targetSpec{label: label, name: name}
	owner := fmt.Sprintf("target %q", name)
	for _, a := range sortedAttrs(attrs) {
		if a.Name == "matrix" || a.Name == "name" {
			continue
		}
		v, err := p.eval(a.Expr, ctx, local, attrWhere(a.Name, owner))
		if err != nil {
			return nil, err
		}
		if v.IsNull() {
			continue
		}
		typed := func(f func(cty.Value) error) error {
			if err := f(v); err != nil {
				return fmt.Errorf("%s: %w: attribute %q of %s: %v", pos(a.Expr.Range()), ErrInvalid, a.Name, owner, err)
			}
			return nil
		}
		switch a.Name {
		case "inherits":
			spec.inherits, err = stringList(a, owner, v)
			spec.inheritsRange = a.Expr.Range()
		case "description":
			spec.description, err = stringAttr(a, owner, v)
		case "context":
			spec.context, err = stringAttr(a, owner, v)
		case "dockerfile":
			spec.dockerfile, err = stringAttr(a, owner, v)
		case "dockerfile-inline":
			spec.dockerfileInline, err = stringAttr(a, owner, v)
		case "target":
			spec.target, err = stringAttr(a, owner, v)
		case "call":
			spec.call, err = stringAttr(a, owner, v)
		case "network":
			spec.network, err = stringAttr(a, owner, v)
		case "shm-size":
			spec.shmSize, err = stringAttr(a, owner, v)
		case "pull":
			spec.pull, err = boolAttr(a, owner, v)
		case "no-cache":
			spec.noCache, err = boolAttr(a, owner, v)
		case "args":
			spec.args, err = stringMap(a, owner, v)
		case "labels":
			spec.labels, err = stringMap(a, owner, v)
		case "extra-hosts":
			spec.extraHosts, err = stringMap(a, owner, v)
		case "contexts":
			spec.contexts, err = stringMap(a, owner, v)
			spec.contextsRange = a.Expr.Range()
		case "tags":
			spec.tags, err = stringList(a, owner, v)
		case "platforms":
			spec.platforms, err = stringList(a, owner, v)
			spec.platformsRange = a.Expr.Range()
		case "annotations":
			spec.annotations, err = stringList(a, owner, v)
		case "no-cache-filter":
			spec.noCacheFilter, err = stringList(a, owner, v)
		case "ulimits":
			spec.ulimits, err = stringList(a, owner, v)
		case "entitlements":
			spec.entitlements, err = stringList(a, owner, v)
		case "secret":
			err = typed(func(v cty.Value) (e error) { spec.secrets, e = secretsValue(v); return })
		case "ssh":
			err = typed(func(v cty.Value) (e error) { spec.ssh, e = sshValue(v); return })
		case "cache-from":
			err = typed(func(v cty.Value) (e error) { spec.cacheFrom, e = cacheValue(v); return })
		case "cache-to":
			err = typed(func(v cty.Value) (e error) { spec.cacheTo, e = cacheValue(v); return })
		case "output":
			err = typed(func(v cty.Value) (e error) { spec.outputs, e = outputsValue(v); return })
		case "attest":
			err = typed(func(v cty.Value) (e error) { spec.attest, e = attestValue(v); return })
		}
		if err != nil {
			return nil, err
		}
	}
	return spec, nil
}

// typeError reports an attribute value of the wrong type.
func typeError(a *hcl.Attribute, owner string, want string, got cty.Value) error {
	return fmt.Errorf("%s: %w: attribute %q of %s must be %s, got %s",
		pos(a.Expr.Range()), ErrInvalid, a.Name, owner, want, got.Type().FriendlyName())
}

// stringAttr converts a non-null string attribute value; numbers and bools become strings.
func stringAttr(a *hcl.Attribute, owner string, v cty.Value) (*string, error) {
	s, err := convert.Convert(v, cty.String)
	if err != nil || !s.IsKnown() {
		return nil, typeError(a, owner, "a string", v)
	}
	str := s.AsString()
	return &str, nil
}

// boolAttr converts a non-null bool attribute value ("true"/"false" strings too).
func boolAttr(a *hcl.Attribute, owner string, v cty.Value) (*bool, error) {
	b, err := convert.Convert(v, cty.Bool)
	if err != nil || !b.IsKnown() {
		return nil, typeError(a, owner, "true or false", v)
	}
	t := b.True()
	return &t, nil
}

// stringList converts a non-null list-of-strings attribute value.
func stringList(a *hcl.Attribute, owner string, v cty.Value) ([]string, error) {
	l, err := convert.Convert(v, cty.List(cty.String))
	if err != nil || l.IsNull() || !l.IsKnown() {
		return nil, typeError(a, owner, `a list of strings like ["a", "b"]`, v)
	}
	out := []string{}
	for _, e := range l.AsValueSlice() {
		if e.IsNull() {
			return nil, fmt.Errorf("%s: %w: attribute %q of %s contains null; remove it", pos(a.Expr.Range()), ErrInvalid, a.Name, owner)
		}
		out = append(out, e.AsString())
	}
	return out, nil
}

// stringMap converts a non-null map attribute value; null values are dropped, numbers and bools become strings.
func stringMap(a *hcl.Attribute, owner string, v cty.Value) (map[string]string, error) {
	m, err := convert.Convert(v, cty.Map(cty.String))
	if err != nil || !m.IsKnown() {
		return nil, typeError(a, owner, `a map of strings like { KEY = "value" }`, v)
	}
	out := map[string]string{}
	for k, e := range m.AsValueMap() {
		if !e.IsNull() {
			out[k] = e.AsString()
		}
	}
	return out, nil
}

// mergeSpec applies src over dst as bake merges targets: scalars and tags, platforms, cache-to and
// output replace; maps merge key by key; annotations, attest, secret, ssh, cache-from,
// no-cache-filter, ulimits, entitlements and inherits accumulate.
func mergeSpec(dst, src *targetSpec) {
	for _, f := range []struct{ dst, src **string }{
		{&dst.context, &src.context}, {&dst.dockerfile, &src.dockerfile}, {&dst.dockerfileInline, &src.dockerfileInline}, {&dst.target, &src.target},
		{&dst.call, &src.call}, {&dst.network, &src.network}, {&dst.shmSize, &src.shmSize},
	} {
		if *f.src != nil {
			*f.dst = *f.src
		}
	}
	if src.description != nil && *src.description != "" {
		dst.description = src.description
	}
	if src.pull != nil {
		dst.pull = src.pull
	}
	if src.noCache != nil {
		dst.noCache = src.noCache
	}
	dst.args = mergeMap(dst.args, src.args)
	dst.labels = mergeMap(dst.labels, src.labels)
	dst.extraHosts = mergeMap(dst.extraHosts, src.extraHosts)
	if src.contexts != nil {
		dst.contexts = mergeMap(dst.contexts, src.contexts)
		dst.contextsRange = src.contextsRange
	}
	if src.tags != nil {
		dst.tags = src.tags
	}
	if src.platforms != nil {
		dst.platforms, dst.platformsRange = src.platforms, src.platformsRange
	}
	if src.cacheTo != nil {
		dst.cacheTo = src.cacheTo
	}
	if src.outputs != nil {
		dst.outputs = src.outputs
	}
	appendSet(&dst.annotations, src.annotations)
	appendSet(&dst.noCacheFilter, src.noCacheFilter)
	appendSet(&dst.ulimits, src.ulimits)
	appendSet(&dst.entitlements, src.entitlements)
	appendSet(&dst.attest, src.attest)
	appendSet(&dst.secrets, src.secrets)
	appendSet(&dst.ssh, src.ssh)
	appendSet(&dst.cacheFrom, src.cacheFrom)
	if src.inherits != nil {
		dst.inherits = append(slices.Clone(dst.inherits), src.inherits...)
		dst.inheritsRange = src.inheritsRange
	}
}

// appendSet appends src to *dst when src was written (non-nil).
func appendSet[T any](dst *[]T, src []T) {
	if src != nil {
		*dst = append(slices.Clone(*dst), src...)
		if *dst == nil {
			*dst = []T{}
		}
	}
}

// normalize drops empty and repeated entries and empty named contexts, as bake does after merging.
func normalize(s *targetSpec) {
	for _, l := range []*[]string{&s.tags, &s.platforms, &s.annotations, &s.noCacheFilter, &s.ulimits} {
		*l = dedupStrings(*l)
	}
	s.secrets = dedupBy(s.secrets, func(x Secret) string { return x.ID })
	s.ssh = dedupBy(s.ssh, func(x SSH) string { return x.ID })
	s.attest = dedupBy(s.attest, func(x Attest) string { return x.Type })
	s.cacheFrom = dedupEqual(s.cacheFrom, cacheEqual)
	s.cacheTo = dedupEqual(s.cacheTo, cacheEqual)
	s.outputs = dedupEqual(s.outputs, outputEqual)
	if s.network != nil && *s.network == "host" {
		s.entitlements = append(s.entitlements, "network.host")
	}
	s.entitlements = dedupStrings(s.entitlements)
	for k, v := range s.contexts {
		if v == "" {
			delete(s.contexts, k)
		}
	}
}

// resolver applies inheritance and overrides, memoising each target.
type resolver struct {
	p         *parser
	overrides map[string][]override
	done      map[string]*targetSpec
}

// spec returns target name merged from its blocks and parents, with its overrides applied, normalised.
func (r *resolver) spec(name string, chain []string) (*targetSpec, error) {
	if s, ok := r.done[name]; ok {
		return s, nil
	}
	blocks := r.p.specs[name]
	own := &targetSpec{name: name, rng: blocks[0].rng}
	for _, b := range blocks {
		mergeSpec(own, b)
	}
	if i := slices.Index(chain, name); i >= 0 {
		cycle := append(slices.Clone(chain[i:]), name)
		return nil, fmt.Errorf("%s: %w in inherits: %s; remove one of these inherits entries", pos(own.inheritsRange), ErrCycle, strings.Join(cycle, " -> "))
	}
	chain = append(chain, name)
	m := &targetSpec{name: name, rng: own.rng}
	for _, parent := range own.inherits {
		if _, ok := r.p.specs[parent]; !ok {
			return nil, fmt.Errorf("%s: %w: target %q inherits %q, which is not a target; available targets: %s",
				pos(own.inheritsRange), ErrUnknownTarget, name, parent, nameList(sortedKeys(r.p.specs)))
		}
		ps, err := r.spec(parent, chain)
		if err != nil {
			return nil, err
		}
		mergeSpec(m, ps)
	}
	mergeSpec(m, own)
	if err := r.apply(m, r.overrides[name]); err != nil {
		return nil, err
	}
	normalize(m)
	if r.done == nil {
		r.done = map[string]*targetSpec{}
	}
	r.done[name] = m
	return m, nil
}

// target builds the public Target for name, filling in bake's defaults.
func (r *resolver) target(name string, chain []string) (*Target, error) {
	s, err := r.spec(name, chain)
	if err != nil {
		return nil, err
	}
	for _, key := range sortedKeys(s.contexts) {
		ref, isTarget := strings.CutPrefix(s.contexts[key], targetContextPrefix)
		if _, ok := r.p.specs[ref]; isTarget && !ok {
			return nil, fmt.Errorf("%s: %w: context %q of target %q refers to target %q, which does not exist; available targets: %s",
				pos(s.contextsRange), ErrUnknownTarget, key, name, ref, nameList(sortedKeys(r.p.specs)))
		}
	}
	str := func(p *string, def string) string {
		if p == nil || *p == "" {
			return def
		}
		return *p
	}
	t := &Target{
		Name: name, Description: str(s.description, ""), Context: cmdPath(str(s.context, ".")),
		Dockerfile: str(s.dockerfile, "Dockerfile"), Target: str(s.target, ""), DockerfileInline: str(s.dockerfileInline, ""),
		Args: cloneMap(s.args), Labels: cloneMap(s.labels), Contexts: cloneMap(s.contexts), ExtraHosts: cloneMap(s.extraHosts),
		Tags: nilIfEmpty(s.tags), Secrets: nilIfEmpty(s.secrets), SSH: nilIfEmpty(s.ssh),
		CacheFrom: nilIfEmpty(s.cacheFrom), CacheTo: nilIfEmpty(s.cacheTo), Outputs: nilIfEmpty(s.outputs),
		Attest: nilIfEmpty(s.attest), Annotations: nilIfEmpty(s.annotations), NoCacheFilter: nilIfEmpty(s.noCacheFilter),
		Ulimits: nilIfEmpty(s.ulimits), Entitlements: nilIfEmpty(s.entitlements),
		Call: str(s.call, ""), Network: str(s.network, ""), ShmSize: str(s.shmSize, ""),
		NoCache: s.noCache != nil && *s.noCache, Pull: s.pull != nil && *s.pull,
	}
	for k, v := range t.Contexts {
		t.Contexts[k] = cmdPath(v)
	}
	for _, raw := range s.platforms {
		// one entry may list several platforms, comma-separated, as bake splits them when it builds
		for _, one := range strings.Split(raw, ",") {
			pl, err := ParsePlatform(one)
			if err != nil {
				return nil, fmt.Errorf("%s: target %q: %w", pos(s.platformsRange), name, err)
			}
			if !slices.Contains(t.Platforms, pl) {
				t.Platforms = append(t.Platforms, pl)
			}
		}
	}
	return t, nil
}

// cmdPath turns a "cwd://PATH" context (see CmdContext) into PATH relative to the source root,
// as bake does when it builds; other values are kept as written.
func cmdPath(s string) string {
	rest, ok := strings.CutPrefix(s, CmdContext)
	if !ok {
		return s
	}
	return path.Clean(rest)
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

// mergeMap copies src over dst key by key and returns the result (a new map), nil when both are empty.
func mergeMap(dst, src map[string]string) map[string]string {
	if len(src) == 0 {
		return dst
	}
	out := make(map[string]string, len(dst)+len(src))
	for k, v := range dst {
		out[k] = v
	}
	for k, v := range src {
		out[k] = v
	}
	return out
}

// refKinds gives the type of each target attribute as another block sees it through target.NAME.ATTR.
var refKinds = map[string]cty.Type{
	"context": cty.String, "dockerfile": cty.String, "dockerfile-inline": cty.String, "target": cty.String, "call": cty.String, "network": cty.String,
	"shm-size": cty.String, "description": cty.String, "pull": cty.Bool, "no-cache": cty.Bool,
	"args": cty.Map(cty.String), "labels": cty.Map(cty.String), "contexts": cty.Map(cty.String), "extra-hosts": cty.Map(cty.String),
	"tags": cty.List(cty.String), "platforms": cty.List(cty.String), "inherits": cty.List(cty.String),
	"annotations": cty.List(cty.String), "no-cache-filter": cty.List(cty.String), "ulimits": cty.List(cty.String),
	"entitlements": cty.List(cty.String),
}

// resolveTargetRef evaluates attribute attr (every attribute when attr is "") of the target blocks
// labelled name, as written in those blocks (before inheritance; the last block wins), and
// publishes them as the variable target.NAME.ATTR.
func (p *parser) resolveTargetRef(name, attr string, rng hcl.Range) error {
	var blocks []*hcl.Block
	for _, b := range p.targetBlocks {
		if b.Labels[0] == name {
			blocks = append(blocks, b)
		}
	}
	if len(blocks) == 0 {
		return fmt.Errorf("%s: %w: target.%s refers to no target block; available targets: %s", pos(rng), ErrUnknownTarget, name, nameList(p.targetLabels()))
	}
	if p.refs[name] == nil {
		p.refs[name] = map[string]cty.Value{"name": cty.StringVal(name)}
	}
	attrs := []string{attr}
	if attr == "" {
		attrs = sortedKeys(refKinds)
	}
	for _, a := range attrs {
		if _, done := p.refs[name][a]; done {
			continue
		}
		typ, ok := refKinds[a]
		if !ok {
			return fmt.Errorf("%s: %w: target.%s.%s: only these attributes can be referenced: %s", pos(rng), ErrUnsupported, name, a, strings.Join(sortedKeys(refKinds), ", "))
		}
		if err := p.push("target."+name+"."+a, rng, "target attributes"); err != nil {
			return err
		}
		v := cty.NullVal(typ)
		for _, b := range blocks {
			content, _, _ := b.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: a}, {Name: "matrix"}}})
			if m, ok := content.Attributes["matrix"]; ok {
				p.pop()
				return fmt.Errorf("%s: %w: target.%s: references to matrix targets are not supported", pos(m.NameRange), ErrUnsupported, name)
			}
			v = cty.NullVal(typ)
			if at, ok := content.Attributes[a]; ok {
				raw, err := p.eval(at.Expr, p.ctx, nil, attrWhere(a, fmt.Sprintf("target %q", name)))
				if err != nil {
					p.pop()
					return err
				}
				if v, err = convert.Convert(raw, typ); err != nil {
					p.pop()
					return typeError(at, fmt.Sprintf("target %q", name), typ.FriendlyName(), raw)
				}
			}
		}
		p.pop()
		p.refs[name][a] = v
	}
	objs := map[string]cty.Value{}
	for n, attrs := range p.refs {
		full := map[string]cty.Value{}
		for k, t := range refKinds {
			full[k] = cty.NullVal(t)
		}
		for k, v := range attrs {
			full[k] = v
		}
		objs[n] = cty.ObjectVal(full)
	}
	p.values["target"] = cty.ObjectVal(objs)
	return nil
}

// targetLabels lists the labels of the target blocks, sorted and deduplicated.
func (p *parser) targetLabels() []string {
	seen := map[string]bool{}
	for _, b := range p.targetBlocks {
		seen[b.Labels[0]] = true
	}
	return sortedKeys(seen)
}
