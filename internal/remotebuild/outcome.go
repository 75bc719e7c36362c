package remotebuild

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"shipyard/internal/imageref"
)

// Phase is what a query of the driver does.
type Phase string

const (
	PhaseUpload  Phase = "upload"
	PhaseSecrets Phase = "secrets"
	PhaseBuild   Phase = "build"
	PhasePublish Phase = "publish"
)

// Result is what one query of the driver did.
type Result struct {
	Phase Phase
	// Target and Platform are the step's (empty for the upload and the secrets).
	Target, Platform string
	// Ran is whether the driver sent the query; Start and End are when (zero when unknown).
	Ran        bool
	Start, End time.Time
	// Err is the engine's message (or why there is no answer); "" when the query worked.
	Err string
	// Ref and Digest are what a publish pushed: the reference asked for and the digest.
	Ref, Digest string
}

// Failed is whether the query ran and failed.
func (r Result) Failed() bool { return r.Ran && r.Err != "" }

// Done is whether the query ran and worked.
func (r Result) Done() bool { return r.Ran && r.Err == "" }

// What names the query for messages: "build app [linux/arm64]", "upload".
func (r Result) What() string {
	if r.Target == "" {
		return string(r.Phase)
	}
	return fmt.Sprintf("%s %s [%s]", r.Phase, r.Target, r.Platform)
}

// Outcome is what a driver run did, query by query, in the plan's order: the upload, the
// secrets (when there are any), then each step's build and publish.
type Outcome struct {
	Results []Result
}

// Published are the publishes that worked.
func (o Outcome) Published() []Result {
	var out []Result
	for _, r := range o.Results {
		if r.Phase == PhasePublish && r.Done() {
			out = append(out, r)
		}
	}
	return out
}

// Failures are the queries that ran and failed.
func (o Outcome) Failures() []Result {
	var out []Result
	for _, r := range o.Results {
		if r.Failed() {
			out = append(out, r)
		}
	}
	return out
}

// traceparent is the suffix the engine adds to its messages.
var traceparent = regexp.MustCompile(`\s*\[traceparent:[0-9a-f-]+\]`)

// Parse reads the driver's answers (files by path relative to OutDir: NAME.json, NAME.err,
// NAME.start, NAME.end) back into the plan's results.
func (p Plan) Parse(files map[string]string) Outcome {
	var o Outcome
	read := func(name string, phase Phase, s *Step) Result {
		r := Result{Phase: phase}
		if s != nil {
			r.Target, r.Platform = s.Target, s.Platform
		}
		start, ran := files[name+".start"]
		if !ran {
			return r
		}
		r.Ran = true
		r.Start = unixTime(start)
		r.End = unixTime(files[name+".end"])
		data, msg := answerOf(files[name+".json"])
		switch {
		case msg != "":
			r.Err = msg
		case data == nil:
			r.Err = "no answer from the session"
			if e := strings.TrimSpace(files[name+".err"]); e != "" {
				r.Err += ": " + e
			}
		case phase == PhasePublish:
			ref, _ := find(data, "ref").(string)
			pushed, err := imageref.ParsePinned(ref)
			if err != nil {
				r.Err = fmt.Sprintf("the publish answered %q, without a digest", ref)
				break
			}
			r.Ref, r.Digest = s.Push, pushed.Digest
		}
		return r
	}
	o.Results = append(o.Results, read(queryUpload, PhaseUpload, nil))
	if p.hasSecrets() {
		o.Results = append(o.Results, read(querySecrets, PhaseSecrets, nil))
	}
	for i := range p.Steps {
		s := &p.Steps[i]
		o.Results = append(o.Results, read(buildQuery(i), PhaseBuild, s))
		if s.Push != "" {
			o.Results = append(o.Results, read(publishQuery(i), PhasePublish, s))
		}
	}
	return o
}

// hasSecrets is whether the driver sends the secrets query.
func (p Plan) hasSecrets() bool {
	if len(p.Auth) > 0 {
		return true
	}
	for _, s := range p.Steps {
		if len(s.Secrets) > 0 {
			return true
		}
	}
	return false
}

// answerOf splits a session's answer into its data and its error message ("" without
// errors). The message is every error's, without the engine's trace suffix, followed by the
// output of a failed command when the engine gives it.
func answerOf(text string) (map[string]any, string) {
	if strings.TrimSpace(text) == "" {
		return nil, ""
	}
	var a struct {
		Data   map[string]any `json:"data"`
		Errors []struct {
			Message    string `json:"message"`
			Extensions struct {
				Type   string `json:"_type"`
				Stdout string `json:"stdout"`
				Stderr string `json:"stderr"`
			} `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal([]byte(text), &a); err != nil {
		return nil, fmt.Sprintf("unreadable answer from the session (%v): %s", err, clip(text, 400))
	}
	var msgs []string
	for _, e := range a.Errors {
		m := traceparent.ReplaceAllString(e.Message, "")
		if e.Extensions.Type == "EXEC_ERROR" {
			if out := lastLines(e.Extensions.Stdout, 20); out != "" {
				m += "\nStdout:\n" + out
			}
			if out := lastLines(e.Extensions.Stderr, 40); out != "" {
				m += "\nStderr:\n" + out
			}
		}
		msgs = append(msgs, m)
	}
	return a.Data, strings.Join(msgs, "\n")
}

// find is the first value under key in v, depth first.
func find(v any, key string) any {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	if x, ok := m[key]; ok {
		return x
	}
	for _, x := range m {
		if f := find(x, key); f != nil {
			return f
		}
	}
	return nil
}

// unixTime reads `date +%s.%N`; zero when it cannot.
func unixTime(s string) time.Time {
	sec, frac, _ := strings.Cut(strings.TrimSpace(s), ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}
	}
	var ns int64
	if frac != "" {
		frac = (frac + "000000000")[:9]
		if ns, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return time.Time{}
		}
	}
	return time.Unix(n, ns)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
