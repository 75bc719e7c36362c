package remotebuild

import (
	"fmt"
	"sort"
	"strings"

	"shipyard/internal/bake"
	"shipyard/internal/dockerctx"
	"shipyard/internal/regaccess"
)

// ContextsDir is where named contexts are put inside a build context.
const ContextsDir = ".shipyard-contexts"

// Build is one build asked of the builder: a bake target for a platform, pushed to Push.
type Build struct {
	Target   string
	Platform string
	// Push is the per-platform reference the image is published to (plan.Build.Push).
	Push string
}

// Step is one bake target built for one platform on the builder.
type Step struct {
	Target   string
	Platform string
	// Context is the build context, a directory of the repository.
	Context string
	// Dockerfile is the Dockerfile's path inside the build context.
	Dockerfile string
	// DockerfileText, when not empty, is written at Dockerfile before the build (the file
	// rewritten for the named contexts).
	DockerfileText string
	// Dirs are put into the build context before the build, in this order.
	Dirs []Dir
	// Args are the build args, sorted by name.
	Args []KV
	// Stage is the Dockerfile stage built ("" for the last one).
	Stage string
	// Labels are the image labels, sorted by name.
	Labels []KV
	// Annotations are the image manifest's annotations, sorted by name.
	Annotations []KV
	// Secrets are indexes into Plan.Secrets, in the target's order.
	Secrets []int
	// Push is the reference published; "" for a step built only as another's context.
	Push string
}

// Name is the step's target and platform as messages write them: "app [linux/arm64]".
func (s Step) Name() string { return s.Target + " [" + s.Platform + "]" }

// Dir is a directory put at Path inside a build context: a directory of the repository
// (Repo) or the root filesystem of a step built before (Target, same platform).
type Dir struct {
	Path   string
	Repo   string
	Target string
}

// KV is a name and its value.
type KV struct{ Name, Value string }

// Secret is a build secret: its bake id (the Dockerfile's RUN --mount=type=secret,id=ID) and
// the environment variable of the driver that holds its value.
type Secret struct{ ID, Env string }

// Auth is the credentials of the repositories under Address (a registry host or an image
// prefix): the password is in the driver's environment variable Env.
type Auth struct{ Address, Username, Env string }

// authFor returns the index in p.Auth of the credentials for ref (the longest address that
// covers it, regaccess.Match), -1 if none.
func (p Plan) authFor(ref string) int {
	addresses := make([]string, len(p.Auth))
	for i, a := range p.Auth {
		addresses[i] = a.Address
	}
	return regaccess.Match(addresses, ref)
}

// Plan is everything a remote build run does.
type Plan struct {
	// Source is the repository's path where the driver runs; it is uploaded once.
	Source string
	// Steps in dependency order: a step comes after the steps whose root filesystems it uses.
	Steps   []Step
	Secrets []Secret
	Auth    []Auth
}

// Steps lists the steps that build builds as the local build does, dependencies (`target:`
// contexts) first and each target × platform once. secrets are the build secrets given to the
// run (a target gets those it asks for that are given); dockerfile reads a target's
// Dockerfile file, which is only asked for targets with named contexts and no dockerfile-inline.
// A dockerfile-inline is written into the build context at InlineDockerfile.
func Steps(targets []*bake.Target, builds []Build, secrets []Secret, dockerfile func(*bake.Target) (string, error)) ([]Step, error) {
	byName := map[string]*bake.Target{}
	for _, t := range targets {
		byName[t.Name] = t
	}
	var steps []Step
	index := map[string]int{}
	rewritten := map[string]string{}
	var add func(t *bake.Target, platform string, chain []string) (int, error)
	add = func(t *bake.Target, platform string, chain []string) (int, error) {
		key := t.Name + "|" + platform
		if i, ok := index[key]; ok {
			return i, nil
		}
		for _, c := range chain {
			if c == t.Name {
				return 0, fmt.Errorf("target %s: its contexts depend on it again (%s)", t.Name, strings.Join(append(chain, t.Name), " -> "))
			}
		}
		anns, err := bake.ParseAnnotations(t.Annotations)
		if err != nil {
			return 0, fmt.Errorf("target %s: %v", t.Name, err)
		}
		s := Step{Target: t.Name, Platform: platform, Context: t.Context, Dockerfile: t.Dockerfile, Stage: t.Target,
			Args: sorted(t.Args), Labels: sorted(t.Labels), Annotations: sorted(bake.AnnotationsAt(anns, bake.AnnotationManifest, platform))}
		for _, want := range t.Secrets {
			for i, sec := range secrets {
				if sec.ID == want.ID {
					s.Secrets = append(s.Secrets, i)
				}
			}
		}
		if t.DockerfileInline != "" && len(t.Contexts) == 0 {
			s.Dockerfile, s.DockerfileText = InlineDockerfile(t), t.DockerfileInline
		}
		if len(t.Contexts) > 0 {
			dirs, ctxs, err := NamedContexts(t)
			if err != nil {
				return 0, err
			}
			for _, d := range dirs {
				if d.Target == "" {
					continue
				}
				dep := byName[d.Target]
				if dep == nil {
					return 0, fmt.Errorf("target %s: context %s refers to target:%s, which is not part of this build", t.Name, strings.TrimPrefix(d.Path, ContextsDir+"/"), d.Target)
				}
				if _, err := add(dep, platform, append(chain, t.Name)); err != nil {
					return 0, err
				}
			}
			text, ok := rewritten[t.Name]
			if !ok {
				df, err := t.DockerfileInline, error(nil)
				if df == "" {
					df, err = dockerfile(t)
				}
				if err != nil {
					return 0, fmt.Errorf("target %s: reading %s/%s: %v", t.Name, t.Context, t.Dockerfile, err)
				}
				if text, err = dockerctx.Rewrite(df, ctxs); err != nil {
					return 0, fmt.Errorf("target %s: %v", t.Name, err)
				}
				rewritten[t.Name] = text
			}
			s.Dirs, s.Dockerfile, s.DockerfileText = dirs, InlineDockerfile(t), text
		}
		index[key] = len(steps)
		steps = append(steps, s)
		return index[key], nil
	}
	for _, b := range builds {
		t := byName[b.Target]
		if t == nil {
			return nil, fmt.Errorf("build %s [%s]: no such target in the bake file", b.Target, b.Platform)
		}
		i, err := add(t, b.Platform, nil)
		if err != nil {
			return nil, err
		}
		steps[i].Push = b.Push
	}
	return steps, nil
}

// InlineDockerfile is where a target's Dockerfile is written inside its build context when the
// build does not read it from the repository: a dockerfile-inline, or a Dockerfile rewritten for
// named contexts.
func InlineDockerfile(t *bake.Target) string { return ContextsDir + "/Dockerfile." + t.Name }

// NamedContexts are the directories a target's named contexts put into its build context, in
// name order, and the contexts the Dockerfile is rewritten for (Dagger's dockerBuild has no
// named contexts): `target:` and local directories are copied under ContextsDir/NAME,
// docker-image:// replaces the image reference; any other scheme is refused. The local build
// and the remote one both build this way.
func NamedContexts(t *bake.Target) ([]Dir, []dockerctx.Context, error) {
	names := make([]string, 0, len(t.Contexts))
	for n := range t.Contexts {
		names = append(names, n)
	}
	sort.Strings(names)
	var dirs []Dir
	var ctxs []dockerctx.Context
	for _, name := range names {
		val := t.Contexts[name]
		path := ContextsDir + "/" + name
		if img, ok := strings.CutPrefix(val, "docker-image://"); ok {
			ctxs = append(ctxs, dockerctx.Context{Name: name, Kind: dockerctx.Image, Image: img})
			continue
		}
		switch dep, isTarget := strings.CutPrefix(val, "target:"); {
		case isTarget:
			dirs = append(dirs, Dir{Path: path, Target: dep})
		case strings.Contains(val, "://"):
			return nil, nil, fmt.Errorf("target %s: context %s = %q: only target:, docker-image:// and local paths are supported", t.Name, name, val)
		default:
			// like context, a local named context is relative to the repository root
			dirs = append(dirs, Dir{Path: path, Repo: strings.TrimPrefix(val, "./")})
		}
		ctxs = append(ctxs, dockerctx.Context{Name: name, Kind: dockerctx.Dir, Path: path})
	}
	return dirs, ctxs, nil
}

// sorted is m as a list sorted by name; nil when m is empty.
func sorted(m map[string]string) []KV {
	if len(m) == 0 {
		return nil
	}
	out := make([]KV, 0, len(m))
	for k, v := range m {
		out = append(out, KV{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Remaining is the plan reduced to the steps whose images are not in done (pushed references)
// and the steps they need.
func (p Plan) Remaining(done map[string]bool) Plan {
	need := map[string]bool{}
	for i := len(p.Steps) - 1; i >= 0; i-- {
		s := p.Steps[i]
		if (s.Push != "" && !done[s.Push]) || need[s.Target+"|"+s.Platform] {
			need[s.Target+"|"+s.Platform] = true
			for _, d := range s.Dirs {
				if d.Target != "" {
					need[d.Target+"|"+s.Platform] = true
				}
			}
		}
	}
	out := p
	out.Steps = nil
	for _, s := range p.Steps {
		if need[s.Target+"|"+s.Platform] {
			if done[s.Push] {
				s.Push = "" // pushed already: built again only as a context
			}
			out.Steps = append(out.Steps, s)
		}
	}
	return out
}

// Pushes is how many images the plan pushes (a step built only as a context pushes none).
func (p Plan) Pushes() int {
	n := 0
	for _, s := range p.Steps {
		if s.Push != "" {
			n++
		}
	}
	return n
}

// PushOf is the reference the step of target and platform pushes ("" when it pushes none): what
// a failed publish (a Result names only its target and platform) was pushing.
func (p Plan) PushOf(target, platform string) string {
	for _, s := range p.Steps {
		if s.Target == target && s.Platform == platform {
			return s.Push
		}
	}
	return ""
}
