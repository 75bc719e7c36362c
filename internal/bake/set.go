package bake

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// override is one --set TARGET.KEY[+]=VALUE for one target, accumulated as buildx does.
type override struct {
	key      string // attribute with aliases normalised: "arg.NAME", "tag", "label.NAME", ...
	raw      string // the --set value as given, for errors
	value    string
	hasValue bool
	arr      []string
	append   bool
	clear    bool
}

// listKeys are the --set keys whose values accumulate into a list.
var listKeys = map[string]bool{"output": true, "cache-to": true, "cache-from": true, "tag": true, "platform": true,
	"ssh": true, "attest": true, "entitlement": true, "annotation": true, "ulimit": true, "no-cache-filter": true, "secret": true}

// overrideAliases maps plural or alternative --set keys to one spelling.
var overrideAliases = map[string]string{"annotations": "annotation", "args": "arg", "entitlements": "entitlement",
	"extra-hosts": "extra-host", "labels": "label", "platforms": "platform", "tags": "tag", "ulimits": "ulimit", "secrets": "secret"}

// overrides parses Options.Set's TARGET.KEY entries into per-target overrides, in order.
func (p *parser) overrides() (map[string][]override, error) {
	out := map[string][]override{}
	for _, s := range p.opts.Set {
		lhs, value, hasValue := strings.Cut(s, "=")
		if !strings.Contains(lhs, ".") {
			continue // a variable override, handled with the variables
		}
		appendTo := strings.HasSuffix(lhs, "+")
		keys := strings.SplitN(strings.TrimSuffix(lhs, "+"), ".", 3)
		bad := func(format string, a ...any) error {
			return fmt.Errorf("%w: --set %q: %s", ErrInvalid, s, fmt.Sprintf(format, a...))
		}
		if alias, ok := overrideAliases[keys[1]]; ok {
			keys[1] = alias
		}
		k := keys[1]
		switch {
		case !hasValue && k != "arg":
			return nil, bad("want TARGET.KEY=VALUE")
		case k == "push" || k == "load":
			return nil, fmt.Errorf("%w: --set %q: %s is decided by the pipeline (it pushes to the build registry); remove it", ErrUnsupported, s, k)
		case k == "policy" || k == "resource":
			return nil, fmt.Errorf("%w: --set %q: %s is not supported; remove it", ErrUnsupported, s, k)
		case k == "secret" && len(keys) == 3 && appendTo:
			return nil, bad("secret.ID does not support +=")
		case k == "secret" && len(keys) == 3:
		case listKeys[k] || k == "context" || k == "dockerfile" || k == "target" || k == "call" || k == "no-cache" ||
			k == "shm-size" || k == "network" || k == "pull":
			if len(keys) != 2 {
				return nil, bad("%s takes no sub-key; write TARGET.%s=VALUE", k, k)
			}
		case k == "arg" || k == "contexts" || k == "label" || k == "extra-host":
			if len(keys) != 3 {
				return nil, bad("%s needs a name: TARGET.%s.NAME=VALUE", k, k)
			}
		default:
			return nil, bad("unknown key %q; use context, dockerfile, target, args.NAME, labels.NAME, contexts.NAME, tags, platform, cache-from, cache-to, output, secrets, ssh, attest, annotations, no-cache, no-cache-filter, pull, call, network, shm-size, ulimits, entitlements or extra-hosts", k)
		}
		names, err := p.matchTargets(keys[0], s)
		if err != nil {
			return nil, err
		}
		okey := strings.Join(keys[1:], ".")
		for _, name := range names {
			i := -1
			for j, o := range out[name] {
				if o.key == okey {
					i = j
				}
			}
			if i < 0 {
				out[name] = append(out[name], override{key: okey})
				i = len(out[name]) - 1
			}
			o := &out[name][i]
			o.raw = s
			if listKeys[k] && len(keys) == 2 {
				if !appendTo && value == "" {
					o.clear, o.arr = true, nil
				} else {
					o.arr = append(o.arr, value)
				}
				o.append = appendTo && !o.clear
				continue
			}
			if k == "arg" && !hasValue {
				v, ok := "", false
				if p.opts.LookupEnv != nil {
					v, ok = p.opts.LookupEnv(keys[2])
				}
				if !ok {
					continue
				}
				value = v
			}
			o.value, o.hasValue = value, true
		}
	}
	return out, nil
}

// matchTargets expands a --set target pattern (a name or a path.Match pattern) to target names.
func (p *parser) matchTargets(pattern, s string) ([]string, error) {
	if _, ok := p.specs[pattern]; ok {
		return []string{pattern}, nil
	}
	var names []string
	for _, name := range sortedKeys(p.specs) {
		ok, err := path.Match(pattern, name)
		if err != nil {
			return nil, fmt.Errorf("%w: --set %q: bad pattern %q: %v", ErrInvalid, s, pattern, err)
		}
		if ok {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: --set %q: no target matches %q; available targets: %s", ErrUnknownTarget, s, pattern, nameList(sortedKeys(p.specs)))
	}
	return names, nil
}

// apply applies a target's overrides to its merged spec.
func (r *resolver) apply(t *targetSpec, overrides []override) error {
	for _, o := range overrides {
		fail := func(err error) error { return fmt.Errorf("%w: --set %q: %v", ErrInvalid, o.raw, err) }
		v := o.value
		k, sub, _ := strings.Cut(o.key, ".")
		if !o.hasValue && !listKeys[k] && k != "secret" {
			continue
		}
		switch k {
		case "context":
			t.context = &v
		case "dockerfile":
			t.dockerfile = &v
		case "target":
			t.target = &v
		case "call":
			t.call = &v
		case "network":
			t.network = &v
		case "shm-size":
			t.shmSize = &v
		case "arg":
			t.args = mergeMap(t.args, map[string]string{sub: v})
		case "label":
			t.labels = mergeMap(t.labels, map[string]string{sub: v})
		case "extra-host":
			t.extraHosts = mergeMap(t.extraHosts, map[string]string{sub: v})
		case "contexts":
			t.contexts = mergeMap(t.contexts, map[string]string{sub: v})
		case "no-cache", "pull":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fail(fmt.Errorf("%q is not a boolean", v))
			}
			if k == "pull" {
				t.pull = &b
			} else {
				t.noCache = &b
			}
		case "tag":
			t.tags = replaceOrAppend(t.tags, o)
		case "platform":
			t.platforms = replaceOrAppend(t.platforms, o)
		case "no-cache-filter":
			t.noCacheFilter = replaceOrAppend(t.noCacheFilter, o)
		case "ulimit":
			t.ulimits = replaceOrAppend(t.ulimits, o)
		case "entitlement":
			t.entitlements = alwaysAppend(t.entitlements, o)
		case "annotation":
			t.annotations = alwaysAppend(t.annotations, o)
		case "cache-from", "cache-to":
			es, err := parseAll(o.arr, ParseCacheEntries)
			if err != nil {
				return fail(err)
			}
			if k == "cache-from" {
				t.cacheFrom = mergeOrReplace(t.cacheFrom, es, o.append)
			} else {
				t.cacheTo = mergeOrReplace(t.cacheTo, es, o.append)
			}
		case "output":
			es, err := parseAll(o.arr, one(ParseOutput))
			if err != nil {
				return fail(err)
			}
			t.outputs = mergeOrReplace(t.outputs, es, o.append)
		case "ssh":
			es, _ := parseAll(o.arr, func(s string) ([]SSH, error) { return []SSH{ParseSSH(s)}, nil })
			t.ssh = mergeOrReplace(t.ssh, es, o.append)
		case "attest":
			es, err := parseAll(o.arr, one(ParseAttest))
			if err != nil {
				return fail(err)
			}
			if o.clear {
				t.attest = nil
			}
			t.attest = append(t.attest, es...)
		case "secret":
			if sub != "" {
				if err := updateSecret(t, sub, v); err != nil {
					return fail(err)
				}
				continue
			}
			es, err := parseAll(o.arr, one(ParseSecret))
			if err != nil {
				return fail(err)
			}
			t.secrets = mergeOrReplace(t.secrets, es, o.append)
		}
	}
	return nil
}

// parseAll parses every non-empty --set value.
func parseAll[T any](values []string, parse func(string) ([]T, error)) ([]T, error) {
	var out []T
	for _, s := range values {
		if s == "" {
			continue
		}
		xs, err := parse(s)
		if err != nil {
			return nil, err
		}
		out = append(out, xs...)
	}
	return out, nil
}

func replaceOrAppend(cur []string, o override) []string {
	if o.append {
		return append(append([]string{}, cur...), o.arr...)
	}
	return o.arr
}

func alwaysAppend(cur []string, o override) []string {
	if o.clear {
		cur = nil
	}
	return append(append([]string{}, cur...), o.arr...)
}

func mergeOrReplace[T any](cur, add []T, appendTo bool) []T {
	if appendTo {
		return append(append([]T{}, cur...), add...)
	}
	if add == nil {
		return []T{}
	}
	return add
}

// updateSecret changes where the declared secret id comes from (--set TARGET.secret.ID=env=VAR or src=PATH).
func updateSecret(t *targetSpec, id, value string) error {
	for i, s := range t.secrets {
		if s.ID != id {
			continue
		}
		next, err := ParseSecret(value)
		if err != nil {
			return err
		}
		if next.ID != "" && next.ID != id {
			return fmt.Errorf("secret override id %q does not match declared secret %q", next.ID, id)
		}
		t.secrets = append([]Secret{}, t.secrets...)
		t.secrets[i].Env, t.secrets[i].Src = next.Env, next.Src
		return nil
	}
	return fmt.Errorf("secret %q must be declared in the target before it can be overridden", id)
}
