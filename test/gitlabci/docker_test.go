//go:build full

package gitlabci_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"shipyard/internal/enginever"
	"shipyard/internal/imgconfig"
)

// dockerHint says how to get the Docker daemon the Docker-executor tests run on.
const dockerHint = `start it with: hack/docker up && eval "$(hack/docker env)"`

// dockerRunner is hack/docker's daemon as gitlab-ci-local's Docker executor uses it, with what a
// GitLab runner's config.toml holds for Docker-in-Docker: privileged containers, the
// /certs/client volume a job shares with its dind service, and this machine's registry
// configuration (the dind daemons' docker.io mirror, the engines' mirrors, the engine image's
// registry host on the jobs' network).
type dockerRunner struct {
	host         string // DOCKER_HOST of the daemon
	gw           string // this machine on the jobs' network
	dindConfig   string // a dind service's /etc/docker/daemon.json
	daggerConfig string // ~/.config/dagger of the job and its dind service (engine.json)
	engineHost   string // the registry host of the engine image
	engineIP     string // where the jobs reach that host (the image mirror)
	certs        string // the volume of /certs/client, one per test
}

// needDocker reads hack/docker env's variables, failing the test when the daemon does not answer.
func needDocker(t *testing.T) *dockerRunner {
	t.Helper()
	d := &dockerRunner{host: os.Getenv("SHIPYARD_DOCKER_HOST"), gw: os.Getenv("SHIPYARD_DOCKER_GW"),
		dindConfig: os.Getenv("SHIPYARD_DOCKER_DIND_CONFIG"), daggerConfig: os.Getenv("SHIPYARD_DOCKER_DAGGER_CONFIG"),
		engineHost: os.Getenv("SHIPYARD_DOCKER_ENGINE_HOST"), engineIP: os.Getenv("SHIPYARD_DOCKER_ENGINE_IP")}
	if d.host == "" || d.gw == "" || d.dindConfig == "" || d.daggerConfig == "" || d.engineHost == "" || d.engineIP == "" {
		t.Fatalf("the Docker daemon of the Docker-executor tests is not set up (SHIPYARD_DOCKER_* unset): %s", dockerHint)
	}
	if out, err := d.docker("version", "--format", "{{.Server.Version}}"); err != nil {
		t.Fatalf("the Docker daemon at %s does not answer (%v: %s): %s", d.host, err, out, dockerHint)
	}
	d.certs = fmt.Sprintf("shipyard-certs-%d", time.Now().UnixNano())
	// gitlab-ci-local removes a job's containers and volumes when the whole pipeline ends; a
	// pipeline stopped on a timeout leaves them: what the test added goes with it
	before := d.list(t)
	t.Cleanup(func() {
		for _, kind := range []string{"container", "volume"} {
			for id := range d.list(t)[kind] {
				if !before[kind][id] {
					_, _ = d.docker(kind, "rm", "-f", id)
				}
			}
		}
	})
	return d
}

// docker runs the docker client against the daemon.
func (d *dockerRunner) docker(args ...string) (string, error) {
	out, err := exec.Command("docker", append([]string{"-H", d.host}, args...)...).CombinedOutput()
	return string(out), err
}

// list is the daemon's containers and volumes, by kind ("container", "volume") and id.
func (d *dockerRunner) list(t *testing.T) map[string]map[string]bool {
	t.Helper()
	out := map[string]map[string]bool{}
	for kind, args := range map[string][]string{"container": {"ps", "-aq", "--no-trunc"}, "volume": {"volume", "ls", "-q"}} {
		ids, err := d.docker(args...)
		if err != nil {
			t.Fatalf("docker %s: %v: %s", strings.Join(args, " "), err, ids)
		}
		out[kind] = map[string]bool{}
		for _, id := range strings.Fields(ids) {
			out[kind][id] = true
		}
	}
	return out
}

// args are gitlab-ci-local's flags for the Docker executor as a runner configured for
// Docker-in-Docker runs it. Jobs run one at a time: gitlab-ci-local gives the /certs/client
// volume to every job of the run, where GitLab's runner gives each job its own, so two dind
// services at once would replace each other's client certificate.
func (d *dockerRunner) args() []string {
	return []string{"--privileged", "--concurrency", "1",
		"--volume", d.certs + ":/certs/client",
		"--volume", d.dindConfig + ":/etc/docker/daemon.json:ro",
		"--volume", d.daggerConfig + ":/root/.config/dagger:ro",
		"--extra-host", d.engineHost + ":" + d.engineIP}
}

// environ is gitlab-ci-local's environment: its docker client talks to the daemon.
func (d *dockerRunner) environ(home string) []string {
	var env []string
	for _, kv := range toolEnv(home) {
		if name, _, _ := strings.Cut(kv, "="); name != "DOCKER_HOST" && name != "_EXPERIMENTAL_DAGGER_RUNNER_HOST" {
			env = append(env, kv)
		}
	}
	return append(env, "DOCKER_HOST="+d.host)
}

// moduleServer serializes the tests that serve a module on port 80 of the jobs' network.
var moduleServer sync.Mutex

// serveModule serves this checkout's working tree (tracked and untracked files, without what
// .gitignore leaves out) as a git repository over smart HTTP (git's own http-backend) on port 80
// of this machine's address on the jobs' network, tagged tag, and returns the module's
// reference as a project names it in SHIPYARD_MODULE: http://HOST/shipyard.git@TAG. Dagger
// v0.19.10 drops a port from an HTTP module reference, so the server is on the default port.
func (d *dockerRunner) serveModule(t *testing.T, tag string) string {
	t.Helper()
	backend := "/usr/lib/git-core/git-http-backend"
	if _, err := os.Stat(backend); err != nil {
		t.Fatalf("git's http-backend is missing (%v): apt-get install git", err)
	}
	root := repoRoot(t)
	work := &repo{dir: t.TempDir(), home: t.TempDir()}
	ls := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	ls.Dir = root
	out, err := ls.Output()
	if err != nil {
		t.Fatalf("listing the checkout's files: %v", err)
	}
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if st, err := os.Lstat(filepath.Join(root, f)); err != nil || !st.Mode().IsRegular() {
			continue // deleted in the working tree, or a link
		}
		if err := copyFile(filepath.Join(root, f), filepath.Join(work.dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	work.commitAll(t, "main", "shipyard: the module as checked out")
	work.git(t, "tag", "--annotate", "--message", "the module under test", tag)
	served := t.TempDir()
	work.git(t, "clone", "--quiet", "--bare", work.dir, filepath.Join(served, "shipyard.git"))

	moduleServer.Lock()
	ln, err := net.Listen("tcp", d.gw+":80")
	if err != nil {
		moduleServer.Unlock()
		t.Fatalf("serving the module on %s:80: %v", d.gw, err)
	}
	srv := &http.Server{Handler: &cgi.Handler{Path: backend, Env: []string{"GIT_PROJECT_ROOT=" + served, "GIT_HTTP_EXPORT_ALL=1"}}}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("the module's git server: %v", err)
		}
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		moduleServer.Unlock()
	})
	return d.moduleRef(tag)
}

// moduleTag is the tag the module under test is served at.
const moduleTag = "v1.0.0"

// moduleRef is the module's reference at tag as serveModule serves it: a project names it in
// SHIPYARD_MODULE or the component's module input.
func (d *dockerRunner) moduleRef(tag string) string {
	return fmt.Sprintf("http://%s/shipyard.git@%s", d.gw, tag)
}

// onDocker makes r's pipeline run on the Docker executor as a project outside this repository
// runs it: the module from its git server (SHIPYARD_MODULE=URL@TAG), the CLI from a download
// location on the jobs' network, and the engine's cache carried from job to job through the build
// registry (SHIPYARD_CACHE_REF, with the job's registry login). The CLI of a builder comes from
// the engine image (no SHIPYARD_DAGGER_CLI), as for a user.
//
// cache is the repository of SHIPYARD_CACHE_REF on the build registry. The pipelines of the
// suite share dockerCacheRef, as a project keeps one from pipeline to pipeline: a pipeline's
// first job imports what an earlier pipeline of the same ref exported (the module's compile
// above all), so only the first pipeline of a run pays for the engine image's empty Go caches.
func (r *repo) onDocker(t *testing.T, d *dockerRunner, vars map[string]*string, cache string) {
	t.Helper()
	r.docker = d
	r.env = d.environ(r.home)
	rel := newReleaseServerOn(t, d.gw+":0", strings.TrimPrefix(enginever.Version, "v"), false)
	vars["SHIPYARD_MODULE"] = str(d.serveModule(t, moduleTag))
	vars["DAGGER_DOWNLOAD_URL"] = str(rel.URL)
	vars["SHIPYARD_CACHE_REF"] = str(*vars["CI_REGISTRY"] + "/" + cache)
	delete(vars, "SHIPYARD_DAGGER_CLI")
}

// dockerCacheRef is the repository, on the build registry, of the Docker-executor pipelines'
// SHIPYARD_CACHE_REF.
const dockerCacheRef = "gl-docker-executor/cache"

// TestDockerExecutorTagPipeline runs the tag pipeline of .gitlab-ci.yml as GitLab's default
// runner runs it, on gitlab-ci-local's Docker executor: every job in the docker:27 image with a
// privileged docker:27-dind service, its before_script installing the Dagger CLI, the CLI starting
// the engine image inside the dind service, the module fetched from its git server. It asserts
// what the tag pipeline's other runs assert (tagPipeline), with the cache carried from job to job
// (SHIPYARD_CACHE_REF), and logs where each job's time went (bench/run o measures it).
func TestDockerExecutorTagPipeline(t *testing.T) {
	gitlabCILocal(t)
	d := needDocker(t)
	p := tagPipeline(t, "", d, newEC2Cloud(t), nil)
	for _, job := range []string{"lint", "test", "build", "build_arm_ec2", "build_manifests", "release"} {
		log := p.jobs[job].log
		if !strings.Contains(log, "image://"+d.engineHost+"/") {
			t.Errorf("the %s job's `dagger version` does not show the engine image started by the CLI:\n%s", job, head(log, 20))
		}
		t.Logf("%s: %s", job, jobTimes(log))
		t.Logf("%s: %s; module calls: %s", job, jobWall(p.jobs[job].stdout, job), moduleCalls(log))
	}
	// every image, the build job's (amd64, this engine) and the EC2 builder's (arm64, its engine),
	// carries the commit's time in its config, not the time an engine built it
	commit, err := strconv.ParseInt(strings.TrimSpace(p.repo.git(t, "log", "-1", "--format=%ct", "HEAD")), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	for target, byPlatform := range wantBuilt(t, p) {
		for platform, pushed := range byPlatform {
			wantSourceTime(t, target+" ["+platform+"] "+pushed, pinned(t, pushed).String(), time.Unix(commit, 0))
		}
	}
	retryBuild(t, p)
}

// wantSourceTime checks that the image config at ref has the source's time at as created and
// as the time of every history entry the engine wrote, and no engine text for those entries.
func wantSourceTime(t *testing.T, what, ref string, at time.Time) {
	t.Helper()
	img, err := remote.Image(imageRef(t, ref))
	if err != nil {
		t.Fatalf("reading %s: %v", ref, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatalf("reading the config of %s: %v", ref, err)
	}
	if !cfg.Created.Time.Equal(at) {
		t.Errorf("%s: the config's created is %s, want the commit's time %s", what, cfg.Created.Time.UTC(), at.UTC())
	}
	for i, h := range cfg.History {
		if h.Comment == imgconfig.ExporterComment && (!h.Created.Time.Equal(at) || h.CreatedBy != "") {
			t.Errorf("%s: history entry %d is %s %q, want the commit's time and no engine text", what, i, h.Created.Time.UTC(), h.CreatedBy)
		}
	}
}

// retryBuild runs p's build job again, then build_manifests and release, each as GitLab's Retry
// runs a job: in a new job container with a new dind service, so on a fresh engine that imports
// what the jobs before it exported. The retried build pushes the first run's digests (each image
// config gets the commit's time, not the engine's), finds their supply chain already written,
// build_manifests merges the same indexes, and release finds the version released with that
// content.
func retryBuild(t *testing.T, p pipelineRun) {
	t.Helper()
	first := wantBuilt(t, p)
	merged := mergedIndexes(t, p.jobs["build_manifests"])
	again := map[string]jobRun{}
	retry := func(job string) jobRun {
		start := time.Now()
		stdout, err := p.repo.runOnEngine(t, "", p.vars, nil, job)
		run := p.repo.jobRun(t, job, stdout, err)
		if err != nil {
			t.Fatalf("the retried %s job failed: %v\n%s", job, err, tail(run.log, 60))
		}
		run.wantStatus(t, "PASS")
		t.Logf("retried %s: %s; %s; cached steps: %d", job, time.Since(start).Round(time.Second), jobTimes(run.log), cachedSteps(run.log))
		again[job] = run
		return run
	}
	retried := pushedDigests(retry("build").log, "linux/amd64")
	for _, target := range appTargets {
		if retried[target] != first[target]["linux/amd64"] {
			t.Errorf("the retried build job pushed %s as %s, the first run as %s", target, retried[target], first[target]["linux/amd64"])
		}
		if want := "attested " + target + " [linux/amd64] "; !regexp.MustCompile(regexp.QuoteMeta(want) + `\S+: already \(`).MatchString(again["build"].log) {
			t.Errorf("the retried build job did not find %s's supply chain already written:\n%s", target, tail(again["build"].log, 30))
		}
	}
	remerged := mergedIndexes(t, retry("build_manifests"))
	retry("release")
	for _, target := range appTargets {
		if remerged[target] != merged[target] {
			t.Errorf("after the retry build_manifests merged %s as %s, the first time as %s", target, remerged[target], merged[target])
		}
		if want := "/armapp-" + target + ":"; !regexp.MustCompile(regexp.QuoteMeta(want) + `\S+ is already released as sha256:[0-9a-f]{64}: nothing to copy`).MatchString(again["release"].log) {
			t.Errorf("the release job run again did not find armapp-%s released with the same content:\n%s", target, tail(again["release"].log, 30))
		}
	}
	if n := cachedSteps(again["build"].log); n == 0 {
		t.Errorf("the retried build job shows no step CACHED: it imported nothing from the first run\n%s", tail(again["build"].log, 60))
	}
}

// cachedSteps counts the engine's progress lines that report a step CACHED.
func cachedSteps(log string) int {
	return len(regexp.MustCompile(`(?m)^\s*\d+\s*: .* CACHED( \[[0-9.ms]+\])?\s*$`).FindAllString(log, -1))
}

// TestDockerExecutorComponentPipeline runs the tag pipeline of a project that adopts shipyard
// through the CI/CD component (templates/shipyard.yml) on the Docker executor, as
// TestDockerExecutorTagPipeline runs .gitlab-ci.yml: every job of it, the module given as the
// component's module input (a remote module@version over HTTP), with the cache carried between
// jobs, and the same assertions.
func TestDockerExecutorComponentPipeline(t *testing.T) {
	gitlabCILocal(t)
	d := needDocker(t)
	p := tagPipelineOf(t, "", d, newEC2Cloud(t), nil, true)
	for _, job := range []string{"lint", "test", "build", "build_arm_ec2", "build_manifests", "release"} {
		log := p.jobs[job].log
		if !strings.Contains(log, "load module: "+d.moduleRef(moduleTag)) {
			t.Errorf("the %s job did not load the module from the component's input %s:\n%s", job, d.moduleRef(moduleTag), head(log, 40))
		}
		t.Logf("%s: %s; module calls: %s", job, jobWall(p.jobs[job].stdout, job), moduleCalls(log))
	}
}

// jobTimes is what a job's log says of where its time went: the engine's start, the module's
// load, the stage.
func jobTimes(log string) string {
	var parts []string
	for _, what := range []string{"starting engine", "load module", "stage [a-z_]+"} {
		if m := regexp.MustCompile(`(?m)` + what + `.* (DONE|CACHED) \[([0-9.ms]+)\]`).FindStringSubmatch(log); m != nil {
			parts = append(parts, fmt.Sprintf("%s %s %s", strings.Fields(m[0])[0], m[1], m[2]))
		}
	}
	return strings.Join(parts, ", ")
}

// jobWall is how long gitlab-ci-local says job took, from its pipeline output.
func jobWall(stdout, job string) string {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(job) + `\s+finished in (.+)$`).FindStringSubmatch(ansi.ReplaceAllString(stdout, ""))
	if m == nil {
		return "no finish line"
	}
	return "finished in " + strings.TrimSpace(m[1])
}

// moduleCalls lists the time of each top-level call of a job's `dagger call` chain (the
// constructor and every with-… call) and of the cache export, as the plain progress prints them.
func moduleCalls(log string) string {
	var parts []string
	for _, m := range regexp.MustCompile(`(?m)^\s*\d+\s*: (shipyard|Shipyard\.\w+|cache export) (DONE|CACHED|ERROR) \[([0-9.ms]+)\]`).FindAllStringSubmatch(log, -1) {
		parts = append(parts, m[1]+" "+m[3])
	}
	return strings.Join(parts, ", ")
}

// serviceReaper reads gitlab-ci-local's output and, as each job finishes, removes that job's
// service containers with their volumes, as GitLab's runner does when a job ends. gitlab-ci-local
// keeps every job's dind service, and the engine and caches inside it, until the whole pipeline
// ends: a tag pipeline's six took 13 GB and their engines' memory at once.
func (d *dockerRunner) serviceReaper(t *testing.T) io.WriteCloser {
	pr, pw := io.Pipe()
	finished := regexp.MustCompile(`^(\S+)\s+finished in`)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
		for sc.Scan() {
			if m := finished.FindStringSubmatch(ansi.ReplaceAllString(sc.Text(), "")); m != nil {
				d.removeServices(t, m[1])
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	return &reaper{PipeWriter: pw, wg: &wg}
}

// reaper is the writing end of serviceReaper; Close waits for the last removals.
type reaper struct {
	*io.PipeWriter
	wg *sync.WaitGroup
}

func (r *reaper) Close() error {
	err := r.PipeWriter.Close()
	r.wg.Wait()
	return err
}

// removeServices removes the running containers that share a network with a stopped container
// of job (its job container, whose CI_JOB_NAME is job): its services.
func (d *dockerRunner) removeServices(t *testing.T, job string) {
	ids, err := d.docker("ps", "-aq", "--no-trunc", "--filter", "status=exited")
	if err != nil {
		t.Logf("listing the stopped containers of job %s: %v: %s", job, err, ids)
		return
	}
	for _, id := range strings.Fields(ids) {
		out, err := d.docker("inspect", "--format", `{{range .Config.Env}}{{println .}}{{end}}{{range $n, $v := .NetworkSettings.Networks}}network={{$n}}{{println}}{{end}}`, id)
		if err != nil || !strings.Contains("\n"+out, "\nCI_JOB_NAME="+job+"\n") {
			continue
		}
		for _, line := range strings.Split(out, "\n") {
			network, ok := strings.CutPrefix(line, "network=")
			if !ok || !strings.HasPrefix(network, "gitlab-ci-local-") {
				continue
			}
			services, err := d.docker("ps", "-aq", "--filter", "network="+network, "--filter", "status=running")
			if err != nil {
				continue
			}
			if f := strings.Fields(services); len(f) > 0 {
				if out, err := d.docker(append([]string{"rm", "-fv"}, f...)...); err != nil {
					t.Logf("removing the services of job %s: %v: %s", job, err, out)
				}
			}
		}
	}
}
