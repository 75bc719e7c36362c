package bake

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	hcljson "github.com/hashicorp/hcl/v2/json"
	"github.com/zclconf/go-cty/cty"
)

// Target is one fully evaluated bake target, with inheritance and --set overrides applied and defaults filled in.
type Target struct {
	Name        string
	Description string
	Context     string // build context as written ("cwd://" removed), default "."
	Dockerfile  string // Dockerfile path relative to Context, default "Dockerfile"
	// DockerfileInline is the Dockerfile's text when the target gives it inline; it then
	// replaces the file Dockerfile names.
	DockerfileInline string
	Target           string            // Dockerfile stage, "" for the last stage
	Args             map[string]string // build arguments, nil when none
	Tags             []string          // image references, empty and repeated ones dropped (order kept), nil when none
	Platforms        []Platform        // nil means the caller decides; LocalPlatform means the builder's own
	Labels           map[string]string // image labels, nil when none
	Contexts         map[string]string // named contexts: "target:NAME", "docker-image://REF" or a path; empty values removed; nil when none

	// Build-time attributes: stored as bake evaluates them; the consumer decides what it honours,
	// replaces or reports as unsupported. Lists are nil when not written.
	Secrets       []Secret
	SSH           []SSH
	CacheFrom     []CacheEntry
	CacheTo       []CacheEntry
	Outputs       []Output
	Attest        []Attest
	Annotations   []string
	NoCache       bool
	NoCacheFilter []string
	Pull          bool
	Call          string
	Network       string
	ShmSize       string
	Ulimits       []string
	Entitlements  []string
	ExtraHosts    map[string]string
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
	c.ExtraHosts = cloneMap(t.ExtraHosts)
	c.Tags = slices.Clone(t.Tags)
	c.Platforms = slices.Clone(t.Platforms)
	c.Secrets = slices.Clone(t.Secrets)
	c.SSH = slices.Clone(t.SSH)
	c.CacheFrom = slices.Clone(t.CacheFrom)
	c.CacheTo = slices.Clone(t.CacheTo)
	c.Outputs = slices.Clone(t.Outputs)
	c.Attest = slices.Clone(t.Attest)
	c.Annotations = slices.Clone(t.Annotations)
	c.NoCacheFilter = slices.Clone(t.NoCacheFilter)
	c.Ulimits = slices.Clone(t.Ulimits)
	c.Entitlements = slices.Clone(t.Entitlements)
	return &c
}

// File is an evaluated bake file (or several merged).
type File struct {
	Targets   map[string]*Target  // every target by name (matrix targets by their generated names), inheritance applied
	Groups    map[string][]string // group name to member names (targets or groups); a matrix target's label is a group of its targets
	Variables map[string]string   // final value of every declared variable (blocks and top-level attributes), after overrides
}

// Options controls how variables are set while parsing.
type Options struct {
	Vars      map[string]string                // explicit overrides, highest priority; each must name a declared variable (or NAME_JSON of a typed one)
	LookupEnv func(name string) (string, bool) // environment lookup consulted for each declared variable; nil disables it
	// Set holds --set values: "TARGET.KEY=VALUE" (buildx's form: TARGET may be a pattern such as *,
	// KEY is an attribute or args.NAME, labels.NAME, contexts.NAME, "+=" appends to lists), or
	// "NAME=VALUE" without a dot before '=', which overrides a variable like Vars (Vars wins).
	Set []string
	// Builder is the platform of the engine that builds: bake's BAKE_LOCAL_PLATFORM. The zero
	// value means BuilderPlatform.
	Builder Platform
}

// CmdContext is bake's BAKE_CMD_CONTEXT for a local invocation: the directory the command runs
// in, which for shipyard is the root of the source. A context or named context written as
// "cwd://PATH" is PATH relative to it.
const CmdContext = "cwd://"

// builtinVars are bake's built-in variables: always defined, never redefined by a file.
func builtinVars(o Options) map[string]cty.Value {
	local := o.Builder
	if local == (Platform{}) {
		local = BuilderPlatform
	}
	return map[string]cty.Value{
		"BAKE_CMD_CONTEXT":    cty.StringVal(CmdContext),
		"BAKE_LOCAL_PLATFORM": cty.StringVal(local.String()),
	}
}

// SourceFile is one bake file's name (used in error positions and to pick HCL or JSON) and content.
type SourceFile struct {
	Name string
	Data []byte
}

// DefaultFiles are the bake files looked for, in order, when none is named: the old pipeline's
// docker-bake-production.hcl (teams migrating from it keep their file as it is), then the names
// buildx itself reads when given no -f (its compose files aside: bake files only here).
var DefaultFiles = []string{"docker-bake-production.hcl", "docker-bake.json", "docker-bake.hcl"}

// ErrNoBakeFile: no bake file was named and none of DefaultFiles exists.
var ErrNoBakeFile = errors.New("no bake file")

// DefaultFile is the bake file to read when none is named: the first of DefaultFiles that exists.
func DefaultFile(exists func(name string) bool) (string, error) {
	for _, name := range DefaultFiles {
		if exists(name) {
			return name, nil
		}
	}
	return "", fmt.Errorf("%w: none of %s is in the source; pass --bake-file with the path of yours inside --source", ErrNoBakeFile, strings.Join(DefaultFiles, ", "))
}

// OverrideFiles returns the override files bake reads after the main file when it picks files itself:
// docker-bake.override.json and docker-bake.override.hcl in the main file's directory. A consumer
// reads those that exist and passes them after the main file to ParseFiles.
func OverrideFiles(main string) []string {
	dir := filepath.Dir(main)
	return []string{filepath.Join(dir, "docker-bake.override.json"), filepath.Join(dir, "docker-bake.override.hcl")}
}

// validName matches the target and group names bake accepts.
var validName = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// validVariableName matches variable names usable as HCL identifiers.
var validVariableName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// Parse evaluates one bake file (HCL native syntax, or JSON when the name ends in .json).
func Parse(filename string, src []byte, opts Options) (*File, error) {
	return ParseFiles([]SourceFile{{Name: filename, Data: src}}, opts)
}

// ParseFiles evaluates several bake files as one, in order: blocks of the same target merge (later
// attributes win, maps merge key by key), a later variable, function or group replaces an earlier one.
// All references (inherits, target: contexts, group members) are checked here, so a File that parses resolves.
func ParseFiles(files []SourceFile, opts Options) (*File, error) {
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: no bake file given", ErrInvalid)
	}
	p := newParser(opts)
	for _, sf := range files {
		body, err := parseBody(sf)
		if err != nil {
			return nil, err
		}
		if err := p.collect(body); err != nil {
			return nil, err
		}
	}
	return p.run()
}

// parseBody parses one file as HCL or JSON the way bake chooses: by extension, else HCL then JSON.
func parseBody(sf SourceFile) (hcl.Body, error) {
	ext := strings.ToLower(filepath.Ext(sf.Name))
	switch ext {
	case ".yml", ".yaml":
		return nil, fmt.Errorf("%w: %s: compose files are not supported; write a docker-bake.hcl", ErrUnsupported, sf.Name)
	case ".json":
		f, diags := hcljson.Parse(sf.Data, sf.Name)
		if diags.HasErrors() {
			return nil, diagsError(ErrSyntax, diags, "fix the JSON syntax at the position shown")
		}
		return f.Body, nil
	}
	f, diags := hclsyntax.ParseConfig(sf.Data, sf.Name, hcl.InitialPos)
	if diags.HasErrors() {
		if ext != ".hcl" {
			if jf, jdiags := hcljson.Parse(sf.Data, sf.Name); !jdiags.HasErrors() {
				return jf.Body, nil
			}
		}
		return nil, diagsError(ErrSyntax, diags, "fix the HCL syntax at the position shown")
	}
	return f.Body, nil
}

// topSchema is the block structure of a bake file; everything else at the top level is an attribute (a variable).
var topSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
	{Type: "variable", LabelNames: []string{"name"}},
	{Type: "function", LabelNames: []string{"name"}},
	{Type: "group", LabelNames: []string{"name"}},
	{Type: "target", LabelNames: []string{"name"}},
}}

// collect records the blocks and top-level attributes of one file.
func (p *parser) collect(body hcl.Body) error {
	content, remain, diags := body.PartialContent(topSchema)
	if diags.HasErrors() {
		return diagsError(ErrInvalid, diags, "a bake file has variable, function, group and target blocks, each with one name")
	}
	var attrs hcl.Attributes
	if sb, ok := body.(*hclsyntax.Body); ok {
		// hclsyntax's remaining body still lists the matched blocks, so check block types here.
		for _, b := range sb.Blocks {
			if !slices.ContainsFunc(topSchema.Blocks, func(h hcl.BlockHeaderSchema) bool { return h.Type == b.Type }) {
				return fmt.Errorf("%s: %w: unknown block type %q; a bake file has only variable, function, group and target blocks",
					pos(b.TypeRange), ErrInvalid, b.Type)
			}
		}
		attrs = hcl.Attributes{}
		for name, a := range sb.Attributes {
			attrs[name] = a.AsHCLAttribute()
		}
	} else if attrs, diags = remain.JustAttributes(); diags.HasErrors() {
		return diagsError(ErrInvalid, diags, "a bake file has only variable, function, group and target blocks and top-level NAME = value attributes")
	}
	for _, a := range sortedAttrs(attrs) {
		if !validVariableName.MatchString(a.Name) {
			return fmt.Errorf("%s: %w: top-level attribute name %q is not an identifier", pos(a.NameRange), ErrInvalid, a.Name)
		}
		if _, builtin := p.builtins[a.Name]; builtin {
			continue // bake's built-in variables cannot be redefined; bake ignores the definition
		}
		p.vars[a.Name] = &variableDecl{name: a.Name, attr: a, def: a.Expr, rng: a.NameRange}
	}
	for _, b := range content.Blocks {
		name, nameRange := b.Labels[0], b.LabelRanges[0]
		switch b.Type {
		case "variable":
			if !validVariableName.MatchString(name) {
				return fmt.Errorf("%s: %w: variable name %q is not an identifier; use letters, digits and _ and start with a letter or _",
					pos(nameRange), ErrInvalid, name)
			}
			if _, builtin := p.builtins[name]; builtin {
				continue // as bake: a built-in variable keeps its value
			}
			d, err := p.variableBlock(b)
			if err != nil {
				return err
			}
			p.vars[name] = d
		case "function":
			f, err := functionBlock(b)
			if err != nil {
				return err
			}
			p.funcs[name] = f
		case "group":
			if !validName.MatchString(name) {
				return fmt.Errorf("%s: %w: group name %q may only contain letters, digits, _ and -; rename it", pos(nameRange), ErrInvalid, name)
			}
			p.groupBlocks = append(p.groupBlocks, b)
		case "target":
			if !validName.MatchString(name) {
				return fmt.Errorf("%s: %w: target name %q may only contain letters, digits, _ and -; rename it", pos(nameRange), ErrInvalid, name)
			}
			p.targetBlocks = append(p.targetBlocks, b)
		}
	}
	return nil
}

// run evaluates everything collected and builds the File.
func (p *parser) run() (*File, error) {
	if err := p.checkOverrideNames(); err != nil {
		return nil, err
	}
	for _, name := range sortedKeys(p.vars) {
		if err := p.resolveVar(name); err != nil {
			return nil, err
		}
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	for _, name := range sortedKeys(p.funcs) {
		if err := p.resolveFunc(name, p.funcs[name].rng); err != nil {
			return nil, err
		}
	}
	groups, err := p.evaluateGroups()
	if err != nil {
		return nil, err
	}
	if err := p.evaluateTargets(); err != nil {
		return nil, err
	}
	f := &File{Targets: map[string]*Target{}, Groups: groups, Variables: map[string]string{}}
	for name := range p.vars {
		if typ, ok := p.types[name]; ok {
			f.Variables[name] = displayTyped(p.values[name], typ)
		} else {
			f.Variables[name] = displayValue(p.values[name])
		}
	}
	for label, names := range p.renamed {
		if len(names) == 1 && names[0] == label {
			continue
		}
		if _, explicit := f.Groups[label]; !explicit {
			f.Groups[label] = names
		}
	}
	for name, g := range p.groupRanges {
		if _, ok := p.specs[name]; ok {
			return nil, fmt.Errorf("%s: %w: %q is both a group and a target; rename one (they share one namespace)", pos(g), ErrDuplicate, name)
		}
	}
	overrides, err := p.overrides()
	if err != nil {
		return nil, err
	}
	r := &resolver{p: p, overrides: overrides}
	for _, name := range sortedKeys(p.specs) {
		t, err := r.target(name, nil)
		if err != nil {
			return nil, err
		}
		f.Targets[name] = t
	}
	for _, name := range sortedKeys(f.Groups) {
		for _, m := range f.Groups[name] {
			_, isT := f.Targets[m]
			_, isG := f.Groups[m]
			if !isT && !isG {
				return nil, fmt.Errorf("%s: %w: group %q has member %q, which is neither a target nor a group; available targets: %s; groups: %s",
					pos(p.memberRanges[name]), ErrUnknownTarget, name, m, nameList(sortedKeys(f.Targets)), nameList(sortedKeys(f.Groups)))
			}
		}
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	return f, nil
}

// evaluateGroups evaluates every group block; a later block of the same name replaces an earlier one.
func (p *parser) evaluateGroups() (map[string][]string, error) {
	out := map[string][]string{}
	for _, b := range p.groupBlocks {
		name := b.Labels[0]
		content, diags := b.Body.Content(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: "targets"}, {Name: "description"}, {Name: "matrix"}, {Name: "name"},
		}})
		if diags.HasErrors() {
			return nil, diagsError(ErrInvalid, diags, fmt.Sprintf("group %q takes only targets and description", name))
		}
		for _, k := range []string{"matrix", "name"} {
			if a, ok := content.Attributes[k]; ok {
				return nil, fmt.Errorf("%s: %w: %s is not supported for groups; put it in a target", pos(a.NameRange), ErrInvalid, k)
			}
		}
		owner := fmt.Sprintf("group %q", name)
		var members []string
		if a, ok := content.Attributes["targets"]; ok {
			v, err := p.eval(a.Expr, p.ctx, nil, attrWhere(a.Name, owner))
			if err != nil {
				return nil, err
			}
			if !v.IsNull() {
				if members, err = stringList(a, owner, v); err != nil {
					return nil, err
				}
			}
		}
		if a, ok := content.Attributes["description"]; ok {
			if _, err := p.eval(a.Expr, p.ctx, nil, attrWhere(a.Name, owner)); err != nil {
				return nil, err
			}
		}
		out[name] = dedupStrings(members)
		p.groupRanges[name] = b.LabelRanges[0]
		p.memberRanges[name] = b.LabelRanges[0]
		if a, ok := content.Attributes["targets"]; ok {
			p.memberRanges[name] = a.Expr.Range()
		}
	}
	return out, nil
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

// sortedAttrs returns attributes in source order.
func sortedAttrs(attrs hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Range.Filename != out[j].Range.Filename {
			return out[i].Range.Filename < out[j].Range.Filename
		}
		return out[i].Range.Start.Byte < out[j].Range.Start.Byte
	})
	return out
}

func attrWhere(name, owner string) string { return fmt.Sprintf("attribute %q of %s", name, owner) }

// ensure cty is used (values map type).
var _ = cty.NilVal
