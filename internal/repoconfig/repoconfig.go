package repoconfig

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"shipyard/internal/imageref"
)

// FileName is where the configuration lives, relative to the repository root.
const FileName = "shipyard.hcl"

// Sentinel errors; every error of Parse wraps one of them.
var (
	// ErrSyntax means the file is not valid HCL native syntax.
	ErrSyntax = errors.New("HCL syntax error")
	// ErrInvalid means the file is valid HCL but not a valid shipyard.hcl.
	ErrInvalid = errors.New("invalid shipyard.hcl")
)

// Config is a parsed shipyard.hcl.
type Config struct {
	// File is the file's name, "" when the repository has none (every default applies).
	File string
	// Project is the project's name, "" when not written.
	Project string
	// Lint is the lint block, nil when absent.
	Lint *Lint
	// Test is the test block, nil when absent: the test stage has nothing to run.
	Test *Test
}

// Lint is what the lint stage runs besides the defaults.
type Lint struct {
	// Image is the lint container's image ("" = DefaultLintImage).
	Image string
	// Packages are Debian packages installed into it with apt-get.
	Packages []string
	// Command runs in the repository root after pre-commit; nil when not written.
	Command []string
	// PreCommitSkip are pre-commit hook ids not run (pre-commit's SKIP).
	PreCommitSkip []string
	// GoChecks turns the Go checks of a go.mod repository off (false) or on; nil = on.
	GoChecks *bool
}

// Test is how the test stage runs the repository's tests.
type Test struct {
	// Target is the bake target of the test image.
	Target string
	// Command runs in the test image.
	Command []string
	// Report is the path of the JUnit report the command writes, "" when it writes none.
	Report string
	// Environment is set for the command.
	Environment map[string]string
	// Services run beside the tests, in the order written.
	Services []Service
}

// Service is a container the tests reach under Alias: a bake target built for the test stage
// (Target) or an image pulled as it is (Image), exactly one of the two.
type Service struct {
	Alias       string
	Target      string
	Image       string
	Port        int
	Environment map[string]string
}

// Targets are the bake targets the test stage builds: the test image, then every service's that
// is a target.
func (t *Test) Targets() []string {
	out := []string{t.Target}
	for _, s := range t.Services {
		if s.Target != "" && !slices.Contains(out, s.Target) {
			out = append(out, s.Target)
		}
	}
	return out
}

// TestWith is the test the test function runs: the test block with the target and command given
// on the command line (each when given). It is nil, with no error, when there is neither a test
// block nor an override: nothing to test. Without a test block both must be given.
func (c *Config) TestWith(target string, command []string) (*Test, error) {
	var t Test
	switch {
	case c.Test != nil:
		t = *c.Test
	case target == "" && command == nil:
		return nil, nil
	}
	if target != "" {
		t.Target = target
	}
	if command != nil {
		t.Command = command
	}
	if t.Target == "" || t.Command == nil {
		return nil, fmt.Errorf("test: %s has no test block, so give both --target (the test image's bake target) and --command", FileName)
	}
	return &t, nil
}

var (
	// projectName is what a repository path component may be: the project prefixes image names.
	projectName = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	// alias is a host name label.
	alias = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`)
	// envName is a portable environment variable name.
	envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// targetName is what bake accepts as a target name.
	targetName = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
)

// Default is the configuration of a repository without shipyard.hcl.
func Default() *Config { return &Config{} }

// Parse reads shipyard.hcl. filename is used in error positions.
func Parse(filename string, src []byte) (*Config, error) {
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, syntaxError(diags)
	}
	body := f.Body.(*hclsyntax.Body)
	c := &Config{File: filename}
	p := &parser{}
	top := section{attrs: []string{"project"}, blocks: []string{"lint", "test"},
		hint: `shipyard.hcl holds project = "NAME" and the blocks lint { … } and test { … }`}
	if err := p.check(body, top); err != nil {
		return nil, err
	}
	if a := body.Attributes["project"]; a != nil {
		v, err := p.str(a, "project")
		if err != nil {
			return nil, err
		}
		if !projectName.MatchString(v) {
			return nil, p.errorf(a.Expr.Range(), "project %q is not a valid image name part: use lower-case letters, digits and . _ - between them, e.g. project = %q", v, suggestProject(v))
		}
		c.Project = v
	}
	for _, b := range body.Blocks {
		if err := p.once(b, body.Blocks); err != nil {
			return nil, err
		}
		var err error
		switch b.Type {
		case "lint":
			c.Lint, err = p.lint(b)
		case "test":
			c.Test, err = p.test(b)
		}
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

// section describes what one body may hold, for the unknown-name errors.
type section struct {
	name   string // "" at the top level
	attrs  []string
	blocks []string
	hint   string
}

// prefix names the section in a message ("" at the top level).
func (s section) prefix() string {
	if s.name == "" {
		return ""
	}
	return s.name + ": "
}

type parser struct{}

func (p *parser) errorf(r hcl.Range, format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", pos(r), ErrInvalid, fmt.Sprintf(format, args...))
}

// check rejects attributes and blocks the section does not know, suggesting the closest name.
func (p *parser) check(body *hclsyntax.Body, s section) error {
	names := make([]string, 0, len(body.Attributes))
	for n := range body.Attributes {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		return body.Attributes[names[i]].SrcRange.Start.Byte < body.Attributes[names[j]].SrcRange.Start.Byte
	})
	for _, n := range names {
		a := body.Attributes[n]
		if slices.Contains(s.attrs, n) {
			continue
		}
		if slices.Contains(s.blocks, n) {
			return p.errorf(a.NameRange, "%s is a block, not an attribute: write %s { … } without =", n, n)
		}
		return p.errorf(a.NameRange, "%sunknown attribute %q%s; %s", s.prefix(), n, didYouMean(n, s.attrs), s.hint)
	}
	for _, b := range body.Blocks {
		if slices.Contains(s.blocks, b.Type) {
			continue
		}
		if slices.Contains(s.attrs, b.Type) {
			return p.errorf(b.TypeRange, "%s is an attribute, not a block: write %s = …", b.Type, b.Type)
		}
		return p.errorf(b.TypeRange, "%sunknown block %q%s; %s", s.prefix(), b.Type, didYouMean(b.Type, s.blocks), s.hint)
	}
	return nil
}

// once rejects a second block of the same type, and labels on blocks that take none.
func (p *parser) once(b *hclsyntax.Block, all hclsyntax.Blocks) error {
	if len(b.Labels) > 0 {
		return p.errorf(b.LabelRanges[0], "the %s block takes no label: write %s { … }", b.Type, b.Type)
	}
	for _, o := range all {
		if o == b {
			return nil
		}
		if o.Type == b.Type {
			return p.errorf(b.TypeRange, "a second %s block (the first is at %s): merge them into one", b.Type, pos(o.TypeRange))
		}
	}
	return nil
}

func (p *parser) lint(b *hclsyntax.Block) (*Lint, error) {
	s := section{name: "lint", attrs: []string{"image", "packages", "command", "pre_commit_skip", "go_checks"},
		hint: "lint takes image, packages, command, pre_commit_skip and go_checks"}
	if err := p.check(b.Body, s); err != nil {
		return nil, err
	}
	l := &Lint{}
	for _, a := range sortedAttrs(b.Body.Attributes) {
		var err error
		switch a.Name {
		case "image":
			if l.Image, err = p.str(a, "lint.image"); err == nil && strings.TrimSpace(l.Image) == "" {
				err = p.errorf(a.Expr.Range(), `lint.image is empty: name an image, e.g. image = %q, or leave image out`, DefaultLintImage)
			}
		case "packages":
			l.Packages, err = p.list(a, "lint.packages", false)
			for _, pkg := range l.Packages {
				if err == nil && !debianPackage.MatchString(pkg) {
					err = p.errorf(a.Expr.Range(), "lint.packages: %q is not a Debian package name (one name per string, e.g. [\"shellcheck\", \"yamllint\"])", pkg)
				}
			}
		case "command":
			l.Command, err = p.list(a, "lint.command", true)
		case "pre_commit_skip":
			l.PreCommitSkip, err = p.list(a, "lint.pre_commit_skip", false)
			for _, id := range l.PreCommitSkip {
				if err == nil && (id == "" || strings.ContainsAny(id, ", \t")) {
					err = p.errorf(a.Expr.Range(), "lint.pre_commit_skip: %q is not a hook id (one id per string, e.g. [\"gofmt\"])", id)
				}
			}
		case "go_checks":
			var v bool
			v, err = p.boolean(a, "lint.go_checks")
			l.GoChecks = &v
		}
		if err != nil {
			return nil, err
		}
	}
	return l, nil
}

// debianPackage is a Debian package name, optionally with =version or /release.
var debianPackage = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+(?:[=/][A-Za-z0-9.+~:-]+)?$`)

func (p *parser) test(b *hclsyntax.Block) (*Test, error) {
	s := section{name: "test", attrs: []string{"target", "command", "report", "environment"}, blocks: []string{"service"},
		hint: `test takes target, command, report, environment and service "ALIAS" { … } blocks`}
	if err := p.check(b.Body, s); err != nil {
		return nil, err
	}
	t := &Test{}
	for _, a := range sortedAttrs(b.Body.Attributes) {
		var err error
		switch a.Name {
		case "target":
			t.Target, err = p.target(a, "test.target")
		case "command":
			t.Command, err = p.list(a, "test.command", true)
		case "report":
			if t.Report, err = p.str(a, "test.report"); err == nil && t.Report == "" {
				err = p.errorf(a.Expr.Range(), `test.report is empty: name the JUnit file the command writes, e.g. report = "/tmp/junit.xml", or leave report out`)
			}
		case "environment":
			t.Environment, err = p.env(a, "test.environment")
		}
		if err != nil {
			return nil, err
		}
	}
	if t.Target == "" {
		return nil, p.errorf(b.TypeRange, `the test block has no target: name the bake target of the test image, e.g. target = "test"`)
	}
	if t.Command == nil {
		return nil, p.errorf(b.TypeRange, `the test block has no command: write the command that runs the tests in that image, e.g. command = ["go", "test", "./..."]`)
	}
	seen := map[string]hcl.Range{}
	for _, sb := range b.Body.Blocks {
		svc, err := p.service(sb)
		if err != nil {
			return nil, err
		}
		if first, ok := seen[svc.Alias]; ok {
			return nil, p.errorf(sb.LabelRanges[0], "a second service %q (the first is at %s): give each service its own alias", svc.Alias, pos(first))
		}
		seen[svc.Alias] = sb.LabelRanges[0]
		t.Services = append(t.Services, svc)
	}
	return t, nil
}

func (p *parser) service(b *hclsyntax.Block) (Service, error) {
	if len(b.Labels) != 1 {
		return Service{}, p.errorf(b.TypeRange, `a service block takes one label, the host name the tests reach it under: service "db" { … }`)
	}
	name := b.Labels[0]
	where := fmt.Sprintf("service %q", name)
	if !alias.MatchString(name) {
		return Service{}, p.errorf(b.LabelRanges[0], "%s: the alias is the host name the tests reach the service under: use lower-case letters, digits and -, e.g. service %q", where, suggestAlias(name))
	}
	s := section{name: where, attrs: []string{"target", "image", "port", "environment"}, hint: "a service takes target or image, port and environment"}
	if err := p.check(b.Body, s); err != nil {
		return Service{}, err
	}
	svc := Service{Alias: name}
	for _, a := range sortedAttrs(b.Body.Attributes) {
		var err error
		switch a.Name {
		case "target":
			svc.Target, err = p.target(a, where+" target")
		case "image":
			svc.Image, err = p.image(a, where+" image")
		case "port":
			svc.Port, err = p.port(a, where+" port")
		case "environment":
			svc.Environment, err = p.env(a, where+" environment")
		}
		if err != nil {
			return Service{}, err
		}
	}
	switch {
	case svc.Target == "" && svc.Image == "":
		return Service{}, p.errorf(b.TypeRange, `%s has no target or image: name the bake target run as the service (target = %q) or an image (image = "postgres:16")`, where, name)
	case svc.Target != "" && svc.Image != "":
		return Service{}, p.errorf(b.Body.Attributes["image"].NameRange, `%s has both a target and an image: keep one (target builds the bake target, image pulls the image)`, where)
	}
	if svc.Port == 0 {
		return Service{}, p.errorf(b.TypeRange, `%s has no port: write the port it listens on (the tests wait for it), e.g. port = 5432`, where)
	}
	return svc, nil
}

// value evaluates a literal expression.
func (p *parser) value(a *hclsyntax.Attribute, what, example string) (cty.Value, error) {
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		return cty.NilVal, p.errorf(a.Expr.Range(), "%s: %s; shipyard.hcl takes literal values only, e.g. %s", what, diagMessage(diags[0]), example)
	}
	if v.IsNull() {
		return cty.NilVal, p.errorf(a.Expr.Range(), "%s is null: write a value, e.g. %s, or leave it out", what, example)
	}
	return v, nil
}

func (p *parser) str(a *hclsyntax.Attribute, what string) (string, error) {
	example := fmt.Sprintf("%s = \"…\"", a.Name)
	v, err := p.value(a, what, example)
	if err != nil {
		return "", err
	}
	if v.Type() != cty.String {
		return "", p.errorf(a.Expr.Range(), "%s must be a string, not %s: write %s", what, typeName(v), example)
	}
	return v.AsString(), nil
}

func (p *parser) target(a *hclsyntax.Attribute, what string) (string, error) {
	v, err := p.str(a, what)
	if err != nil {
		return "", err
	}
	if !targetName.MatchString(v) {
		return "", p.errorf(a.Expr.Range(), "%s %q is not a bake target name (letters, digits, _ and -): name a target of the bake file", what, v)
	}
	return v, nil
}

// image reads an image reference as docker pull takes it ("postgres:16", "ghcr.io/o/r@sha256:…").
func (p *parser) image(a *hclsyntax.Attribute, what string) (string, error) {
	v, err := p.str(a, what)
	if err != nil {
		return "", err
	}
	if _, err := imageref.Parse(v); err != nil {
		return "", p.errorf(a.Expr.Range(), "%s: %v: write it as docker pull takes it, e.g. image = \"postgres:16\"", what, err)
	}
	return v, nil
}

func (p *parser) boolean(a *hclsyntax.Attribute, what string) (bool, error) {
	example := a.Name + " = false"
	v, err := p.value(a, what, example)
	if err != nil {
		return false, err
	}
	if v.Type() != cty.Bool {
		return false, p.errorf(a.Expr.Range(), "%s must be true or false, not %s: write %s", what, typeName(v), example)
	}
	return v.True(), nil
}

func (p *parser) port(a *hclsyntax.Attribute, what string) (int, error) {
	example := "port = 5432"
	v, err := p.value(a, what, example)
	if err != nil {
		return 0, err
	}
	if v.Type() != cty.Number {
		return 0, p.errorf(a.Expr.Range(), "%s must be a number, not %s: write %s", what, typeName(v), example)
	}
	bf := v.AsBigFloat()
	n, acc := bf.Int64()
	if !bf.IsInt() || acc != 0 || n < 1 || n > 65535 {
		return 0, p.errorf(a.Expr.Range(), "%s %s is not a TCP port: write a whole number from 1 to 65535, e.g. %s", what, bf.Text('g', -1), example)
	}
	return int(n), nil
}

// list reads a list of strings; a command must not be empty.
func (p *parser) list(a *hclsyntax.Attribute, what string, command bool) ([]string, error) {
	example := a.Name + ` = ["…", "…"]`
	if command {
		example = a.Name + ` = ["sh", "-c", "…"]`
	}
	v, err := p.value(a, what, example)
	if err != nil {
		return nil, err
	}
	if !v.Type().IsTupleType() && !v.Type().IsListType() {
		return nil, p.errorf(a.Expr.Range(), "%s must be a list of strings, not %s: write %s", what, typeName(v), example)
	}
	out := []string{}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() || e.Type() != cty.String {
			return nil, p.errorf(a.Expr.Range(), "%s must be a list of strings; element %d is %s: quote it", what, len(out)+1, typeName(e))
		}
		out = append(out, e.AsString())
	}
	if command && (len(out) == 0 || out[0] == "") {
		return nil, p.errorf(a.Expr.Range(), "%s is empty: name the program and its arguments, e.g. %s, or leave it out", what, example)
	}
	return out, nil
}

// env reads an environment map; numbers and bools are written as strings.
func (p *parser) env(a *hclsyntax.Attribute, what string) (map[string]string, error) {
	example := a.Name + ` = { NAME = "value" }`
	v, err := p.value(a, what, example)
	if err != nil {
		return nil, err
	}
	if !v.Type().IsObjectType() && !v.Type().IsMapType() {
		return nil, p.errorf(a.Expr.Range(), "%s must be a map of NAME = \"value\", not %s: write %s", what, typeName(v), example)
	}
	out := map[string]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		name := k.AsString()
		if !envName.MatchString(name) {
			return nil, p.errorf(a.Expr.Range(), "%s: %q is not an environment variable name (letters, digits and _, not starting with a digit)", what, name)
		}
		switch {
		case e.IsNull():
			return nil, p.errorf(a.Expr.Range(), "%s: %s is null: write a string, e.g. %s = \"\"", what, name, name)
		case e.Type() == cty.String:
			out[name] = e.AsString()
		case e.Type() == cty.Number:
			out[name] = e.AsBigFloat().Text('f', -1)
		case e.Type() == cty.Bool:
			out[name] = fmt.Sprint(e.True())
		default:
			return nil, p.errorf(a.Expr.Range(), "%s: %s is %s: environment values are strings, e.g. %s = \"value\"", what, name, typeName(e), name)
		}
	}
	return out, nil
}

func typeName(v cty.Value) string {
	t := v.Type()
	switch {
	case t == cty.String:
		return "a string"
	case t == cty.Number:
		return "a number"
	case t == cty.Bool:
		return "a bool"
	case t.IsTupleType() || t.IsListType() || t.IsSetType():
		return "a list"
	case t.IsObjectType() || t.IsMapType():
		return "a map"
	}
	return t.FriendlyName()
}

func sortedAttrs(attrs hclsyntax.Attributes) []*hclsyntax.Attribute {
	out := make([]*hclsyntax.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SrcRange.Start.Byte < out[j].SrcRange.Start.Byte })
	return out
}

// pos renders the start of a range as "file:line:column".
func pos(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

// diagMessage is an HCL diagnostic's summary and detail as one phrase.
func diagMessage(d *hcl.Diagnostic) string {
	msg := strings.TrimSuffix(d.Summary, ".")
	if d.Detail != "" {
		msg += ": " + strings.TrimSuffix(d.Detail, ".")
	}
	return msg
}

// syntaxError reports the first error of the HCL parser, at its position.
func syntaxError(diags hcl.Diagnostics) error {
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		where := FileName
		if d.Subject != nil {
			where = pos(*d.Subject)
		}
		return fmt.Errorf("%s: %w: %s; fix the HCL syntax at the position shown", where, ErrSyntax, diagMessage(d))
	}
	return fmt.Errorf("%w: %v", ErrSyntax, diags)
}

// didYouMean suggests the closest known name, or nothing.
func didYouMean(name string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := distance(name, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

// distance is the Levenshtein distance of two short names.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// suggestProject turns a name into a valid project name for an error's example.
func suggestProject(s string) string {
	if p := slug(s); p != "" {
		return p
	}
	return DefaultProject
}

func suggestAlias(s string) string {
	if a := slug(s); a != "" {
		return a
	}
	return "db"
}

// slug is s in lower case with runs of anything but a-z and 0-9 turned into one "-", trimmed.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	return b.String()
}
