package bake

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// functions is the set of HCL functions available in bake expressions (a subset of bake's standard library).
var functions = map[string]function.Function{
	"and":           stdlib.AndFunc,
	"coalesce":      stdlib.CoalesceFunc,
	"concat":        stdlib.ConcatFunc,
	"contains":      stdlib.ContainsFunc,
	"distinct":      stdlib.DistinctFunc,
	"equal":         stdlib.EqualFunc,
	"format":        stdlib.FormatFunc,
	"join":          stdlib.JoinFunc,
	"length":        stdlib.LengthFunc,
	"lower":         stdlib.LowerFunc,
	"not":           stdlib.NotFunc,
	"notequal":      stdlib.NotEqualFunc,
	"or":            stdlib.OrFunc,
	"regex_replace": stdlib.RegexReplaceFunc,
	"replace":       stdlib.ReplaceFunc,
	"split":         stdlib.SplitFunc,
	"substr":        stdlib.SubstrFunc,
	"trimprefix":    stdlib.TrimPrefixFunc,
	"trimspace":     stdlib.TrimSpaceFunc,
	"trimsuffix":    stdlib.TrimSuffixFunc,
	"upper":         stdlib.UpperFunc,
}

// FunctionNames lists the HCL functions bake expressions may call, sorted.
func FunctionNames() []string { return sortedKeys(functions) }

// variableDecl is one parsed variable block.
type variableDecl struct {
	name  string
	block *hclsyntax.Block
	def   hcl.Expression // nil when the block has no default
}

// variableEvaluator computes final variable values: opts.Vars > environment > default, defaults may use other variables.
type variableEvaluator struct {
	decls   map[string]*variableDecl
	opts    Options
	values  map[string]cty.Value
	running []string // names being evaluated, for cycle reporting
}

// evaluateVariables returns the final value of every declared variable.
func evaluateVariables(decls map[string]*variableDecl, opts Options) (map[string]cty.Value, error) {
	for _, name := range sortedKeys(opts.Vars) {
		if _, ok := decls[name]; !ok {
			return nil, fmt.Errorf("%w %q in the explicit overrides: no variable block declares it (declared: %s); fix the override name or add variable %q { default = \"...\" }",
				ErrUnknownVariable, name, nameList(sortedKeys(decls)), name)
		}
	}
	ev := &variableEvaluator{decls: decls, opts: opts, values: map[string]cty.Value{}}
	for _, name := range sortedKeys(decls) {
		if _, err := ev.value(name); err != nil {
			return nil, err
		}
	}
	return ev.values, nil
}

// value returns the final value of the variable name, evaluating what its default needs first.
func (ev *variableEvaluator) value(name string) (cty.Value, error) {
	if v, ok := ev.values[name]; ok {
		return v, nil
	}
	for i, r := range ev.running {
		if r == name {
			cycle := append(append([]string{}, ev.running[i:]...), name)
			return cty.NilVal, fmt.Errorf("%s: %w between variable defaults: %s; make one of these defaults a literal",
				pos(ev.decls[name].block.DefRange()), ErrCycle, strings.Join(cycle, " -> "))
		}
	}
	ev.running = append(ev.running, name)
	defer func() { ev.running = ev.running[:len(ev.running)-1] }()

	decl := ev.decls[name]
	def := cty.StringVal("")
	if decl.def != nil {
		ctx, err := ev.contextFor(decl.def, fmt.Sprintf("the default of variable %q", name))
		if err != nil {
			return cty.NilVal, err
		}
		v, diags := decl.def.Value(ctx)
		if diags.HasErrors() {
			return cty.NilVal, diagsError(ErrInvalid, diags, fmt.Sprintf("fix the default of variable %q", name))
		}
		def = v
	}
	val := def
	raw, overridden := ev.opts.Vars[name]
	source := "explicit override of variable"
	if !overridden && ev.opts.LookupEnv != nil {
		raw, overridden = ev.opts.LookupEnv(name)
		source = "environment variable"
	}
	if overridden {
		v, err := overrideValue(raw, def)
		if err != nil {
			return cty.NilVal, fmt.Errorf("%s %q: %w", source, name, err)
		}
		val = v
	}
	ev.values[name] = val
	return val, nil
}

// contextFor checks the expression's references and builds an evaluation context holding the variables it uses.
func (ev *variableEvaluator) contextFor(expr hcl.Expression, where string) (*hcl.EvalContext, error) {
	if err := checkReferences(expr, ev.decls, where); err != nil {
		return nil, err
	}
	vars := map[string]cty.Value{}
	for _, tr := range expr.Variables() {
		v, err := ev.value(tr.RootName())
		if err != nil {
			return nil, err
		}
		vars[tr.RootName()] = v
	}
	return &hcl.EvalContext{Variables: vars, Functions: functions}, nil
}

// checkReferences reports references to undeclared variables and calls to unknown functions in expr.
func checkReferences(expr hcl.Expression, decls map[string]*variableDecl, where string) error {
	for _, tr := range expr.Variables() {
		root := tr.RootName()
		if _, ok := decls[root]; ok {
			continue
		}
		hint := fmt.Sprintf("declare it with variable %q { default = \"...\" } or fix the name", root)
		switch {
		case root == "target" || root == "group":
			hint = "referencing attributes of other blocks (target.NAME.ATTR) is not supported; use a variable or inherits"
		case strings.HasPrefix(root, "BAKE_"):
			hint = "bake's built-in variables are not supported; declare a variable and pass its value explicitly"
		}
		return fmt.Errorf("%s: %w %q in %s (declared variables: %s); %s",
			pos(tr.SourceRange()), ErrUnknownVariable, root, where, nameList(sortedKeys(decls)), hint)
	}
	syntaxExpr, ok := expr.(hclsyntax.Expression)
	if !ok {
		return nil
	}
	var err error
	hclsyntax.VisitAll(syntaxExpr, func(n hclsyntax.Node) hcl.Diagnostics {
		call, ok := n.(*hclsyntax.FunctionCallExpr)
		if !ok || err != nil {
			return nil
		}
		if _, known := functions[call.Name]; !known {
			err = fmt.Errorf("%s: %w: function %q in %s is not available (available: %s); use one of those or compute the value outside the bake file",
				pos(call.NameRange), ErrUnsupported, call.Name, where, strings.Join(FunctionNames(), ", "))
		}
		return nil
	})
	return err
}

// overrideValue converts an override string to the type of the variable's default, like bake does.
func overrideValue(raw string, def cty.Value) (cty.Value, error) {
	switch {
	case def.IsNull() || def.Type() == cty.String:
		return cty.StringVal(raw), nil
	case def.Type() == cty.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return cty.NilVal, fmt.Errorf("%w: value %q is not a boolean but the default is; use true or false", ErrInvalid, raw)
		}
		return cty.BoolVal(b), nil
	case def.Type() == cty.Number:
		n, err := cty.ParseNumberVal(raw)
		if err != nil {
			return cty.NilVal, fmt.Errorf("%w: value %q is not a number but the default is; use a number", ErrInvalid, raw)
		}
		return n, nil
	default:
		return cty.NilVal, fmt.Errorf("%w: the default is a %s and overriding a non-primitive variable from a string is not supported; override a string variable instead",
			ErrUnsupported, def.Type().FriendlyName())
	}
}

// displayValue renders a variable's value as a string: primitives as text, other values as JSON.
func displayValue(v cty.Value) string {
	if v.IsNull() {
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
