package plan

import (
	"encoding/json"
	"fmt"
	"shipyard/internal/rules"
	"strings"
)

// Formats a plan is printed in.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// Render prints the plan as text (one line per decision) or JSON.
func (p *Plan) Render(format string) (string, error) {
	switch format {
	case "", FormatText:
		return p.Text(), nil
	case FormatJSON:
		b, err := json.MarshalIndent(p, "", "  ")
		if err != nil {
			return "", err
		}
		return string(b) + "\n", nil
	}
	return "", fmt.Errorf("%w: --format %q: use text or json", ErrInvalid, format)
}

// Text is the plan as the job log shows it.
func (p *Plan) Text() string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("rules: %s", p.Rules)
	var stages []string
	for _, s := range p.Stages {
		if s.Run {
			stages = append(stages, string(s.Name))
		} else {
			stages = append(stages, string(s.Name)+" (another job)")
		}
	}
	line("stages: %s", strings.Join(stages, ", "))
	line("platforms: %s (ARM builder: %s)", strings.Join(p.Platforms, ", "), p.ARMBuilder)
	for _, n := range p.Notes {
		line("note: %s", n)
	}
	// the work of a stage another job runs (--only) is listed, marked, so a job's log never
	// reads as if it built what it only copies
	other := func(s rules.Stage) string {
		for _, st := range p.Stages {
			if st.Name == s && !st.Run {
				return " (another job)"
			}
		}
		return ""
	}
	for _, bd := range p.Builds {
		job, elsewhere := "", ""
		if bd.Job != JobBuild {
			job = " in job " + bd.Job
		}
		if p.elsewhere(bd) {
			elsewhere = " (another job)"
		}
		line("build %s [%s] on %s: %s -> %s%s%s", bd.Target, bd.Platform, bd.Builder, bd.Why, bd.Push, job, elsewhere)
	}
	for _, m := range p.Merges {
		line("merge %s [%s] -> %s%s", m.Target, strings.Join(m.Platforms, ", "), strings.Join(m.Tags, ", "), other(rules.Manifests))
	}
	for _, a := range p.Attestations {
		what := a.Target
		if a.Platform != "" {
			what += " [" + a.Platform + "]"
		}
		line("attest %s in %s: %s -> %s%s", what, a.Stage, strings.Join(a.Steps, ", "), a.Image, other(a.Stage))
	}
	for _, sc := range p.Scans {
		line("scan %s [%s] in %s: trivy, fail on %s -> %s (by digest)%s", sc.Target, sc.Platform, sc.Stage, sc.FailOn, sc.Image, other(sc.Stage))
	}
	for _, c := range p.Copies {
		line("release %s: %s -> %s:%s (by digest)%s", c.Target, c.From, c.To, c.Tag, other(rules.Release))
	}
	if p.Latest != nil {
		ov := ""
		if p.Latest.TagTypeOverride != "" {
			ov = ", tag type forced to " + string(p.Latest.TagTypeOverride)
		}
		line("latest: strategy %s for %s%s on %s", p.Latest.Strategy, p.Latest.Tag, ov, strings.Join(p.Latest.Repos, ", "))
	} else {
		line("latest: untouched (no release for this ref)")
	}
	return b.String()
}
