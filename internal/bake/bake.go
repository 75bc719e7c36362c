package bake

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Target is one fully evaluated bake target, with inheritance applied and defaults filled in.
type Target struct {
	Name        string
	Description string
	Context     string            // build context as written, default "."
	Dockerfile  string            // Dockerfile path relative to Context, default "Dockerfile"
	Target      string            // Dockerfile stage, "" for the last stage
	Args        map[string]string // build arguments, nil when none
	Tags        []string          // image references, nil when none
	Platforms   []Platform        // nil means the caller decides
	Labels      map[string]string // image labels, nil when none
	Contexts    map[string]string // named contexts: "target:NAME", "docker-image://REF" or a path; nil when none
}

// targetContextPrefix marks a named context whose value is another target of the same file.
const targetContextPrefix = "target:"

// TargetDeps returns the names of the targets this target uses through "target:" contexts, sorted and deduplicated.
func (t *Target) TargetDeps() []string {
	seen := map[string]bool{}
	var deps []string
	for _, v := range t.Contexts {
		if name, ok := strings.CutPrefix(v, targetContextPrefix); ok && !seen[name] {
			seen[name] = true
			deps = append(deps, name)
		}
	}
	sort.Strings(deps)
	return deps
}

// clone returns a deep copy of the target.
func (t *Target) clone() *Target {
	c := *t
	c.Args = cloneMap(t.Args)
	c.Labels = cloneMap(t.Labels)
	c.Contexts = cloneMap(t.Contexts)
	c.Tags = append([]string(nil), t.Tags...)
	c.Platforms = append([]Platform(nil), t.Platforms...)
	return &c
}

// File is an evaluated bake file.
type File struct {
	Targets   map[string]*Target  // every target by name, inheritance applied
	Groups    map[string][]string // group name to member names (targets or groups) as written
	Variables map[string]string   // final value of every declared variable, after overrides
}

// Options controls how variables are set while parsing.
type Options struct {
	Vars      map[string]string                // explicit overrides, highest priority; each must name a declared variable
	LookupEnv func(name string) (string, bool) // environment lookup consulted for each declared variable; nil disables it
}

// validName matches the target and group names bake accepts.
var validName = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// validVariableName matches variable names usable as HCL identifiers.
var validVariableName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// Attribute sets per block type.
var (
	targetAttrs   = []string{"args", "context", "contexts", "description", "dockerfile", "inherits", "labels", "platforms", "tags", "target"}
	groupAttrs    = []string{"description", "targets"}
	variableAttrs = []string{"default", "description"}
	// unsupportedAttrs are real bake attributes, per block type, that this package deliberately does not implement.
	unsupportedAttrs = map[string]map[string]string{
		"target": {
			"matrix":            "matrix targets are not supported; write one target block per combination",
			"name":              "the name attribute only makes sense with matrix, which is not supported",
			"dockerfile-inline": "inline Dockerfiles are not supported; put the Dockerfile in the repository and set dockerfile",
		},
		"variable": {
			"type":       "typed variables are not supported; use an untyped default (its type is inferred)",
			"validation": "variable validation is not supported; check the value where it is used",
		},
	}
	// otherTargetAttrs are bake target attributes outside the supported subset.
	otherTargetAttrs = []string{"annotations", "attest", "cache-from", "cache-to", "call", "entitlements", "extra-hosts",
		"network", "no-cache", "no-cache-filter", "output", "pull", "secret", "shm-size", "ssh", "ulimits"}
)

// Parse evaluates a bake file in HCL native syntax and returns its targets, groups and variables.
//
// filename is used in error positions. Variables take opts.Vars first, then opts.LookupEnv, then their default.
// All references (inherits, target: contexts, group members) are checked here, so a File that parses resolves.
func Parse(filename string, src []byte, opts Options) (*File, error) {
	switch strings.ToLower(filepath.Ext(filename)) {
	case ".json", ".yml", ".yaml":
		return nil, fmt.Errorf("%w: %s: only HCL bake files are supported, not JSON or compose files; convert it to HCL", ErrUnsupported, filename)
	}
	hf, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diagsError(ErrSyntax, diags, "fix the HCL syntax at the position shown")
	}
	body, ok := hf.Body.(*hclsyntax.Body)
	if !ok {
		return nil, fmt.Errorf("%w: %s did not parse as HCL native syntax; use a .hcl file", ErrSyntax, filename)
	}
	p := &parser{
		variables: map[string]*variableDecl{},
		targets:   map[string]*targetSpec{},
		groups:    map[string]*groupSpec{},
	}
	if err := p.collect(body); err != nil {
		return nil, err
	}
	values, err := evaluateVariables(p.variables, opts)
	if err != nil {
		return nil, err
	}
	p.ctx = &hcl.EvalContext{Variables: values, Functions: functions}
	if err := p.evaluate(); err != nil {
		return nil, err
	}
	f := &File{Targets: map[string]*Target{}, Groups: map[string][]string{}, Variables: map[string]string{}}
	for name, v := range values {
		f.Variables[name] = displayValue(v)
	}
	for name, g := range p.groups {
		f.Groups[name] = g.members
	}
	for _, name := range sortedKeys(p.targets) {
		m, err := p.merged(name, nil)
		if err != nil {
			return nil, err
		}
		f.Targets[name] = toTarget(name, m)
	}
	if err := f.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", filename, err)
	}
	return f, nil
}

// parser holds the blocks of one file while it is evaluated.
type parser struct {
	variables map[string]*variableDecl
	targets   map[string]*targetSpec
	groups    map[string]*groupSpec
	ctx       *hcl.EvalContext
	merges    map[string]*targetSpec // targets with inheritance applied
}

// groupSpec is one group block.
type groupSpec struct {
	block   *hclsyntax.Block
	members []string
}

// targetSpec is one target block's own attributes before inheritance; nil or unset fields were not written.
type targetSpec struct {
	block         *hclsyntax.Block
	inherits      []string
	inheritsRange hcl.Range
	description   *string
	context       *string
	dockerfile    *string
	target        *string
	args          map[string]string
	labels        map[string]string
	contexts      map[string]string
	tags          []string
	tagsSet       bool
	platforms     []Platform
	platformsSet  bool
}

// collect records every top-level block and rejects unknown or unsupported constructs.
func (p *parser) collect(body *hclsyntax.Body) error {
	if attrs := sortedAttributes(body.Attributes); len(attrs) > 0 {
		a := attrs[0]
		return fmt.Errorf("%s: %w: top-level attribute %q; declare it as variable %q { default = ... } instead",
			pos(a.NameRange), ErrUnsupported, a.Name, a.Name)
	}
	firstSeen := map[string]hcl.Range{} // "kind name" -> where declared
	for _, b := range body.Blocks {
		switch b.Type {
		case "variable", "group", "target":
		case "function":
			return fmt.Errorf("%s: %w: function blocks are not supported; use the built-in functions (%s) or compute the value outside the bake file",
				pos(b.TypeRange), ErrUnsupported, strings.Join(FunctionNames(), ", "))
		default:
			return fmt.Errorf("%s: %w: unknown block type %q; a bake file has only variable, group and target blocks",
				pos(b.TypeRange), ErrInvalid, b.Type)
		}
		if len(b.Labels) != 1 {
			return fmt.Errorf("%s: %w: %s block has %d labels; write exactly one name, e.g. %s \"name\" { ... }",
				pos(b.TypeRange), ErrInvalid, b.Type, len(b.Labels), b.Type)
		}
		name := b.Labels[0]
		nameRange := b.LabelRanges[0]
		if b.Type == "variable" && !validVariableName.MatchString(name) {
			return fmt.Errorf("%s: %w: variable name %q is not an identifier; use letters, digits and _ and start with a letter or _",
				pos(nameRange), ErrInvalid, name)
		}
		if b.Type != "variable" && !validName.MatchString(name) {
			return fmt.Errorf("%s: %w: %s name %q may only contain letters, digits, _ and -; rename it",
				pos(nameRange), ErrInvalid, b.Type, name)
		}
		key := b.Type + " " + name
		if b.Type == "group" || b.Type == "target" {
			key = "target/group " + name
		}
		if first, dup := firstSeen[key]; dup {
			return fmt.Errorf("%s: %w: %s %q is already defined at %s; merge the two blocks or rename one",
				pos(nameRange), ErrDuplicate, b.Type, name, pos(first))
		}
		firstSeen[key] = nameRange
		if err := p.collectBlock(b, name); err != nil {
			return err
		}
	}
	return nil
}

// collectBlock checks one block's attributes against its schema and records it.
func (p *parser) collectBlock(b *hclsyntax.Block, name string) error {
	var allowed []string
	switch b.Type {
	case "variable":
		allowed = variableAttrs
	case "group":
		allowed = groupAttrs
	default:
		allowed = targetAttrs
	}
	if len(b.Body.Blocks) > 0 {
		nb := b.Body.Blocks[0]
		if why, ok := unsupportedAttrs[b.Type][nb.Type]; ok {
			return fmt.Errorf("%s: %w: %s block in %s %q: %s", pos(nb.TypeRange), ErrUnsupported, nb.Type, b.Type, name, why)
		}
		return fmt.Errorf("%s: %w: nested %q block in %s %q; bake %s blocks take only attributes (%s)",
			pos(nb.TypeRange), ErrUnsupported, nb.Type, b.Type, name, b.Type, strings.Join(allowed, ", "))
	}
	for _, a := range sortedAttributes(b.Body.Attributes) {
		if slices.Contains(allowed, a.Name) {
			continue
		}
		if why, ok := unsupportedAttrs[b.Type][a.Name]; ok {
			return fmt.Errorf("%s: %w: attribute %q in %s %q: %s", pos(a.NameRange), ErrUnsupported, a.Name, b.Type, name, why)
		}
		if b.Type == "target" && slices.Contains(otherTargetAttrs, a.Name) {
			return fmt.Errorf("%s: %w: attribute %q in target %q is a bake attribute this package does not implement (supported: %s); remove it or add support in internal/bake",
				pos(a.NameRange), ErrUnsupported, a.Name, name, strings.Join(allowed, ", "))
		}
		return fmt.Errorf("%s: %w: unknown attribute %q in %s %q; supported attributes: %s",
			pos(a.NameRange), ErrInvalid, a.Name, b.Type, name, strings.Join(allowed, ", "))
	}
	switch b.Type {
	case "variable":
		d := &variableDecl{name: name, block: b}
		if a, ok := b.Body.Attributes["default"]; ok {
			d.def = a.Expr
		}
		p.variables[name] = d
	case "group":
		p.groups[name] = &groupSpec{block: b}
	default:
		p.targets[name] = &targetSpec{block: b}
	}
	return nil
}

// evaluate evaluates the attributes of every group and target block.
func (p *parser) evaluate() error {
	for _, name := range sortedKeys(p.groups) {
		g := p.groups[name]
		a, ok := g.block.Body.Attributes["targets"]
		if !ok {
			continue
		}
		owner := fmt.Sprintf("group %q", name)
		v, err := p.value(a, owner)
		if err != nil {
			return err
		}
		members, err := stringList(a, owner, v)
		if err != nil {
			return err
		}
		for _, m := range members {
			if err := p.checkMember(m, a, name); err != nil {
				return err
			}
		}
		g.members = members
	}
	for _, name := range sortedKeys(p.targets) {
		if err := p.evaluateTarget(name, p.targets[name]); err != nil {
			return err
		}
	}
	return nil
}

// evaluateTarget fills spec from its block's attributes; an attribute that evaluates to null counts as not written.
func (p *parser) evaluateTarget(name string, spec *targetSpec) error {
	owner := fmt.Sprintf("target %q", name)
	for _, a := range sortedAttributes(spec.block.Body.Attributes) {
		v, err := p.value(a, owner)
		if err != nil {
			return err
		}
		if v.IsNull() {
			continue
		}
		switch a.Name {
		case "inherits":
			spec.inherits, err = stringList(a, owner, v)
			spec.inheritsRange = a.Expr.Range()
			for _, parent := range spec.inherits {
				if _, ok := p.targets[parent]; !ok && err == nil {
					err = fmt.Errorf("%s: %w: target %q inherits %q, which is not a target; available targets: %s",
						pos(a.Expr.Range()), ErrUnknownTarget, name, parent, nameList(sortedKeys(p.targets)))
				}
			}
		case "description":
			spec.description, err = stringAttr(a, owner, v)
		case "context":
			spec.context, err = stringAttr(a, owner, v)
		case "dockerfile":
			spec.dockerfile, err = stringAttr(a, owner, v)
		case "target":
			spec.target, err = stringAttr(a, owner, v)
		case "args":
			spec.args, err = stringMap(a, owner, v)
		case "labels":
			spec.labels, err = stringMap(a, owner, v)
		case "contexts":
			spec.contexts, err = stringMap(a, owner, v)
			for _, key := range sortedKeys(spec.contexts) {
				ref, isTarget := strings.CutPrefix(spec.contexts[key], targetContextPrefix)
				if _, ok := p.targets[ref]; isTarget && !ok && err == nil {
					err = fmt.Errorf("%s: %w: context %q of target %q refers to target %q, which does not exist; available targets: %s",
						pos(a.Expr.Range()), ErrUnknownTarget, key, name, ref, nameList(sortedKeys(p.targets)))
				}
			}
		case "tags":
			spec.tags, err = stringList(a, owner, v)
			spec.tagsSet = true
		case "platforms":
			spec.platforms, err = platformList(a, name, v)
			spec.platformsSet = true
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// checkMember verifies that a member of group owner names an existing target or group.
func (p *parser) checkMember(member string, a *hclsyntax.Attribute, owner string) error {
	if _, ok := p.targets[member]; ok {
		return nil
	}
	if _, ok := p.groups[member]; ok {
		return nil
	}
	return fmt.Errorf("%s: %w: group %q has member %q, which is neither a target nor a group; available targets: %s; groups: %s",
		pos(a.Expr.Range()), ErrUnknownTarget, owner, member,
		nameList(sortedKeys(p.targets)), nameList(sortedKeys(p.groups)))
}

// value evaluates an attribute's expression of block owner after checking its references.
func (p *parser) value(a *hclsyntax.Attribute, owner string) (cty.Value, error) {
	where := fmt.Sprintf("attribute %q of %s", a.Name, owner)
	if err := checkReferences(a.Expr, p.variables, where); err != nil {
		return cty.NilVal, err
	}
	v, diags := a.Expr.Value(p.ctx)
	if diags.HasErrors() {
		return cty.NilVal, diagsError(ErrInvalid, diags, "fix the expression of "+where)
	}
	return v, nil
}

// typeError reports an attribute value of the wrong type.
func typeError(a *hclsyntax.Attribute, owner string, want string, got cty.Value) error {
	return fmt.Errorf("%s: %w: attribute %q of %s must be %s, got %s",
		pos(a.Expr.Range()), ErrInvalid, a.Name, owner, want, got.Type().FriendlyName())
}

// stringAttr converts a non-null string attribute value; numbers and bools become strings.
func stringAttr(a *hclsyntax.Attribute, owner string, v cty.Value) (*string, error) {
	s, err := convert.Convert(v, cty.String)
	if err != nil {
		return nil, typeError(a, owner, "a string", v)
	}
	str := s.AsString()
	return &str, nil
}

// stringList converts a non-null list-of-strings attribute value.
func stringList(a *hclsyntax.Attribute, owner string, v cty.Value) ([]string, error) {
	l, err := convert.Convert(v, cty.List(cty.String))
	if err != nil || l.IsNull() {
		return nil, typeError(a, owner, `a list of strings like ["a", "b"]`, v)
	}
	var out []string
	for _, e := range l.AsValueSlice() {
		if e.IsNull() {
			return nil, fmt.Errorf("%s: %w: attribute %q of %s contains null; remove it", pos(a.Expr.Range()), ErrInvalid, a.Name, owner)
		}
		out = append(out, e.AsString())
	}
	return out, nil
}

// stringMap converts a non-null map attribute value; null values are dropped, numbers and bools become strings.
func stringMap(a *hclsyntax.Attribute, owner string, v cty.Value) (map[string]string, error) {
	m, err := convert.Convert(v, cty.Map(cty.String))
	if err != nil {
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

// platformList converts a platforms attribute value of target name, normalising each entry.
func platformList(a *hclsyntax.Attribute, name string, v cty.Value) ([]Platform, error) {
	raw, err := stringList(a, fmt.Sprintf("target %q", name), v)
	if err != nil {
		return nil, err
	}
	var out []Platform
	for _, s := range raw {
		pl, err := ParsePlatform(s)
		if err != nil {
			return nil, fmt.Errorf("%s: target %q: %w", pos(a.Expr.Range()), name, err)
		}
		out = append(out, pl)
	}
	return out, nil
}

// merged returns target name with its parents applied in order (later parents win, the target itself wins last).
func (p *parser) merged(name string, chain []string) (*targetSpec, error) {
	if m, ok := p.merges[name]; ok {
		return m, nil
	}
	for i, c := range chain {
		if c == name {
			cycle := append(append([]string{}, chain[i:]...), name)
			return nil, fmt.Errorf("%s: %w in inherits: %s; remove one of these inherits entries",
				pos(p.targets[name].inheritsRange), ErrCycle, strings.Join(cycle, " -> "))
		}
	}
	chain = append(chain, name)
	spec := p.targets[name]
	m := &targetSpec{}
	for _, parent := range spec.inherits {
		ps, err := p.merged(parent, chain)
		if err != nil {
			return nil, err
		}
		mergeSpec(m, ps)
	}
	mergeSpec(m, spec)
	if p.merges == nil {
		p.merges = map[string]*targetSpec{}
	}
	p.merges[name] = m
	return m, nil
}

// mergeSpec applies the attributes set in src over dst: scalars and lists replace, maps merge key by key.
func mergeSpec(dst, src *targetSpec) {
	for _, f := range []struct{ dst, src **string }{
		{&dst.description, &src.description},
		{&dst.context, &src.context},
		{&dst.dockerfile, &src.dockerfile},
		{&dst.target, &src.target},
	} {
		if *f.src != nil {
			*f.dst = *f.src
		}
	}
	dst.args = mergeMap(dst.args, src.args)
	dst.labels = mergeMap(dst.labels, src.labels)
	dst.contexts = mergeMap(dst.contexts, src.contexts)
	if src.tagsSet {
		dst.tags, dst.tagsSet = src.tags, true
	}
	if src.platformsSet {
		dst.platforms, dst.platformsSet = src.platforms, true
	}
}

// toTarget builds the public Target from a merged spec, filling in bake's defaults.
func toTarget(name string, s *targetSpec) *Target {
	t := &Target{
		Name:       name,
		Context:    ".",
		Dockerfile: "Dockerfile",
		Args:       cloneMap(s.args),
		Labels:     cloneMap(s.labels),
		Contexts:   cloneMap(s.contexts),
	}
	for _, f := range []struct {
		dst *string
		src *string
	}{{&t.Description, s.description}, {&t.Context, s.context}, {&t.Dockerfile, s.dockerfile}, {&t.Target, s.target}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	if t.Context == "" {
		t.Context = "."
	}
	if t.Dockerfile == "" {
		t.Dockerfile = "Dockerfile"
	}
	if len(s.tags) > 0 {
		t.Tags = append([]string(nil), s.tags...)
	}
	if len(s.platforms) > 0 {
		t.Platforms = append([]Platform(nil), s.platforms...)
	}
	return t
}

// mergeMap copies src over dst key by key and returns the result, nil when empty.
func mergeMap(dst, src map[string]string) map[string]string {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = map[string]string{}
	}
	for k, v := range src {
		dst[k] = v
	}
	return dst
}

// cloneMap copies m; nil and empty maps give nil.
func cloneMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// sortedAttributes returns a body's attributes in source order.
func sortedAttributes(attrs hclsyntax.Attributes) []*hclsyntax.Attribute {
	out := make([]*hclsyntax.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SrcRange.Start.Byte < out[j].SrcRange.Start.Byte })
	return out
}
