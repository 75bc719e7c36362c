//go:build full

package gitlabci_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"shipyard/internal/attest"
	attestreg "shipyard/internal/attest/registry"
	"shipyard/internal/e2c"
	"shipyard/internal/imageref"
	"shipyard/internal/testenv"
)

// hostIP is this machine as the engines' containers reach it: the host side of hack/remote-engine's
// veth. The registry mirror relays there (hostIP:5000, plain HTTP on both engines), and moto
// listens there, so neither needs a tunnel.
const hostIP = "10.99.0.1"

// appBake is the bake file of the small user repository: the ARM-capable images of appTargets
// for linux/amd64 and linux/arm64, named as the module's default bake file
// (docker-bake-production.hcl) so .gitlab-ci.yml's function needs no --bake-file.
func appBake() string {
	b := fmt.Sprintf("variable \"REGISTRY\" { default = \"%s:5000/armapp\" }\nvariable \"TAG\" { default = \"dev\" }\n"+
		"group \"default\" { targets = [\"%s\"] }\n", hostIP, strings.Join(appTargets, `", "`))
	for _, tg := range appTargets {
		b += fmt.Sprintf("target %q {\n  context   = %[1]q\n  tags      = [\"${REGISTRY}/%[1]s:${TAG}\"]\n  platforms = [\"linux/amd64\", \"linux/arm64\"]\n}\n", tg)
	}
	return b
}

// appConfig is its shipyard.hcl: the project's name and one trivial lint command; no test block.
const appConfig = `project = "armapp"

lint {
  command = ["test", "-s", "docker-bake-production.hcl"]
}
`

// appTargets are the bake targets of appBake.
var appTargets = []string{"traefik", "watchtower"}

// appRepo is a user's small repository on branch: two images of the reference app, appBake,
// appConfig and this checkout's .gitlab-ci.yml, with one commit on main and origin set as a
// clone has it. The module is not in it: the pipeline names this checkout in SHIPYARD_MODULE.
func appRepo(t *testing.T, branch string) *repo {
	t.Helper()
	root := repoRoot(t)
	r := &repo{dir: t.TempDir(), home: t.TempDir()}
	files := map[string]string{".gitlab-ci.yml": filepath.Join(root, ".gitlab-ci.yml")}
	for _, svc := range appTargets {
		entries, err := os.ReadDir(filepath.Join(root, "services", svc))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			files[svc+"/"+e.Name()] = filepath.Join(root, "services", svc, e.Name())
		}
	}
	for dst, src := range files {
		if err := copyFile(src, filepath.Join(r.dir, dst)); err != nil {
			t.Fatal(err)
		}
	}
	for f, content := range map[string]string{"docker-bake-production.hcl": appBake(), "shipyard.hcl": appConfig} {
		if err := os.WriteFile(filepath.Join(r.dir, f), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r.commitAll(t, "main", "armapp: two images")
	if branch != "main" {
		r.git(t, "checkout", "--quiet", "-B", branch)
	}
	if err := os.WriteFile(filepath.Join(r.dir, shellRunnerFile), []byte(shellRunnerYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	r.env = jobEnv(t, r.home)
	return r
}

// ec2Cloud is moto on hostIP with an arm64 launch template, and the routing of every instance's
// public IP to the test host of hack/remote-engine slot 0 (sshd, a Dagger engine).
type ec2Cloud struct {
	client *ec2.Client
	// vars are the project's CI/CD variables for the ARM job: the seed's names only, plus the
	// endpoint of this fake EC2 and the dagger CLI (the engine image cannot be pulled here).
	vars map[string]*string
}

// newEC2Cloud starts moto and reads slot 0's SSH user, client key and host key.
func newEC2Cloud(t *testing.T) *ec2Cloud {
	t.Helper()
	renv := remoteEngineEnv(t)
	endpoint := testenv.StartMotoOn(t, hostIP)
	client := testenv.MotoEC2(endpoint)
	template := testenv.ArmLaunchTemplate(t, client)
	cloud := &testenv.Cloud{NS: renv["SHIPYARD_REMOTE_NETNS"], NSIP: renv["SHIPYARD_REMOTE_SSH_HOST"], HostIF: renv["SHIPYARD_REMOTE_HOST_IF"]}
	cloud.ServeInstances(t, client)
	key, err := os.ReadFile(renv["SHIPYARD_REMOTE_SSH_KEY"])
	if err != nil {
		t.Fatal(err)
	}
	known, err := os.ReadFile(renv["SHIPYARD_REMOTE_KNOWN_HOSTS"])
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(known))
	if len(f) < 3 {
		t.Fatalf("%s holds no known_hosts line", renv["SHIPYARD_REMOTE_KNOWN_HOSTS"])
	}
	dcli, err := exec.LookPath("dagger")
	if err != nil {
		t.Fatal(err)
	}
	c := &ec2Cloud{client: client, vars: map[string]*string{
		"BUILD_ARM64": str("true"), "ARM_BUILDER": str("ec2"),
		"E2C_INSTANCE_STRATEGY": str("template"), "E2C_LAUNCH_TEMPLATE_ID": str(template),
		"E2C_SSH_USER": str(renv["SHIPYARD_REMOTE_SSH_USER"]),
		// base64-encoded, as the seed documents it
		"E2C_SSH_PRIVATE_KEY": str(base64.StdEncoding.EncodeToString(key)),
		"E2C_SSH_HOST_KEY":    str(f[1] + " " + f[2]),
		"AWS_ACCESS_KEY_ID":   str("testing"), "AWS_SECRET_ACCESS_KEY": str("testing-secret"), "AWS_DEFAULT_REGION": str("eu-north-1"),
		"AWS_ENDPOINT_URL_EC2": str(endpoint),
		"SHIPYARD_DAGGER_CLI":  str(dcli),
	}}
	if p := renv["SHIPYARD_REMOTE_SSH_PORT"]; p != "" && p != "22" {
		c.vars["E2C_SSH_PORT"] = str(p)
	}
	return c
}

// remoteEngineEnv is what `hack/remote-engine env` prints, failing the test when slot 0 is not up.
func remoteEngineEnv(t *testing.T) map[string]string {
	t.Helper()
	tool := filepath.Join(repoRoot(t), "hack", "remote-engine")
	if st, err := exec.Command(tool, "status").CombinedOutput(); err != nil || !strings.Contains(string(st), "running") {
		t.Fatalf("the test host of hack/remote-engine is not up (hack/remote-engine up): %v %s", err, st)
	}
	out, err := exec.Command(tool, "env").Output()
	if err != nil {
		t.Fatalf("hack/remote-engine env: %v", err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "export "), "=")
		if ok && !strings.HasPrefix(k, "#") {
			env[k] = strings.Trim(v, `"'`)
		}
	}
	for _, k := range []string{"SHIPYARD_REMOTE_NETNS", "SHIPYARD_REMOTE_HOST_IF", "SHIPYARD_REMOTE_SSH_KEY", "SHIPYARD_REMOTE_KNOWN_HOSTS", "SHIPYARD_REMOTE_SSH_USER"} {
		if env[k] == "" {
			t.Fatalf("hack/remote-engine env does not set %s:\n%s", k, out)
		}
	}
	return env
}

// instances returns moto's instances by state name.
func (c *ec2Cloud) instances(t *testing.T) map[string][]string {
	t.Helper()
	out, err := c.client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	byState := map[string][]string{}
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			s := string(in.State.Name)
			byState[s] = append(byState[s], aws.ToString(in.InstanceId))
		}
	}
	return byState
}

// wantNoneRunning fails when moto has an instance pending or running.
func (c *ec2Cloud) wantNoneRunning(t *testing.T, after string) {
	t.Helper()
	got := c.instances(t)
	if n := len(got[string(types.InstanceStateNamePending)]) + len(got[string(types.InstanceStateNameRunning)]); n != 0 {
		t.Errorf("%d instance(s) still pending or running in moto after %s: %v", n, after, got)
	}
}

// pipelineVars are the CI/CD variables of a pipeline of the app repository run with the module
// at this checkout: the registries (both on the mirror, under a fresh prefix: build and
// release), dummy registry credentials as GitLab and a project set them, and the ARM variables.
func pipelineVars(t *testing.T, prefix string, arm map[string]*string) map[string]*string {
	t.Helper()
	reg := hostIP + ":5000"
	vars := map[string]*string{
		"SHIPYARD_MODULE":            str(repoRoot(t)),
		"CI_REGISTRY":                str(reg),
		"CI_REGISTRY_IMAGE":          str(reg + "/" + prefix + "/build"),
		"CI_REGISTRY_USER":           str("gitlab-ci-token"),
		"CI_REGISTRY_PASSWORD":       str("job-token"),
		"CI_JOB_TOKEN":               str("job-token"),
		"RELEASE_REGISTRY_IMAGE":     str(reg + "/" + prefix + "/release"),
		"RELEASE_REGISTRY_USER":      str("releaser"),
		"RELEASE_REGISTRY_PASSWORD":  str("release-password"),
		"SHIPYARD_INSECURE_REGISTRY": str(reg),
	}
	for k, v := range arm {
		vars[k] = v
	}
	return vars
}

// failedJobs is, for every job gitlab-ci-local reports as failed, the tail of its log and the
// file that keeps all of it (the repository is deleted with the test).
func (r *repo) failedJobs(t *testing.T, stdout string) string {
	var b strings.Builder
	for _, m := range regexp.MustCompile(`(?m)^\s*FAIL\s+(\S+)\s*$`).FindAllStringSubmatch(stdout, -1) {
		log, err := os.ReadFile(filepath.Join(r.dir, ".gitlab-ci-local", "output", m[1]+".log"))
		if err != nil {
			continue
		}
		fmt.Fprintf(&b, "\n--- failed job %s (its whole log: %s):\n%s", m[1], testenv.KeepLog(t, m[1], string(log)), tail(string(log), 120))
	}
	return b.String()
}

// pipelineRun is one whole pipeline run: gitlab-ci-local's output and each job's log.
type pipelineRun struct {
	stdout string
	err    error
	jobs   map[string]jobRun
	states *stateCapture      // the state files the jobs wrote, as they were before teardown
	repo   *repo              // where it ran
	vars   map[string]*string // its CI/CD variables
}

// runPipeline runs the checked-out ref's whole pipeline on the engine at host and reads the log
// of every job in want, failing the test unless gitlab-ci-local started exactly those jobs, each
// passed, and each stage started after the jobs of the stage before it had finished.
func (r *repo) runPipeline(t *testing.T, host string, vars map[string]*string, stages [][]string) pipelineRun {
	t.Helper()
	// the state files are read as the jobs write them into their checkouts, which a Docker
	// executor keeps in its volumes
	var states *stateCapture
	var watch func(int)
	if r.docker == nil {
		states = &stateCapture{glob: filepath.Join(r.dir, ".gitlab-ci-local", "builds", "*", e2c.StateFileName("*")), files: map[string][]byte{}, done: make(chan struct{})}
		watch = states.watch
	}
	stdout, err := r.runOnEngine(t, host, vars, watch)
	if states != nil {
		close(states.done)
	}
	p := pipelineRun{stdout: stdout, err: err, jobs: map[string]jobRun{}, states: states}
	var want []string
	for _, s := range stages {
		want = append(want, s...)
	}
	for _, job := range want {
		if _, statErr := os.Stat(filepath.Join(r.dir, ".gitlab-ci-local", "output", job+".log")); statErr != nil {
			t.Fatalf("job %s did not run (gitlab-ci-local: %v):\n%s%s", job, err, tail(stdout, 80), r.failedJobs(t, stdout))
		}
		p.jobs[job] = r.jobRun(t, job, stdout, err)
	}
	for _, job := range want {
		if run := p.jobs[job]; !regexp.MustCompile(`(?m)^\s*PASS\s+` + regexp.QuoteMeta(job) + `\s*$`).MatchString(stdout) {
			t.Fatalf("job %s did not pass (gitlab-ci-local: %v):\n%s\n--- gitlab-ci-local:\n%s", job, err, tail(run.log, 80), tail(stdout, 30))
		}
	}
	if err != nil {
		t.Fatalf("gitlab-ci-local failed although every job passed: %v\n%s", err, tail(stdout, 40))
	}
	ran := regexp.MustCompile(`(?m)^\s*PASS\s+(\S+)\s*$`).FindAllStringSubmatch(stdout, -1)
	var got []string
	for _, m := range ran {
		got = append(got, m[1])
	}
	slices.Sort(got)
	sorted := slices.Sorted(slices.Values(want))
	if !slices.Equal(got, sorted) {
		t.Errorf("the pipeline ran jobs %v, want %v", got, sorted)
	}
	// stage order: every job of a stage started after every job of the stage before finished
	line := func(job, what string) int {
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(job) + `\s+.*` + what)
		loc := re.FindStringIndex(stdout)
		if loc == nil {
			t.Fatalf("gitlab-ci-local's output has no %q line of job %s:\n%s", what, job, tail(stdout, 40))
		}
		return loc[0]
	}
	for i := 1; i < len(stages); i++ {
		for _, before := range stages[i-1] {
			for _, job := range stages[i] {
				if line(before, "finished in") > line(job, "starting") {
					t.Errorf("job %s (stage %d) started before %s (stage %d) finished", job, i+1, before, i)
				}
			}
		}
	}
	return p
}

// pushedDigests reads, from a job's log, the per-platform images it pushed for platform: target
// to ref@digest. The build stage logs `pushed TARGET [PLATFORM] REF@DIGEST`; the ARM job prints
// the builder's publish result, JSON objects with target, platform, ref and digest.
func pushedDigests(log, platform string) map[string]string {
	out := map[string]string{}
	line := regexp.MustCompile(`pushed (\S+) \[` + regexp.QuoteMeta(platform) + `\] (\S+@sha256:[0-9a-f]{64})`)
	for _, m := range line.FindAllStringSubmatch(log, -1) {
		out[m[1]] = m[2]
	}
	obj := regexp.MustCompile(`(?s)\{\s*"target": "([^"]+)",\s*"platform": "` + regexp.QuoteMeta(platform) + `",\s*"ref": "([^"]+)",\s*"digest": "(sha256:[0-9a-f]{64})"\s*\}`)
	for _, m := range obj.FindAllStringSubmatch(log, -1) {
		out[m[1]] = m[2] + "@" + m[3]
	}
	return out
}

// imageRef parses an image reference of the plain-HTTP registries of these tests.
func imageRef(t *testing.T, ref string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// digestOf is the digest the registry serves for ref.
func digestOf(t *testing.T, ref string) string {
	t.Helper()
	d, err := remote.Head(imageRef(t, ref))
	if err != nil {
		t.Fatalf("reading %s: %v", ref, err)
	}
	return d.Digest.String()
}

// platformsOf reads the index ref and returns its platforms (attestation entries left out) with
// the digest each points at.
func platformsOf(t *testing.T, ref string) map[string]string {
	t.Helper()
	idx, err := remote.Index(imageRef(t, ref))
	var m *v1.IndexManifest
	if err == nil {
		m, err = idx.IndexManifest()
	}
	if err != nil {
		t.Fatalf("reading the index %s: %v", ref, err)
	}
	got := map[string]string{}
	for _, d := range m.Manifests {
		if p := d.Platform; p != nil && p.OS != "unknown" {
			got[p.String()] = d.Digest.String()
		}
	}
	return got
}

// pinned parses what a job printed it pushed: ref@digest.
func pinned(t *testing.T, pushed string) imageref.Ref {
	t.Helper()
	r, err := imageref.ParsePinned(pushed)
	if err != nil {
		t.Fatalf("a job printed it pushed %q: %v", pushed, err)
	}
	return r
}

// wantIndex checks that the index ref holds exactly want (platform to ref@digest pushed).
func wantIndex(t *testing.T, ref string, want map[string]string) {
	t.Helper()
	got := platformsOf(t, ref)
	wantDigests := map[string]string{}
	for p, pushed := range want {
		wantDigests[p] = pinned(t, pushed).Digest
	}
	if fmt.Sprint(got) != fmt.Sprint(wantDigests) {
		t.Errorf("index %s holds %v, want exactly %v (the digests the build jobs pushed)", ref, got, wantDigests)
	}
}

// stateFile reads the ARM job's state file from its checkout (gitlab-ci-local's build folder)
// and checks its form: the seed's KEY=VALUE lines, TARGET_INSTANCE_ID, E2C_PUBLIC_IP and
// E2C_INSTANCE_STRATEGY among them, named after the job's CI_JOB_ID.
func (r *repo) stateFile(t *testing.T, job string, states *stateCapture) map[string]string {
	t.Helper()
	// teardown removes the state file, as the seed's does
	if left, _ := filepath.Glob(filepath.Join(r.dir, ".gitlab-ci-local", "builds", job, e2c.StateFileName("*"))); len(left) > 0 {
		t.Errorf("the %s job's checkout still holds %v after teardown", job, left)
	}
	states.mu.Lock()
	defer states.mu.Unlock()
	var names []string
	for path := range states.files {
		if filepath.Base(filepath.Dir(path)) == job {
			names = append(names, path)
		}
	}
	if len(names) != 1 {
		t.Fatalf("the %s job's checkout held %d state files while it ran %v, want 1", job, len(names), names)
	}
	data := states.files[names[0]]
	kv := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		k, v, ok := strings.Cut(l, "=")
		if !ok || !regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`).MatchString(k) {
			t.Errorf("state file line %q is not KEY=VALUE", l)
			continue
		}
		kv[k] = v
	}
	if !regexp.MustCompile(`^i-[0-9a-f]+$`).MatchString(kv["TARGET_INSTANCE_ID"]) || kv["E2C_PUBLIC_IP"] == "" || kv["E2C_INSTANCE_STRATEGY"] != "template" {
		t.Errorf("state file %s lacks the seed's TARGET_INSTANCE_ID, E2C_PUBLIC_IP, E2C_INSTANCE_STRATEGY=template:\n%s", filepath.Base(names[0]), redactKey(data))
	}
	if id := strings.TrimPrefix(filepath.Base(names[0]), e2c.StateFileName("")); kv["CI_JOB_ID"] != id {
		t.Errorf("state file %s says CI_JOB_ID=%s", filepath.Base(names[0]), kv["CI_JOB_ID"])
	}
	return kv
}

// stateCapture keeps the last content of every state file matching glob while gitlab-ci-local
// runs (teardown removes them at the end of the ARM job).
type stateCapture struct {
	glob  string
	mu    sync.Mutex
	files map[string][]byte
	done  chan struct{}
}

func (c *stateCapture) watch(int) {
	for {
		select {
		case <-c.done:
			return
		case <-time.After(250 * time.Millisecond):
		}
		matches, _ := filepath.Glob(c.glob)
		for _, m := range matches {
			if data, err := os.ReadFile(m); err == nil && len(data) > 0 {
				c.mu.Lock()
				c.files[m] = data
				c.mu.Unlock()
			}
		}
	}
}

// redactKey is a state file with any private key value cut.
func redactKey(data []byte) string {
	return regexp.MustCompile(`(?m)^(E2C_SSH_PRIVATE_KEY=).*$`).ReplaceAllString(string(data), "${1}…")
}

// wantARMJob checks the ARM job's log and state: the host key reached the module as one
// argument, the builder came up at the instance's public IP and was torn down, and moto shows
// that instance terminated and none running. It returns the instance id.
func (c *ec2Cloud) wantARMJob(t *testing.T, r *repo, run jobRun, states *stateCapture) string {
	t.Helper()
	if key := c.vars["E2C_SSH_HOST_KEY"]; key != nil && !strings.Contains(run.log, `┆ sshHostKey: "`+*key+`"`) {
		t.Errorf("build_arm_ec2's calls do not show sshHostKey %q as one argument:\n%s", *key, head(run.log, 80))
	}
	if c.vars["E2C_SSH_PRIVATE_KEY"] == nil && !strings.Contains(run.log, "provisioning the builder with keys made for job") {
		t.Errorf("without SSH key variables build_arm_ec2 did not provision the builder with the job's keys:\n%s", head(run.log, 80))
	}
	var id, ip string
	if states != nil {
		st := r.stateFile(t, run.job, states)
		id, ip = st["TARGET_INSTANCE_ID"], st["E2C_PUBLIC_IP"]
	} else if m := regexp.MustCompile(`e2c: builder (i-[0-9a-f]+) up at (\S+)`).FindStringSubmatch(run.log); m != nil {
		id, ip = m[1], m[2]
	} else {
		t.Fatalf("build_arm_ec2's log does not say which builder came up:\n%s", tail(run.log, 60))
	}
	for _, want := range []string{"e2c: builder " + id + " up at " + ip, "on EC2 builder " + id, "torn down"} {
		if !strings.Contains(run.log, want) {
			t.Errorf("build_arm_ec2's log does not show %q:\n%s", want, tail(run.log, 60))
		}
	}
	if got := c.instances(t); !slices.Contains(got[string(types.InstanceStateNameTerminated)], id) {
		t.Errorf("the builder %s is not terminated in moto: %v", id, got)
	}
	c.wantNoneRunning(t, "the pipeline")
	return id
}

// wantBuilt returns, for every target, the amd64 image the build job pushed and the arm64 one
// the build_arm_ec2 job pushed, failing when a job pushed the other's platform.
func wantBuilt(t *testing.T, p pipelineRun) map[string]map[string]string {
	t.Helper()
	amd := pushedDigests(p.jobs["build"].log, "linux/amd64")
	arm := pushedDigests(p.jobs["build_arm_ec2"].log, "linux/arm64")
	if armHere := pushedDigests(p.jobs["build"].log, "linux/arm64"); len(armHere) > 0 {
		t.Errorf("the build job pushed arm64 images %v; with ARM_BUILDER=ec2 they are build_arm_ec2's", armHere)
	}
	out := map[string]map[string]string{}
	for _, target := range appTargets {
		if amd[target] == "" || arm[target] == "" {
			t.Fatalf("%s: the build job pushed %q for linux/amd64 and build_arm_ec2 %q for linux/arm64; want both\n--- build:\n%s\n--- build_arm_ec2:\n%s",
				target, amd[target], arm[target], tail(p.jobs["build"].log, 30), tail(p.jobs["build_arm_ec2"].log, 40))
		}
		for _, pushed := range []string{amd[target], arm[target]} {
			at := pinned(t, pushed)
			ref := at.WithTag(at.Tag).String() // where the job pushed: its tag, without the digest
			if got := digestOf(t, ref); got != at.Digest {
				t.Errorf("%s is %s in the build registry, the job pushed %s", ref, got, at.Digest)
			}
		}
		out[target] = map[string]string{"linux/amd64": amd[target], "linux/arm64": arm[target]}
	}
	return out
}

// mergedIndexes reads build_manifests' log: target to the index it merged, which must name
// exactly linux/amd64 and linux/arm64.
func mergedIndexes(t *testing.T, run jobRun) map[string]string {
	t.Helper()
	out := map[string]string{}
	re := regexp.MustCompile(`(?m)manifest (\S+) (\S+)@sha256:[0-9a-f]{64} \(([^)]*)\)`)
	for _, m := range re.FindAllStringSubmatch(run.log, -1) {
		if m[3] != "linux/amd64, linux/arm64" {
			t.Errorf("build_manifests merged %s with platforms %s, want linux/amd64, linux/arm64", m[2], m[3])
		}
		out[m[1]] = m[2]
	}
	for _, target := range appTargets {
		if out[target] == "" {
			t.Fatalf("build_manifests' log names no index of %s:\n%s", target, tail(run.log, 40))
		}
	}
	return out
}

// tagPipeline runs the whole pipeline of .gitlab-ci.yml for an annotated version tag (its
// message with spaces) through gitlab-ci-local's shell executor against the engine at host, on a
// small user repository (two images, a shipyard.hcl with one trivial lint command) that carries
// this checkout's .gitlab-ci.yml and names this checkout in SHIPYARD_MODULE, with the CI/CD
// variables a project sets: the registries, BUILD_ARM64=true, ARM_BUILDER=ec2 and cloud's
// variables for the builder; build_arm_ec2 launches its builder on moto, and fleet's VM for that
// instance builds arm64.
//
// Every job of the tag pipeline (lint, test, build, build_arm_ec2, build_manifests, release)
// must run and pass, stage after stage. Then: for each target, the build job pushed amd64 and
// build_arm_ec2 pushed arm64 (read from their logs, checked against the build registry) and, on a
// VM, the VM's engine recorded the arm64 build (wantBuiltOnVM); the merged index and the released index
// each hold exactly linux/amd64 and linux/arm64 with those digests; latest in the release
// registry is the released index; the state file .e2c_instance_state_<job id> in the ARM job's
// checkout is the seed's KEY=VALUE form with TARGET_INSTANCE_ID, E2C_PUBLIC_IP and
// E2C_INSTANCE_STRATEGY; that instance is terminated and moto has none running.
//
// Why it fails when the ARM images are left out of an index: wantIndex compares the whole
// platform→digest map of each index with {linux/amd64: the build job's digest, linux/arm64:
// build_arm_ec2's digest}, so an index without arm64 (build_manifests merging only what the
// build job pushed, or release copying one platform) has one entry and fails; an arm64 entry
// built elsewhere (QEMU in the build job) has another digest and fails too, and wantBuilt fails
// first when build_arm_ec2 pushed no arm64 image or the build job pushed one.
// The tag pipeline with the seed's EC2 variables (E2C_INSTANCE_STRATEGY, E2C_LAUNCH_TEMPLATE_ID,
// E2C_SSH_USER, E2C_SSH_PRIVATE_KEY base64-encoded, E2C_SSH_HOST_KEY with its space, AWS_*) plus
// AWS_ENDPOINT_URL_EC2 naming moto runs in TestDockerExecutorTagPipeline, on the Docker executor
// as GitLab's default runner runs it: build_arm_ec2 launches its builder on moto, and the
// instance's public IP leads to the SSH test host of hack/remote-engine, whose engine builds
// arm64. TestTagPipelineOnArm64VM (build tag vm) runs it on the shell executor on an arm64 VM
// with the old variables only. The shell executor's own proof (the state file as the jobs write
// it) is TestStagingPipeline's.

// tagPipeline runs the tag pipeline on the engine at host, or with docker on the Docker
// executor (each job starting its own engine), with cloud's ARM variables; with a fleet (its
// builder launched on an arm64 VM) it also checks the VM's record.
func tagPipeline(t *testing.T, host string, docker *dockerRunner, cloud *ec2Cloud, fleet *testenv.Fleet) pipelineRun {
	return tagPipelineOf(t, host, docker, cloud, fleet, false)
}

// tagPipelineOf is tagPipeline; with viaComponent (on the Docker executor only) the app adopts
// shipyard through the CI/CD component instead of carrying .gitlab-ci.yml: its .gitlab-ci.yml is
// the include, the module given as the component's module input, the remote module@version the
// git server serves.
func tagPipelineOf(t *testing.T, host string, docker *dockerRunner, cloud *ec2Cloud, fleet *testenv.Fleet, viaComponent bool) pipelineRun {
	t.Helper()
	prefix := "gl-tag-" + strconv.FormatInt(time.Now().Unix(), 10)
	const tag, message = "1.4.0", "Release 1.4.0: native ARM images, built on EC2"
	r := appRepo(t, "main")
	if viaComponent {
		if docker == nil {
			t.Fatal("the component's pipeline runs on the Docker executor only (its module is a remote module@version)")
		}
		withComponent(t, r, readComponent(t))
		include := "include:\n  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/shipyard@$CI_COMMIT_SHA\n    inputs:\n" +
			"      module: \"" + docker.moduleRef(moduleTag) + "\"\n      bake-file: docker-bake-production.hcl\n"
		if err := os.WriteFile(filepath.Join(r.dir, ".gitlab-ci.yml"), []byte(include), 0o644); err != nil {
			t.Fatal(err)
		}
		r.git(t, "add", "--all")
		r.git(t, "commit", "--quiet", "--message", "armapp adopts shipyard's component")
		r.git(t, "update-ref", "refs/remotes/origin/main", "HEAD")
	}
	r.git(t, "tag", "--annotate", "--message", message, tag)
	r.git(t, "checkout", "--quiet", "--detach", tag)
	vars := pipelineVars(t, prefix, cloud.vars)
	if docker != nil {
		r.onDocker(t, docker, vars, dockerCacheRef)
	}
	if viaComponent {
		// the module comes from the component's input, not from a CI/CD variable
		delete(vars, "SHIPYARD_MODULE")
	}
	vars["CI_COMMIT_TAG"], vars["CI_COMMIT_REF_NAME"], vars["CI_COMMIT_BRANCH"] = str(tag), str(tag), nil
	vars["CI_COMMIT_TAG_MESSAGE"] = str(message)
	// the project signs its releases: a cosign key and its password as CI/CD variables
	signer, err := attest.GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	const keyPassword = "gitlab-signing-password"
	key, err := signer.EncryptedPEM([]byte(keyPassword))
	if err != nil {
		t.Fatal(err)
	}
	vars["COSIGN_PRIVATE_KEY"], vars["COSIGN_PASSWORD"] = str(string(key)), str(keyPassword)

	start := time.Now()
	p := r.runPipeline(t, host, vars, [][]string{{"lint"}, {"test"}, {"build", "build_arm_ec2"}, {"build_manifests"}, {"release"}})
	t.Logf("the tag pipeline took %s", time.Since(start).Round(time.Second))

	if !strings.Contains(p.jobs["lint"].log, "lint command: ok") {
		t.Errorf("lint did not run shipyard.hcl's command:\n%s", tail(p.jobs["lint"].log, 30))
	}
	if !strings.Contains(p.jobs["build"].log, "run by the build_arm_ec2 job") {
		t.Errorf("the build job does not say the ARM builds are build_arm_ec2's:\n%s", tail(p.jobs["build"].log, 30))
	}
	id := cloud.wantARMJob(t, r, p.jobs["build_arm_ec2"], p.states)
	built := wantBuilt(t, p)
	if fleet != nil {
		wantBuiltOnVM(t, fleet, id, start)
	}
	merged := mergedIndexes(t, p.jobs["build_manifests"])
	release := *vars["RELEASE_REGISTRY_IMAGE"]
	for _, target := range appTargets {
		wantIndex(t, merged[target], built[target])
		released := fmt.Sprintf("%s/armapp-%s:%s", release, target, tag)
		if !strings.Contains(p.jobs["release"].log, "released "+target+" "+released+"@") {
			t.Errorf("the release job's log does not show %s released:\n%s", released, tail(p.jobs["release"].log, 30))
		}
		wantIndex(t, released, built[target])
		if latest, rel := digestOf(t, fmt.Sprintf("%s/armapp-%s:latest", release, target)), digestOf(t, released); latest != rel {
			t.Errorf("latest of armapp-%s is %s, want the %s index %s", target, latest, tag, rel)
		}
	}
	if !strings.Contains(p.jobs["release"].log, "is annotated") {
		t.Errorf("the release job did not take %s for an annotated tag:\n%s", tag, tail(p.jobs["release"].log, 30))
	}
	// signed where each image was made: amd64 in build, arm64 on the EC2 builder's job, the
	// indexes in build_manifests; the release verified them before moving latest
	for _, target := range appTargets {
		for job, want := range map[string]string{
			"build":           "attested " + target + " [linux/amd64] ",
			"build_arm_ec2":   "attested " + target + " [linux/arm64] ",
			"build_manifests": "signed " + target + " ",
			"release":         fmt.Sprintf("verified %s/armapp-%s:%s: signed, SBOM and SLSA provenance", release, target, tag),
		} {
			if !strings.Contains(p.jobs[job].log, want) {
				t.Errorf("the %s job's log lacks %q:\n%s", job, want, tail(p.jobs[job].log, 30))
			}
		}
	}
	// the release registry is this machine's, over plain HTTP at its address on the jobs' network
	if err := attestreg.New(attestreg.WithInsecure(strings.SplitN(release, "/", 2)[0])).Verify(context.Background(),
		fmt.Sprintf("%s/armapp-traefik:%s", release, tag), attest.Policy{Key: signer.Public(), SBOM: true, Revision: strings.TrimSpace(r.git(t, "rev-parse", "HEAD")), Referrers: true}); err != nil {
		t.Errorf("the released traefik does not verify: %v", err)
	}
	for job, jr := range p.jobs {
		if strings.Contains(jr.log, keyPassword) || strings.Contains(jr.log, strings.Split(string(key), "\n")[1]) {
			t.Errorf("the %s job's log holds the signing key or its password", job)
		}
	}
	p.repo, p.vars = r, vars
	return p
}

// wantBuiltOnVM checks that the one instance launched was a VM that ran the engine image's
// aarch64 engine, whose own cache records the arm64 base images it pulled since start, and that
// the VM was powered off after the instance was terminated.
func wantBuiltOnVM(t *testing.T, fleet *testenv.Fleet, id string, start time.Time) {
	t.Helper()
	if err := fleet.WaitOff(5 * time.Minute); err != nil {
		t.Error(err)
	}
	launched := fleet.Instances()
	if len(launched) != 1 || launched[0].InstanceID != id {
		t.Fatalf("the pipeline launched %+v, want the one builder %s", launched, id)
	}
	inst := launched[0]
	if inst.Err != nil || inst.Booted.IsZero() || inst.PoweredOff.IsZero() {
		t.Errorf("instance %s: boot error %v, cloud-init finished %v, powered off %v", id, inst.Err, inst.Booted, inst.PoweredOff)
	}
	for _, p := range inst.VM.Problems(start, "traefik", "containrrr/watchtower") {
		t.Error(p)
	}
}

// TestStagingPipeline runs the staging pipeline of .gitlab-ci.yml as TestDockerExecutorTagPipeline runs the
// tag's, on the branch staging with the same CI/CD variables (BUILD_ARM64=true, ARM_BUILDER=ec2,
// the seed's E2C_* names): lint, test, then build with build_arm_ec2 on moto's instance and the
// test host's engine, then build_manifests, and nothing else (no release job). Every merged index
// holds exactly the amd64 image the build job pushed and the arm64 image build_arm_ec2 pushed,
// the builder is terminated, moto has none running, and the release registry got nothing.
func TestStagingPipeline(t *testing.T) {
	host, cloud, r, vars := stagingPipeline(t, "gl-staging-")

	start := time.Now()
	// runPipeline fails when another job ran than these (a release, say)
	p := r.runPipeline(t, host, vars, [][]string{{"lint"}, {"test"}, {"build", "build_arm_ec2"}, {"build_manifests"}})
	t.Logf("the staging pipeline took %s", time.Since(start).Round(time.Second))

	if !strings.Contains(p.jobs["build"].log, "run by the build_arm_ec2 job") {
		t.Errorf("the build job does not say the ARM builds are build_arm_ec2's:\n%s", tail(p.jobs["build"].log, 30))
	}
	cloud.wantARMJob(t, r, p.jobs["build_arm_ec2"], p.states)
	built := wantBuilt(t, p)
	merged := mergedIndexes(t, p.jobs["build_manifests"])
	for _, target := range appTargets {
		wantIndex(t, merged[target], built[target])
		if !strings.HasSuffix(merged[target], ":staging") {
			t.Errorf("build_manifests merged %s into %s, want the staging tag", target, merged[target])
		}
		repo := fmt.Sprintf("%s/armapp-%s", *vars["RELEASE_REGISTRY_IMAGE"], target)
		tags, err := remote.List(imageRef(t, repo+":latest").Context())
		var terr *transport.Error
		switch {
		case err == nil && len(tags) > 0:
			t.Errorf("a staging pipeline put %s:%v in the release registry", repo, tags)
		case err != nil && !(errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound):
			t.Errorf("listing %s: %v (want: no such repository)", repo, err)
		}
	}
}

// stagingPipeline is what the pipeline tests on the branch staging share: gitlab-ci-local, the
// engine, moto with the test host, the user repository on staging and the project's CI/CD
// variables (registries under prefix and the current time, the ARM job's seed variables).
func stagingPipeline(t *testing.T, prefix string) (host string, cloud *ec2Cloud, r *repo, vars map[string]*string) {
	t.Helper()
	gitlabCILocal(t)
	needRsync(t)
	host = needEngine(t)
	cloud = newEC2Cloud(t)
	r = appRepo(t, "staging")
	vars = pipelineVars(t, prefix+strconv.FormatInt(time.Now().Unix(), 10), cloud.vars)
	vars["CI_COMMIT_BRANCH"], vars["CI_COMMIT_REF_NAME"] = str("staging"), str("staging")
	return host, cloud, r, vars
}
