//go:build full && vm

package ec2

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"shipyard/internal/testenv"
)

// The README's one call for native ARM images, as written (its block `ec2-one-call`), with a
// launch template of a stock arm64 image and no SSH key, builds arm64 on a real arm64 machine:
// moto launches the instance, the harness boots a Debian 12 arm64 VM (Debian's kernel, cloud-init
// and sshd under qemu-system-aarch64) from the user data moto recorded, and the product reaches
// it at the public IP EC2 reports. The VM's engine runs from Dagger's engine image (the stand-in
// the local mirror serves under its name) as an aarch64 executable; its own cache records the
// arm64 images' layers; every released index holds amd64 (built here) and arm64 (built there);
// the instance is terminated and the VM powered off.
//
// The test world adds to the README's flags only what locates it: the repository and its
// registries, moto's endpoint and the tunnel to it, the engine's own CLI, the registry mirror the
// VM pulls through (no registry of the internet is reachable here) and a ready timeout for an
// emulated machine.
func TestReleaseOnAStockArm64VM(t *testing.T) {
	needEngine(t)
	remoteEnv(t) // its relay address, 10.99.0.1, is where the VM reaches this machine's registry
	testenv.NeedVMImage(t)
	motoURL, motoPort := startMoto(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
	client := testenv.MotoEC2(motoURL)
	template := testenv.ArmLaunchTemplate(t, client)
	fleet := testenv.ServeLaunchedOnVMs(t, client)

	src := armRepo(t)
	relPort := freeRegistryPort(t, 5001)
	rel := startRegistry(t, relPort)
	relay := testenv.VMHostAlias + ":" + strings.Split(mirror, ":")[1]
	stamp := time.Now().Unix()
	build := fmt.Sprintf("%s/e2e-vm-%d", relay, stamp)
	hostBuild := fmt.Sprintf("%s/e2e-vm-%d", mirror, stamp) // the same registry, seen from the host
	t.Setenv("RELEASE_REGISTRY_IMAGE", rel+"/rel")
	t.Setenv("E2C_LAUNCH_TEMPLATE_ID", template)

	dcli, err := exec.LookPath("dagger")
	if err != nil {
		t.Fatal(err)
	}
	world := map[string][]string{
		"": {"--source", src, "--bake-file", "arm.hcl", "--git-dir", tagRepo(t, []string{"1.2.3"}, nil), "--project", "e2e",
			"--build-registry", build, "--insecure-registry", relay, "--registry-tunnel", fmt.Sprintf("tcp://localhost:%d", relPort)},
		"with-arm-instance": {"--endpoint", motoURL, "--tunnel", fmt.Sprintf("tcp://localhost:%d", motoPort)},
		"with-arm-access":   {"--dagger-cli", dcli},
	}
	provisioning := []string{"with-arm-provisioning", "--ready-timeout", "45m"}
	for _, m := range builderMirrors(t, relay) {
		provisioning = append(provisioning, "--mirror", m)
	}
	args := withWorld(t, readmeCall(t, "ec2-one-call"), world, "release", provisioning)

	started := time.Now()
	r := daggerCall(t, 80*time.Minute, args...)
	log := r.Stdout + "\n" + r.Stderr
	if r.Err != nil {
		t.Fatalf("release: %v (whole output: %s)\n%s\n%s", r.Err, testenv.KeepLog(t, "release", log), tail(r.Stdout, 40), tail(r.Stderr, 120))
	}
	t.Logf("the release took %s", time.Since(started).Round(time.Second))

	inst := wantOneBuilder(t, fleet, client, 5*time.Minute)
	for _, want := range []string{
		"provisioning the builder with keys made for job",
		fmt.Sprintf("builder %s up at %s:22, provisioned, SSH verified with the pinned host key", inst.InstanceID, inst.PublicIP),
		"on EC2 builder " + inst.InstanceID,
		"torn down",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the release log lacks %q:\n%s", want, tail(r.Stderr, 80))
		}
	}

	// the VM's own record, read before it was powered off: its engine is the image's aarch64
	// executable, and its cache holds the arm64 base images it pulled for the release
	for _, p := range inst.VM.Problems(started, baseOf(t, "traefik"), baseOf(t, "watchtower")) {
		t.Error(p)
	}

	// every index holds amd64 (built here) and arm64 (built on the VM)
	wantReleased(t, rel, hostBuild, "1.2.3")
}

// baseOf is the image target's Dockerfile starts FROM.
func baseOf(t *testing.T, target string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "services", target, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("services/%s/Dockerfile has no FROM", target)
	}
	return string(m[1])
}

// readmeCall is the README's `dagger call` block marked <!-- marker -->, as the arguments after
// `dagger call`, with the environment's variables expanded as the shell would.
func readmeCall(t *testing.T, marker string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "<!-- "+marker+" -->\n```sh\n")
	if !ok {
		t.Fatalf("README.md has no ```sh block after <!-- %s -->", marker)
	}
	block, _, _ := strings.Cut(rest, "```")
	line := strings.ReplaceAll(block, "\\\n", " ")
	words, err := shellWords(line)
	if err != nil {
		t.Fatalf("README block %s: %v", marker, err)
	}
	if len(words) < 2 || words[0] != "dagger" || words[1] != "call" {
		t.Fatalf("README block %s is not one `dagger call`: %q", marker, block)
	}
	return words[2:]
}

// shellWords splits s as sh does for what the README uses: blanks, double quotes, $VAR and ${VAR}.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			quoted, inWord = !quoted, true
		case c == '$':
			j := i + 1
			var name string
			if j < len(s) && s[j] == '{' {
				end := strings.IndexByte(s[j:], '}')
				if end < 0 {
					return nil, fmt.Errorf("unclosed ${ in %q", s)
				}
				name, i = s[j+1:j+end], j+end
			} else {
				for j < len(s) && (s[j] == '_' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= '0' && s[j] <= '9') {
					j++
				}
				name, i = s[i+1:j], j-1
			}
			cur.WriteString(os.Getenv(name))
			inWord = true
		case (c == ' ' || c == '\t' || c == '\n') && !quoted:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("unclosed quote in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// withWorld adds the test world's flags to a call: world[""] after the constructor's, world[F]
// at the end of function F's, and the call extra before the function before.
func withWorld(t *testing.T, call []string, world map[string][]string, before string, extra []string) []string {
	t.Helper()
	var out []string
	fn := ""
	flush := func() { out = append(out, world[fn]...); delete(world, fn) }
	for _, w := range call {
		if !strings.HasPrefix(w, "-") {
			flush()
			if w == before {
				out = append(out, extra...)
				extra = nil
			}
			fn = w
		}
		out = append(out, w)
	}
	flush()
	if len(world) > 0 || extra != nil {
		t.Fatalf("the README's call has no %v or %s: %q", world, before, call)
	}
	return out
}
