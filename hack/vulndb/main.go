// Command vulndb builds a small trivy vulnerability database for offline tests of the
// vulnerability gate, with trivy's own DB builder, and pushes it to a registry as trivy's DB
// artifact, where `trivy --db-repository REF` pulls it instead of the public one.
//
// No database file is written by hand. vulndb writes a fixture advisory tree in the layout
// trivy-db reads (the vuln-list-debian tracker JSON and vuln-list-nvd API records, see
// advisories.go) for packages a Debian root filesystem really has installed, at the versions its
// dpkg status says, runs `trivy-db build` on it, and packs trivy.db and metadata.json the way
// trivy's DB artifact is packed (see push.go).
//
// The advisories are fake and say so: CVE-2099-0001 (CRITICAL, through its NVD CVSS record) on
// -critical's source package and CVE-2099-0002 (HIGH, Debian urgency "high") on -high's, each
// fixed in the installed source version plus "+fixture1", so the installed version is vulnerable.
//
// trivy-db takes the build time from the clock; -update-interval is its own --update-interval
// (NextUpdate = build time + interval), and a negative one makes a database that is stale from
// the start (NextUpdate already past), which trivy then wants to download again unless told
// --skip-db-update. -age moves metadata.json's UpdatedAt and NextUpdate back, for a database
// older than a freshness policy allows.
//
//	go run ./hack/vulndb -rootfs DIR -push 127.0.0.1:5055/trivy-db:2
//
// It prints, as JSON, what it made (see summary).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// summary is what vulndb prints: the advisories in the database, its metadata and where it went.
type summary struct {
	OS         string     `json:"os"` // e.g. "debian 12 (bookworm)"
	Advisories []advisory `json:"advisories"`
	UpdatedAt  time.Time  `json:"updatedAt"`
	NextUpdate time.Time  `json:"nextUpdate"`
	Ref        string     `json:"ref,omitempty"`    // where it was pushed
	Digest     string     `json:"digest,omitempty"` // the manifest's digest
	Dir        string     `json:"dir,omitempty"`    // the work directory, when kept (-work)
}

func main() {
	rootfs := flag.String("rootfs", "", "a Debian root filesystem: its etc/os-release (or usr/lib/os-release) and var/lib/dpkg/status\n"+
		"say the release and the installed versions the advisories are made for (required)")
	critical := flag.String("critical", "zlib1g", "the installed binary package whose source package gets CVE-2099-0001 (CRITICAL)")
	high := flag.String("high", "libzstd1", "the installed binary package whose source package gets CVE-2099-0002 (HIGH); empty: none")
	push := flag.String("push", "", "the registry reference to push the DB artifact to, e.g. 127.0.0.1:5055/trivy-db:2\n"+
		"(plain HTTP for loopback and private addresses, as go-containerregistry decides); empty: build only")
	work := flag.String("work", "", "the work directory (the advisory tree, the database and its archive), kept;\n"+
		"empty: a temporary one, removed")
	trivyDB := flag.String("trivy-db", "", "the trivy-db binary (hack/setup-test-deps trivy builds it); empty: trivy-db on PATH")
	interval := flag.Duration("update-interval", 24*time.Hour, "trivy-db build --update-interval: NextUpdate is the build time plus this;\n"+
		"negative: a stale database")
	age := flag.Duration("age", 0, "how long before now the database says it was built: metadata.json's UpdatedAt and NextUpdate\n"+
		"are moved back by this (trivy-db takes its build time from the clock), for an old database")
	flag.Parse()
	if *rootfs == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: vulndb -rootfs DIR [-push REF] [flags]")
		flag.PrintDefaults()
		os.Exit(2)
	}
	s, err := run(*rootfs, *critical, *high, *push, *work, *trivyDB, *interval, *age)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vulndb:", err)
		os.Exit(1)
	}
	out, _ := json.MarshalIndent(s, "", "  ")
	fmt.Println(string(out))
}

func run(rootfs, critical, high, ref, work, trivyDB string, interval, age time.Duration) (*summary, error) {
	rel, err := readOSRelease(rootfs)
	if err != nil {
		return nil, err
	}
	pkgs, err := readDpkgStatus(filepath.Join(rootfs, "var/lib/dpkg/status"))
	if err != nil {
		return nil, err
	}
	advs, err := fixtures(pkgs, critical, high)
	if err != nil {
		return nil, err
	}
	if trivyDB == "" {
		if trivyDB, err = exec.LookPath("trivy-db"); err != nil {
			return nil, fmt.Errorf("trivy-db is not on PATH: hack/setup-test-deps trivy builds it into $SHIPYARD_STATE/bin (hack/engine env puts that on PATH), or pass -trivy-db")
		}
	}
	s := &summary{OS: fmt.Sprintf("debian %s (%s)", rel.major, rel.codename), Advisories: advs, Ref: ref}
	if work == "" {
		if work, err = os.MkdirTemp("", "vulndb-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(work)
	} else {
		if err := os.MkdirAll(work, 0o755); err != nil {
			return nil, err
		}
		s.Dir = work
	}
	cache, out := filepath.Join(work, "vuln-list"), filepath.Join(work, "db")
	for _, d := range []string{cache, out} {
		if err := os.RemoveAll(d); err != nil {
			return nil, err
		}
	}
	if err := writeTree(cache, rel, advs); err != nil {
		return nil, fmt.Errorf("writing the advisory tree: %w", err)
	}
	if s.UpdatedAt, s.NextUpdate, err = build(trivyDB, work, cache, out, interval); err != nil {
		return nil, err
	}
	if age != 0 {
		if s.UpdatedAt, s.NextUpdate, err = backdate(filepath.Join(out, "metadata.json"), age); err != nil {
			return nil, err
		}
	}
	if ref != "" {
		if s.Digest, err = pushDB(out, filepath.Join(work, "db.tar.gz"), ref); err != nil {
			return nil, fmt.Errorf("pushing to %s: %w", ref, err)
		}
	}
	return s, nil
}

// build runs trivy-db build on the advisory tree (cache) into out: trivy.db and metadata.json.
// Only the two sources the tree has are built (trivy-db's vulnsrc names). The work directory is
// its working directory: trivy-db reads advisory overrides from ./overrides when there is one.
func build(trivyDB, work, cache, out string, interval time.Duration) (updated, next time.Time, err error) {
	cmd := exec.Command(trivyDB, "build", "--cache-dir", cache, "--output-dir", out,
		"--only-update", "debian", "--only-update", "nvd", "--update-interval", interval.String())
	cmd.Dir = work
	if b, err := cmd.CombinedOutput(); err != nil {
		return updated, next, fmt.Errorf("%s: %v\n%s", cmd, err, b)
	}
	// what trivy-db wrote, read back for the summary (trivy-db's metadata.Metadata fields)
	b, err := os.ReadFile(filepath.Join(out, "metadata.json"))
	if err != nil {
		return updated, next, err
	}
	var md struct{ UpdatedAt, NextUpdate time.Time }
	if err := json.Unmarshal(b, &md); err != nil {
		return updated, next, fmt.Errorf("trivy-db's metadata.json: %w", err)
	}
	return md.UpdatedAt, md.NextUpdate, nil
}

// backdate moves the build time (UpdatedAt) and NextUpdate of the metadata.json at path back by
// age, keeping its other fields as trivy-db wrote them.
func backdate(path string, age time.Duration) (updated, next time.Time, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return updated, next, err
	}
	var md map[string]any
	var times struct{ UpdatedAt, NextUpdate time.Time }
	if err := json.Unmarshal(b, &md); err != nil {
		return updated, next, fmt.Errorf("trivy-db's metadata.json: %w", err)
	}
	if err := json.Unmarshal(b, &times); err != nil {
		return updated, next, fmt.Errorf("trivy-db's metadata.json: %w", err)
	}
	updated, next = times.UpdatedAt.Add(-age), times.NextUpdate.Add(-age)
	md["UpdatedAt"], md["NextUpdate"] = updated, next
	if b, err = json.Marshal(md); err != nil {
		return updated, next, err
	}
	return updated, next, os.WriteFile(path, b, 0o644)
}
