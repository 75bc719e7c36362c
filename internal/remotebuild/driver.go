package remotebuild

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"shipyard/internal/imageref"
)

// Driver is the files of one remote run, by path relative to the directory it runs in:
// Script, and for every query NAME the document q/NAME.graphql and the jq program q/NAME.jq
// that makes its request body.
type Driver struct {
	Files map[string]string
}

// Script is the driver's entry point: `dagger run sh run.sh` in its directory. It needs sh,
// jq, curl and date. Every query's answer is out/NAME.json (the session's JSON: data and
// errors), with out/NAME.start and out/NAME.end (Unix seconds) and out/NAME.err (curl's
// complaints); a failed build stops the steps after it, a failed publish does not. It exits 1
// when anything failed.
const Script = "run.sh"

// OutDir is where the driver writes the answers, relative to its directory.
const OutDir = "out"

// Query names.
const (
	queryUpload  = "upload"
	querySecrets = "secrets"
)

func buildQuery(i int) string   { return "b" + strconv.Itoa(i) }
func publishQuery(i int) string { return "p" + strconv.Itoa(i) }

// variable is one variable of a query: a static value, or a jq expression over the answers of
// earlier queries (each bound as $NAME, a one-element array) or the environment (env.NAME).
type variable struct {
	name, typ string
	static    any
	jq        string
}

// query is one GraphQL operation and its variables.
type query struct {
	name  string
	body  string // the selection set, without the operation header
	vars  []variable
	needs []string // the queries whose answers the variables read
}

// document is the full GraphQL document.
func (q query) document() string {
	var b strings.Builder
	b.WriteString("query " + strings.ToUpper(q.name[:1]) + q.name[1:])
	if len(q.vars) > 0 {
		b.WriteString("(")
		for i, v := range q.vars {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("$" + v.name + ": " + v.typ)
		}
		b.WriteString(")")
	}
	b.WriteString(" " + q.body + "\n")
	return b.String()
}

// program is the jq program that prints the request body (the document is bound as $doc).
func (q query) program() (string, error) {
	var parts []string
	for _, v := range q.vars {
		val := v.jq
		if val == "" {
			js, err := json.Marshal(v.static)
			if err != nil {
				return "", err
			}
			val = string(js)
		}
		parts = append(parts, strconv.Quote(v.name)+": "+val)
	}
	return "{query: $doc, variables: {" + strings.Join(parts, ", ") + "}}\n", nil
}

// chain is a selection along one path of calls, each aliased (r for the root, c below), and
// the jq path of the leaf fields' parent.
type chain struct {
	calls []string
	path  string
}

func newChain(root string) *chain { return &chain{calls: []string{"r: " + root}, path: ".data.r"} }

func (c *chain) then(call string) *chain {
	c.calls = append(c.calls, "c: "+call)
	c.path += ".c"
	return c
}

// selection closes the chain on leaf fields.
func (c *chain) selection(leaves string) string {
	var b strings.Builder
	b.WriteString("{ ")
	for _, call := range c.calls {
		b.WriteString(call + " { ")
	}
	b.WriteString(leaves)
	for range c.calls {
		b.WriteString(" }")
	}
	b.WriteString(" }")
	return b.String()
}

// answer is the jq expression of a field of an earlier query's answer.
func answer(q, path string) string { return "$" + q + "[0]" + path }

// Render makes the driver of the plan. Every value from the bake file or the run is a
// variable, never text of a document, so no name or value can change a document's meaning.
func (p Plan) Render() (Driver, error) {
	if p.Source == "" || len(p.Steps) == 0 {
		return Driver{}, errors.New("remote build: nothing to build (no source or no steps)")
	}
	built := map[string]int{} // target|platform -> step
	repoDirs := map[string]string{}
	var repoOrder []string
	for i, s := range p.Steps {
		for _, d := range s.Dirs {
			switch {
			case d.Target != "":
				if _, ok := built[d.Target+"|"+s.Platform]; !ok {
					return Driver{}, fmt.Errorf("remote build %s: context %s needs %s [%s], which is not built before it", s.Name(), d.Path, d.Target, s.Platform)
				}
			case d.Repo != "":
				if _, ok := repoDirs[d.Repo]; !ok {
					repoDirs[d.Repo] = "d" + strconv.Itoa(len(repoOrder))
					repoOrder = append(repoOrder, d.Repo)
				}
			default:
				return Driver{}, fmt.Errorf("remote build %s: context %s is neither a target nor a directory", s.Name(), d.Path)
			}
		}
		for _, k := range s.Secrets {
			if k < 0 || k >= len(p.Secrets) {
				return Driver{}, fmt.Errorf("remote build %s: secret %d is not given", s.Name(), k)
			}
		}
		built[s.Target+"|"+s.Platform] = i
	}

	// the repository, uploaded once, and the directories named contexts take from it
	upload := query{name: queryUpload}
	var sub []string
	for _, repo := range repoOrder {
		sub = append(sub, repoDirs[repo]+": directory(path: $"+repoDirs[repo]+") { id }")
		upload.vars = append(upload.vars, variable{name: repoDirs[repo], typ: "String!", static: repo})
	}
	upload.vars = append([]variable{{name: "source", typ: "String!", static: p.Source}}, upload.vars...)
	upload.body = "{ host { directory(path: $source) { id " + strings.Join(sub, " ") + " } } }"
	queries := []query{upload}
	const srcPath = ".data.host.directory"

	// the secrets, read from the driver's environment into the request body only
	used := make([]bool, len(p.Secrets))
	for _, s := range p.Steps {
		for _, k := range s.Secrets {
			used[k] = true
		}
	}
	secrets := query{name: querySecrets}
	var fields []string
	for k, a := range p.Auth {
		fields = append(fields, fmt.Sprintf("r%d: secret(uri: $r%d) { id }", k, k))
		secrets.vars = append(secrets.vars, variable{name: fmt.Sprintf("r%d", k), typ: "String!", static: "env://" + a.Env})
	}
	for k, s := range p.Secrets {
		if !used[k] {
			continue
		}
		fields = append(fields, fmt.Sprintf("s%d: setSecret(name: $n%d, plaintext: $v%d) { id }", k, k, k))
		secrets.vars = append(secrets.vars,
			variable{name: fmt.Sprintf("n%d", k), typ: "String!", static: s.ID},
			variable{name: fmt.Sprintf("v%d", k), typ: "String!", jq: "env." + s.Env})
	}
	if len(fields) > 0 {
		secrets.body = "{ " + strings.Join(fields, " ") + " }"
		queries = append(queries, secrets)
	}

	builtPath := map[int]string{}
	for i, s := range p.Steps {
		q := query{name: buildQuery(i), needs: []string{queryUpload}}
		v := func(name, typ string, static any) string {
			q.vars = append(q.vars, variable{name: name, typ: typ, static: static})
			return "$" + name
		}
		ref := func(name, typ, jq, from string) string {
			q.vars = append(q.vars, variable{name: name, typ: typ, jq: jq})
			if !contains(q.needs, from) {
				q.needs = append(q.needs, from)
			}
			return "$" + name
		}
		c := newChain("loadDirectoryFromID(id: " + ref("src", "DirectoryID!", answer(queryUpload, srcPath+".id"), queryUpload) + ")")
		c.then("directory(path: " + v("context", "String!", s.Context) + ")")
		for k, d := range s.Dirs {
			var dir string
			if d.Target != "" {
				dep := built[d.Target+"|"+s.Platform]
				dir = ref(fmt.Sprintf("dir%d", k), "DirectoryID!", answer(buildQuery(dep), builtPath[dep]+".rootfs.id"), buildQuery(dep))
			} else {
				dir = ref(fmt.Sprintf("dir%d", k), "DirectoryID!", answer(queryUpload, srcPath+"."+repoDirs[d.Repo]+".id"), queryUpload)
			}
			c.then(fmt.Sprintf("withDirectory(path: %s, source: %s)", v(fmt.Sprintf("path%d", k), "String!", d.Path), dir))
		}
		if s.DockerfileText != "" {
			c.then(fmt.Sprintf("withNewFile(path: %s, contents: %s)", v("dockerfilePath", "String!", s.Dockerfile), v("dockerfileText", "String!", s.DockerfileText)))
		}
		args := []string{"platform: " + v("platform", "Platform!", s.Platform), "dockerfile: " + v("dockerfile", "String!", s.Dockerfile)}
		if len(s.Args) > 0 {
			list := make([]map[string]string, 0, len(s.Args))
			for _, a := range s.Args {
				list = append(list, map[string]string{"name": a.Name, "value": a.Value})
			}
			args = append(args, "buildArgs: "+v("buildArgs", "[BuildArg!]", list))
		}
		if s.Stage != "" {
			args = append(args, "target: "+v("stage", "String!", s.Stage))
		}
		if len(s.Secrets) > 0 {
			var ids []string
			for _, k := range s.Secrets {
				ids = append(ids, answer(querySecrets, fmt.Sprintf(".data.s%d.id", k)))
			}
			args = append(args, "secrets: "+ref("secrets", "[SecretID!]", "["+strings.Join(ids, ", ")+"]", querySecrets))
		}
		c.then("dockerBuild(" + strings.Join(args, ", ") + ")")
		for k, l := range s.Labels {
			c.then(fmt.Sprintf("withLabel(name: %s, value: %s)", v(fmt.Sprintf("label%d", k), "String!", l.Name), v(fmt.Sprintf("value%d", k), "String!", l.Value)))
		}
		for k, a := range s.Annotations {
			c.then(fmt.Sprintf("withAnnotation(name: %s, value: %s)", v(fmt.Sprintf("annotation%d", k), "String!", a.Name), v(fmt.Sprintf("annotationValue%d", k), "String!", a.Value)))
		}
		q.body = c.selection("built: sync rootfs { id }")
		builtPath[i] = c.path
		queries = append(queries, q)

		if s.Push == "" {
			continue
		}
		pq := query{name: publishQuery(i), needs: []string{buildQuery(i)}}
		pq.vars = append(pq.vars, variable{name: "ctr", typ: "ContainerID!", jq: answer(buildQuery(i), builtPath[i]+".built")})
		pc := newChain("loadContainerFromID(id: $ctr)")
		// Only the credentials of the longest address covering the image: the engine keeps one
		// per host, so another repository's on the same host would replace them.
		if k := p.authFor(s.Push); k >= 0 {
			push, err := imageref.ParseTagged(s.Push)
			if err != nil {
				return Driver{}, fmt.Errorf("remote build %s: %v", s.Name(), err)
			}
			a := p.Auth[k]
			pq.needs = append(pq.needs, querySecrets)
			pq.vars = append(pq.vars,
				variable{name: fmt.Sprintf("address%d", k), typ: "String!", static: push.Registry()},
				variable{name: fmt.Sprintf("username%d", k), typ: "String!", static: a.Username},
				variable{name: fmt.Sprintf("password%d", k), typ: "SecretID!", jq: answer(querySecrets, fmt.Sprintf(".data.r%d.id", k))})
			pc.then(fmt.Sprintf("withRegistryAuth(address: $address%d, username: $username%d, secret: $password%d)", k, k, k))
		}
		pq.vars = append(pq.vars, variable{name: "ref", typ: "String!", static: s.Push})
		pq.body = pc.selection("ref: publish(address: $ref)")
		queries = append(queries, pq)
	}

	d := Driver{Files: map[string]string{}}
	for _, q := range queries {
		prog, err := q.program()
		if err != nil {
			return Driver{}, fmt.Errorf("remote build: query %s: %v", q.name, err)
		}
		d.Files["q/"+q.name+".graphql"] = q.document()
		d.Files["q/"+q.name+".jq"] = prog
	}
	d.Files[Script] = p.script(queries)
	return d, nil
}

// script is the driver: the upload and the secrets first, then the builds in waves (a wave's
// builds run together; a build waits for the wave of the steps it takes a root filesystem
// from), each publish in the background as soon as its build is done.
func (p Plan) script(queries []query) string {
	byName := map[string]query{}
	for _, q := range queries {
		byName[q.name] = q
	}
	call := func(name string) string {
		line := "q " + name
		for _, n := range byName[name].needs {
			line += " --slurpfile " + n + " " + OutDir + "/" + n + ".json"
		}
		return line
	}
	var b strings.Builder
	b.WriteString(`#!/bin/sh
# The remote builds of one run, sent to the session of the dagger run this script runs in
# (generated by shipyard's internal/remotebuild). Secrets go from the environment into the
# request bodies only.
set -u
cd "$(dirname "$0")"
mkdir -p ` + OutDir + `
# q NAME [jq args]: sends q/NAME.graphql with the variables q/NAME.jq makes; fails unless the
# answer has data and no errors
q() {
  name=$1; shift
  date +%s.%N >"` + OutDir + `/$name.start"
  jq -n -c --rawfile doc "q/$name.graphql" "$@" -f "q/$name.jq" |
    curl -sS -u "$DAGGER_SESSION_TOKEN:" -H 'content-type: application/json' --data-binary @- \
      "http://127.0.0.1:$DAGGER_SESSION_PORT/query" >"` + OutDir + `/$name.json" 2>"` + OutDir + `/$name.err"
  date +%s.%N >"` + OutDir + `/$name.end"
  jq -e '.data != null and ((.errors // []) | length) == 0' "` + OutDir + `/$name.json" >/dev/null 2>&1
}
failed() { : >"` + OutDir + `/failed.$1"; }
`)
	b.WriteString(call(queryUpload) + " || exit 1\n")
	if _, ok := byName[querySecrets]; ok {
		b.WriteString(call(querySecrets) + " || exit 1\n")
	}
	// waves: a step's wave is one more than the latest wave of the steps it takes from
	wave := make([]int, len(p.Steps))
	at := map[string]int{}
	last := 0
	for i, s := range p.Steps {
		for _, d := range s.Dirs {
			if d.Target != "" {
				wave[i] = max(wave[i], wave[at[d.Target+"|"+s.Platform]]+1)
			}
		}
		at[s.Target+"|"+s.Platform] = i
		last = max(last, wave[i])
	}
	for w := 0; w <= last; w++ {
		b.WriteString(fmt.Sprintf("# wave %d\npids=\n", w))
		for i := range p.Steps {
			if wave[i] == w {
				b.WriteString(fmt.Sprintf("(%s || failed %s) & pids=\"$pids $!\"\n", call(buildQuery(i)), buildQuery(i)))
			}
		}
		b.WriteString("wait $pids\n")
		for i, s := range p.Steps {
			if wave[i] != w || s.Push == "" {
				continue
			}
			b.WriteString(fmt.Sprintf("[ -e %s/failed.%s ] || (%s || failed %s) &\n", OutDir, buildQuery(i), call(publishQuery(i)), publishQuery(i)))
		}
		if w < last {
			b.WriteString(fmt.Sprintf("if ls %s/failed.b* >/dev/null 2>&1; then wait; exit 1; fi\n", OutDir))
		}
	}
	b.WriteString(fmt.Sprintf("wait\nif ls %s/failed.* >/dev/null 2>&1; then exit 1; fi\n", OutDir))
	return b.String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
