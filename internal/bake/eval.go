package bake

import (
	"encoding/csv"
	"fmt"
	"maps"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// jsonSuffix names the override that sets a typed variable from JSON (NAME_JSON).
const jsonSuffix = "_JSON"

// variableDecl is one variable block or top-level attribute.
type variableDecl struct {
	name        string
	attr        *hcl.Attribute // a top-level NAME = value attribute (never overridden), nil for blocks
	def         hcl.Expression // nil when a block has no default
	typeExpr    hcl.Expression // nil when untyped
	validations []validation
	rng         hcl.Range
}

// validation is one validation block of a variable.
type validation struct {
	condition, message hcl.Expression
}

// functionDecl is one user function block.
type functionDecl struct {
	name     string
	params   []string
	variadic string
	result   hcl.Expression
	rng      hcl.Range
}

// parser holds the blocks of the files while they are evaluated.
type parser struct {
	opts         Options
	setVars      map[string]string    // variable overrides from Options.Set
	builtins     map[string]cty.Value // bake's built-in variables (BAKE_*)
	vars         map[string]*variableDecl
	funcs        map[string]*functionDecl
	groupBlocks  []*hcl.Block
	targetBlocks []*hcl.Block
	groupRanges  map[string]hcl.Range // group name -> its label
	memberRanges map[string]hcl.Range // group name -> its targets expression

	ctx       *hcl.EvalContext // variables and functions, filled lazily
	values    map[string]cty.Value
	types     map[string]cty.Type // declared types of typed variables
	running   []string            // variables and functions being resolved, for cycle reports
	funcsDone map[string]bool
	refs      map[string]map[string]cty.Value // target.NAME.ATTR values resolved so far

	specs   map[string][]*targetSpec // evaluated target blocks by (generated) name, in order
	renamed map[string][]string      // block label -> generated names
}

func newParser(opts Options) *parser {
	p := &parser{
		opts: opts, setVars: map[string]string{},
		vars: map[string]*variableDecl{}, funcs: map[string]*functionDecl{}, groupRanges: map[string]hcl.Range{}, memberRanges: map[string]hcl.Range{},
		values: map[string]cty.Value{}, types: map[string]cty.Type{}, refs: map[string]map[string]cty.Value{}, funcsDone: map[string]bool{},
		specs: map[string][]*targetSpec{}, renamed: map[string][]string{},
	}
	fns := maps.Clone(builtins)
	p.builtins = builtinVars(opts)
	maps.Copy(p.values, p.builtins)
	p.ctx = &hcl.EvalContext{Variables: p.values, Functions: fns}
	for _, s := range opts.Set {
		key, val, _ := strings.Cut(s, "=")
		if !strings.Contains(key, ".") {
			p.setVars[key] = val
		}
	}
	return p
}

// variableBlock reads a variable block: default, description, type and validation blocks.
func (p *parser) variableBlock(b *hcl.Block) (*variableDecl, error) {
	name := b.Labels[0]
	content, diags := b.Body.Content(&hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "default"}, {Name: "description"}, {Name: "type"}},
		Blocks:     []hcl.BlockHeaderSchema{{Type: "validation"}},
	})
	if diags.HasErrors() {
		return nil, diagsError(ErrInvalid, diags, fmt.Sprintf("variable %q takes default, description, type and validation blocks", name))
	}
	d := &variableDecl{name: name, rng: b.LabelRanges[0]}
	if a, ok := content.Attributes["default"]; ok {
		d.def = a.Expr
	}
	if a, ok := content.Attributes["type"]; ok {
		d.typeExpr = a.Expr
	}
	for _, vb := range content.Blocks {
		vc, diags := vb.Body.Content(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: "condition", Required: true}, {Name: "error_message", Required: true},
		}})
		if diags.HasErrors() {
			return nil, diagsError(ErrInvalid, diags, fmt.Sprintf("a validation block of variable %q needs condition and error_message", name))
		}
		d.validations = append(d.validations, validation{vc.Attributes["condition"].Expr, vc.Attributes["error_message"].Expr})
	}
	return d, nil
}

// functionBlock reads a function block: params, optional variadic_params, result.
func functionBlock(b *hcl.Block) (*functionDecl, error) {
	name := b.Labels[0]
	hint := fmt.Sprintf(`function %q needs params = [a, b] and result = EXPR (and optionally variadic_params = rest)`, name)
	content, diags := b.Body.Content(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "params", Required: true}, {Name: "variadic_params"}, {Name: "result", Required: true},
	}})
	if diags.HasErrors() {
		return nil, diagsError(ErrInvalid, diags, hint)
	}
	f := &functionDecl{name: name, result: content.Attributes["result"].Expr, rng: b.LabelRanges[0]}
	exprs, diags := hcl.ExprList(content.Attributes["params"].Expr)
	if diags.HasErrors() {
		return nil, diagsError(ErrInvalid, diags, hint)
	}
	for _, e := range exprs {
		kw := hcl.ExprAsKeyword(e)
		if kw == "" {
			return nil, fmt.Errorf("%s: %w: a parameter of function %q is not an identifier; %s", pos(e.Range()), ErrInvalid, name, hint)
		}
		f.params = append(f.params, kw)
	}
	if a, ok := content.Attributes["variadic_params"]; ok {
		if f.variadic = hcl.ExprAsKeyword(a.Expr); f.variadic == "" {
			return nil, fmt.Errorf("%s: %w: variadic_params of function %q is not an identifier; %s", pos(a.Expr.Range()), ErrInvalid, name, hint)
		}
	}
	return f, nil
}

// checkOverrideNames rejects explicit overrides that name no variable.
func (p *parser) checkOverrideNames() error {
	for _, src := range []struct {
		m    map[string]string
		what string
	}{{p.opts.Vars, "the explicit overrides"}, {p.setVars, "--set"}} {
		for _, name := range sortedKeys(src.m) {
			if _, ok := p.vars[name]; ok {
				continue
			}
			if base, ok := strings.CutSuffix(name, jsonSuffix); ok && p.vars[base] != nil {
				continue
			}
			return fmt.Errorf("%w %q in %s: no variable block declares it (declared: %s); fix the override name or add variable %q { default = \"...\" }",
				ErrUnknownVariable, name, src.what, nameList(sortedKeys(p.vars)), name)
		}
	}
	return nil
}

// lookup returns a variable's override: explicit Vars, then --set NAME=VALUE, then the environment.
func (p *parser) lookup(name string) (string, string, bool) {
	if v, ok := p.opts.Vars[name]; ok {
		return v, "explicit override of variable", true
	}
	if v, ok := p.setVars[name]; ok {
		return v, "--set override of variable", true
	}
	if p.opts.LookupEnv != nil {
		if v, ok := p.opts.LookupEnv(name); ok {
			return v, "environment variable", true
		}
	}
	return "", "", false
}

// push marks name as being resolved, reporting a cycle when it already is.
func (p *parser) push(name string, rng hcl.Range, what string) error {
	for i, r := range p.running {
		if r == name {
			cycle := append(append([]string{}, p.running[i:]...), name)
			return fmt.Errorf("%s: %w between %s: %s; break the loop by making one of them a literal", pos(rng), ErrCycle, what, strings.Join(cycle, " -> "))
		}
	}
	p.running = append(p.running, name)
	return nil
}

func (p *parser) pop() { p.running = p.running[:len(p.running)-1] }

// resolveVar computes the final value of variable name (and what its default needs first).
func (p *parser) resolveVar(name string) error {
	if _, ok := p.values[name]; ok {
		return nil
	}
	d := p.vars[name]
	if err := p.push(name, d.rng, "variable defaults"); err != nil {
		return err
	}
	defer p.pop()
	v, err := p.variableValue(d)
	if err != nil {
		return err
	}
	p.values[name] = v
	return nil
}

// variableValue follows bake: default converted to the declared type; an override (explicit, then
// environment) replaces it, read as JSON (NAME_JSON, typed variables), CSV (typed lists, sets,
// tuples, maps) or a primitive of the declared type or the default's type.
func (p *parser) variableValue(d *variableDecl) (cty.Value, error) {
	where := fmt.Sprintf("variable %q", d.name)
	if d.attr != nil {
		return p.eval(d.def, p.ctx, nil, where)
	}
	typ, typed := cty.DynamicPseudoType, false
	if d.typeExpr != nil {
		t, diags := typeexpr.TypeConstraint(d.typeExpr)
		if diags.HasErrors() {
			if v, err := d.typeExpr.Value(nil); err != nil || !v.IsNull() {
				return cty.NilVal, diagsError(ErrInvalid, diags, "write a type such as string, number, bool, list(string), map(string) or object({...})")
			}
		} else {
			typ = t
			typed = !t.Equals(cty.DynamicPseudoType) || hcl.ExprAsKeyword(d.typeExpr) == "any"
		}
		if typed {
			p.types[d.name] = typ
		}
	}
	raw, source, has := p.lookup(d.name)
	isJSON := false
	if !has || typed {
		if _, declared := p.vars[d.name+jsonSuffix]; !declared {
			if j, src, ok := p.lookup(d.name + jsonSuffix); ok {
				raw, source, has, isJSON = j, src+" (JSON)", true, true
			}
		}
	}
	var val cty.Value
	if d.def == nil {
		if !has {
			if typed {
				return cty.NullVal(typ), nil
			}
			return cty.StringVal(""), nil
		}
	} else {
		v, err := p.eval(d.def, p.ctx, nil, "the default of "+where)
		if err != nil {
			return cty.NilVal, err
		}
		if val, err = convert.Convert(v, typ); err != nil {
			return cty.NilVal, fmt.Errorf("%s: %w: the default of %s is not a %s: %v", pos(d.def.Range()), ErrInvalid, where, typ.FriendlyNameForConstraint(), err)
		}
	}
	if !has {
		return val, nil
	}
	fail := func(err error) (cty.Value, error) {
		return cty.NilVal, fmt.Errorf("%s: %s %q: %w: %v", pos(d.rng), source, d.name, ErrInvalid, err)
	}
	switch {
	case typed && isJSON:
		v, err := ctyjson.Unmarshal([]byte(raw), typ)
		if err != nil {
			return fail(fmt.Errorf("value is not JSON of type %s: %v", typ.FriendlyNameForConstraint(), err))
		}
		return v, nil
	case typ.IsListType() || typ.IsSetType() || typ.IsTupleType() || typ.IsMapType():
		v, err := fromCSV(raw, typ)
		if err != nil {
			return fail(err)
		}
		return v, nil
	case typed && typ.IsPrimitiveType():
		v, err := primitive(raw, typ)
		if err != nil {
			return fail(err)
		}
		return v, nil
	case typed:
		return cty.NilVal, fmt.Errorf("%s: %s %q: %w: a %s variable can only be overridden as JSON; set %s%s instead",
			pos(d.rng), source, d.name, ErrUnsupported, typ.FriendlyNameForConstraint(), d.name, jsonSuffix)
	case d.def == nil || val.Type().Equals(cty.DynamicPseudoType):
		return cty.StringVal(raw), nil
	case val.Type().IsPrimitiveType():
		v, err := primitive(raw, val.Type())
		if err != nil {
			return fail(fmt.Errorf("%v (the default is a %s)", err, val.Type().FriendlyName()))
		}
		return v, nil
	default:
		return cty.NilVal, fmt.Errorf("%s: %s %q: %w: the default is a %s and overriding an untyped non-primitive variable is not supported; declare type = ... and pass JSON in %s%s",
			pos(d.rng), source, d.name, ErrUnsupported, val.Type().FriendlyName(), d.name, jsonSuffix)
	}
}

// primitive parses an override string as a string, bool or number.
func primitive(raw string, typ cty.Type) (cty.Value, error) {
	switch {
	case typ.Equals(cty.String):
		return cty.StringVal(raw), nil
	case typ.Equals(cty.Bool):
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return cty.NilVal, fmt.Errorf("value %q is not a boolean; use true or false", raw)
		}
		return cty.BoolVal(b), nil
	case typ.Equals(cty.Number):
		n, err := strconv.ParseFloat(raw, 64)
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
			return cty.NilVal, fmt.Errorf("value %q is not a number", raw)
		}
		return cty.NumberVal(big.NewFloat(n)), nil
	}
	return cty.NilVal, fmt.Errorf("type %s is not a primitive", typ.FriendlyName())
}

// fromCSV reads a comma-separated override into a list, set, tuple or map (k:v pairs) of primitives.
func fromCSV(raw string, typ cty.Type) (cty.Value, error) {
	fields, err := csvFields(raw)
	if err != nil {
		return cty.NilVal, fmt.Errorf("value %q is not CSV: %v", raw, err)
	}
	elem := func(t cty.Type) ([]cty.Value, error) {
		if !t.IsPrimitiveType() {
			return nil, fmt.Errorf("type %s cannot be read from CSV; use JSON", typ.FriendlyNameForConstraint())
		}
		var out []cty.Value
		for _, f := range fields {
			v, err := primitive(f, t)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	switch {
	case typ.IsListType(), typ.IsSetType():
		vs, err := elem(typ.ElementType())
		if err != nil {
			return cty.NilVal, err
		}
		if len(vs) == 0 {
			if typ.IsListType() {
				return cty.ListValEmpty(typ.ElementType()), nil
			}
			return cty.SetValEmpty(typ.ElementType()), nil
		}
		if typ.IsListType() {
			return cty.ListVal(vs), nil
		}
		return cty.SetVal(vs), nil
	case typ.IsTupleType():
		ts := typ.TupleElementTypes()
		if len(ts) != len(fields) {
			return cty.NilVal, fmt.Errorf("%s expects %d elements but %d were given", typ.FriendlyName(), len(ts), len(fields))
		}
		var vs []cty.Value
		for i, f := range fields {
			if !ts[i].IsPrimitiveType() {
				return cty.NilVal, fmt.Errorf("type %s cannot be read from CSV; use JSON", typ.FriendlyName())
			}
			v, err := primitive(f, ts[i])
			if err != nil {
				return cty.NilVal, err
			}
			vs = append(vs, v)
		}
		return cty.TupleVal(vs), nil
	default: // map
		if !typ.ElementType().IsPrimitiveType() {
			return cty.NilVal, fmt.Errorf("type %s cannot be read from CSV; use JSON", typ.FriendlyNameForConstraint())
		}
		m := map[string]cty.Value{}
		for _, f := range fields {
			r := csv.NewReader(strings.NewReader(f))
			r.Comma = ':'
			kv, err := r.Read()
			if err != nil || len(kv) != 2 {
				return cty.NilVal, fmt.Errorf("map entry %q is not key:value", f)
			}
			v, err := primitive(kv[1], typ.ElementType())
			if err != nil {
				return cty.NilVal, err
			}
			m[kv[0]] = v
		}
		if len(m) == 0 {
			return cty.MapValEmpty(typ.ElementType()), nil
		}
		return cty.MapVal(m), nil
	}
}

// validate runs every variable's validation blocks.
func (p *parser) validate() error {
	for _, name := range sortedKeys(p.vars) {
		for _, rule := range p.vars[name].validations {
			where := fmt.Sprintf("the validation condition of variable %q", name)
			v, err := p.eval(rule.condition, p.ctx, nil, where)
			if err != nil {
				return err
			}
			if v.IsNull() {
				return fmt.Errorf("%s: %w: %s is null; it must be true or false", pos(rule.condition.Range()), ErrInvalid, where)
			}
			b, err := convert.Convert(v, cty.Bool)
			if err != nil {
				return fmt.Errorf("%s: %w: %s must be true or false, got %s", pos(rule.condition.Range()), ErrInvalid, where, v.Type().FriendlyName())
			}
			if b.True() {
				continue
			}
			msg := "This check failed, but has an invalid error message."
			m, err := p.eval(rule.message, p.ctx, nil, fmt.Sprintf("the error_message of variable %q", name))
			if err != nil {
				return err
			}
			if ms, err := convert.Convert(m, cty.String); err == nil && !ms.IsNull() {
				msg = ms.AsString()
			}
			return fmt.Errorf("%s: %w: variable %q (value %s): %s", pos(rule.condition.Range()), ErrValidation, name, displayValue(p.values[name]), msg)
		}
	}
	return nil
}

// resolveFunc makes user function name callable, after what its result needs.
func (p *parser) resolveFunc(name string, rng hcl.Range) error {
	if p.funcsDone[name] {
		return nil
	}
	f := p.funcs[name]
	if err := p.push("function "+name, rng, "functions"); err != nil {
		return err
	}
	defer p.pop()
	exclude := map[string]bool{}
	for _, n := range f.params {
		exclude[n] = true
	}
	if f.variadic != "" {
		exclude[f.variadic] = true
	}
	if err := p.deps(f.result, exclude, fmt.Sprintf("the result of function %q", name)); err != nil {
		return err
	}
	spec := &function.Spec{Type: function.StaticReturnType(cty.DynamicPseudoType)}
	for _, n := range f.params {
		spec.Params = append(spec.Params, function.Parameter{Name: n, Type: cty.DynamicPseudoType, AllowNull: true, AllowDynamicType: true})
	}
	if f.variadic != "" {
		spec.VarParam = &function.Parameter{Name: f.variadic, Type: cty.DynamicPseudoType, AllowNull: true, AllowDynamicType: true}
	}
	spec.Impl = func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		child := p.ctx.NewChild()
		child.Variables = map[string]cty.Value{}
		for i, n := range f.params {
			child.Variables[n] = args[i]
		}
		if f.variadic != "" {
			rest := args[len(f.params):]
			if len(rest) == 0 {
				child.Variables[f.variadic] = cty.ListValEmpty(cty.DynamicPseudoType)
			} else {
				child.Variables[f.variadic] = cty.TupleVal(rest)
			}
		}
		v, diags := f.result.Value(child)
		if diags.HasErrors() {
			return cty.DynamicVal, diags
		}
		return v, nil
	}
	p.ctx.Functions[name] = function.New(spec)
	p.funcsDone[name] = true
	return nil
}

// deps resolves the variables and user functions expr refers to (names in exclude are local).
func (p *parser) deps(expr hcl.Expression, exclude map[string]bool, where string) error {
	local := exclude
	typeArgs := typeArguments(expr)
	for _, tr := range expr.Variables() {
		root := tr.RootName()
		if exclude[root] || slices.ContainsFunc(typeArgs, func(r hcl.Range) bool { return r.Overlaps(tr.SourceRange()) }) {
			continue
		}
		if _, ok := p.builtins[root]; ok {
			continue
		}
		if _, ok := p.vars[root]; ok {
			if err := p.resolveVar(root); err != nil {
				return err
			}
			continue
		}
		hint := fmt.Sprintf("declare it with variable %q { default = \"...\" } or fix the name", root)
		switch {
		case root == "target" && local["target"] == false:
			name, attr, ok := targetRef(tr)
			if !ok {
				return fmt.Errorf("%s: %w: %s: write target.NAME.ATTR", pos(tr.SourceRange()), ErrInvalid, where)
			}
			if err := p.resolveTargetRef(name, attr, tr.SourceRange()); err != nil {
				return err
			}
			continue
		case root == "group":
			hint = "references to groups (group.NAME.targets) are not supported; list the targets or use a variable"
			return fmt.Errorf("%s: %w: %s in %s; %s", pos(tr.SourceRange()), ErrUnsupported, root, where, hint)
		case strings.HasPrefix(root, "BAKE_"):
			hint = "bake's built-in variables are BAKE_CMD_CONTEXT and BAKE_LOCAL_PLATFORM"
		}
		return fmt.Errorf("%s: %w %q in %s (declared variables: %s); %s",
			pos(tr.SourceRange()), ErrUnknownVariable, root, where, nameList(sortedKeys(p.vars)), hint)
	}
	calls, all := functionCalls(expr)
	if all {
		for _, name := range sortedKeys(p.funcs) {
			calls = append(calls, call{name, expr.Range()})
		}
	}
	for _, c := range calls {
		if _, ok := p.funcs[c.name]; ok {
			if err := p.resolveFunc(c.name, c.rng); err != nil {
				return err
			}
			continue
		}
		if _, ok := builtins[c.name]; !ok && !all {
			return fmt.Errorf("%s: %w: function %q in %s does not exist; declare it with function %q { params = [...] result = ... } or use a built-in (%s)",
				pos(c.rng), ErrInvalid, c.name, where, c.name, strings.Join(FunctionNames(), ", "))
		}
	}
	return nil
}

// targetRef splits a target.NAME[.ATTR] traversal.
func targetRef(tr hcl.Traversal) (name, attr string, ok bool) {
	rel := tr.SimpleSplit().Rel
	if len(rel) == 0 {
		return "", "", false
	}
	switch step := rel[0].(type) {
	case hcl.TraverseAttr:
		name = step.Name
	case hcl.TraverseIndex:
		k, err := convert.Convert(step.Key, cty.String)
		if err != nil || k.IsNull() {
			return "", "", false
		}
		name = k.AsString()
	default:
		return "", "", false
	}
	if len(rel) > 1 {
		if a, isAttr := rel[1].(hcl.TraverseAttr); isAttr {
			attr = a.Name
		}
	}
	return name, attr, true
}

// typeArguments returns the ranges of the type arguments of convert(value, TYPE) calls: type
// keywords such as number or list(string), not variable references.
func typeArguments(expr hcl.Expression) []hcl.Range {
	node, ok := expr.(hclsyntax.Node)
	if !ok {
		return nil
	}
	var out []hcl.Range
	hclsyntax.VisitAll(node, func(n hclsyntax.Node) hcl.Diagnostics {
		if fc, ok := n.(*hclsyntax.FunctionCallExpr); ok && fc.Name == "convert" && len(fc.Args) == 2 {
			out = append(out, fc.Args[1].Range())
		}
		return nil
	})
	return out
}

// call is one function call found in an expression.
type call struct {
	name string
	rng  hcl.Range
}

// functionCalls lists the calls in a native-syntax expression; for JSON expressions (whose templates
// are parsed only when evaluated) it reports all=true: any user function may be called.
func functionCalls(expr hcl.Expression) (calls []call, all bool) {
	node, ok := expr.(hclsyntax.Node)
	if !ok {
		return nil, true
	}
	hclsyntax.VisitAll(node, func(n hclsyntax.Node) hcl.Diagnostics {
		if fc, ok := n.(*hclsyntax.FunctionCallExpr); ok {
			calls = append(calls, call{fc.Name, fc.NameRange})
		}
		return nil
	})
	return calls, false
}

// eval resolves expr's dependencies and evaluates it in ctx.
func (p *parser) eval(expr hcl.Expression, ctx *hcl.EvalContext, local map[string]bool, where string) (cty.Value, error) {
	if err := p.deps(expr, local, where); err != nil {
		return cty.NilVal, err
	}
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return cty.NilVal, diagsError(ErrInvalid, diags, "fix the expression of "+where)
	}
	return v, nil
}

// displayTyped renders a typed variable's value as bake lists it: JSON of the declared type, a string unquoted.
func displayTyped(v cty.Value, typ cty.Type) string {
	if v.IsNull() || !v.IsKnown() {
		return ""
	}
	b, err := ctyjson.Marshal(v, typ)
	if err != nil {
		return displayValue(v)
	}
	if typ.Equals(cty.String) {
		return strings.Trim(string(b), `"`)
	}
	return string(b)
}

// displayValue renders a variable's value as a string: primitives as text, other values as JSON.
func displayValue(v cty.Value) string {
	if v.IsNull() || !v.IsKnown() {
		return ""
	}
	if s, err := convert.Convert(v, cty.String); err == nil {
		return s.AsString()
	}
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return v.GoString()
	}
	return string(b)
}
