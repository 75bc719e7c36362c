package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"shipyard/ci/internal/dagger"
	"shipyard/internal/attest"
	"shipyard/internal/imageref"
	"shipyard/internal/plan"
	"shipyard/internal/regaccess"
	"shipyard/internal/rules"
	"shipyard/internal/scan"
)

// scanCache is trivy's cache directory in the scanner's containers.
const scanCache = "/trivy-cache"

// dbTunnelAlias is the name a registry on the engine host's loopback has inside the scanner's
// container, where 127.0.0.1 is the container itself.
const dbTunnelAlias = "shipyard-registry"

// WithScan adds the vulnerability gate: after the manifests stage (staging and version tags) every image is scanned per platform, by digest, with trivy run from its image against a database pulled from a registry you name, never the internet; a finding at or above the threshold that the ignore file does not accept stops the run before release
func (m *Shipyard) WithScan(
	// The registry reference of trivy's vulnerability database (as trivy's --db-repository), e.g. registry.example.com/mirror/trivy-db:2
	dbRepository string,
	// The lowest severity that fails the gate: critical, high, medium, low or unknown (default critical)
	// +optional
	failOn string,
	// How old the database may be, a Go duration (default 168h)
	// +optional
	maxDbAge string,
	// The ignore file in the repository, in trivy's .trivyignore.yaml format; every entry needs a statement and may carry expired_at (default .trivyignore.yaml, none when absent)
	// +optional
	ignoreFile string,
	// The scanner image (default aquasec/trivy:0.74.0)
	// +optional
	scannerImage string,
) (*Shipyard, error) {
	if _, err := scan.ParseSettings(dbRepository, failOn, maxDbAge, ignoreFile, scannerImage); err != nil {
		return nil, err
	}
	c := *m
	c.ScanDbRepository, c.ScanFailOn, c.ScanMaxDbAge, c.ScanIgnoreFile, c.ScannerImage = dbRepository, failOn, maxDbAge, ignoreFile, scannerImage
	return &c, nil
}

// scanSettings are WithScan's settings; ok is false when it was not called.
func (m *Shipyard) scanSettings() (s scan.Settings, ok bool, err error) {
	if m.ScanDbRepository == "" {
		return scan.Settings{}, false, nil
	}
	s, err = scan.ParseSettings(m.ScanDbRepository, m.ScanFailOn, m.ScanMaxDbAge, m.ScanIgnoreFile, m.ScannerImage)
	return s, err == nil, err
}

// Scan runs the vulnerability gate on its own: on the images a version tag released (with --tag and a release registry), else on the images the ref's pipeline pushed to the build registry
// +cache="never"
func (m *Shipyard) Scan(
	ctx context.Context,
	// Branch or tag whose images are scanned (default: WithGitlab's $CI_COMMIT_REF_NAME)
	// +optional
	ref string,
	// Version tag whose released images are scanned (default: WithGitlab's $CI_COMMIT_TAG)
	// +optional
	tag string,
) (string, error) {
	r, scans, err := m.scanPlan(ctx, ref, tag, true)
	if err != nil {
		return "", err
	}
	err = r.scan(ctx, scans)
	return r.log.String(), err
}

// ScanReport is GitLab's container-scanning report of the build registry's images of a ref (what the manifests stage's gate scans), with every finding the ignore file does not accept, also when the gate would fail (the GitLab job exports it as its container_scanning artifact; the gate is release's)
// +cache="never"
func (m *Shipyard) ScanReport(
	ctx context.Context,
	// Branch or tag whose images are scanned (default: WithGitlab's $CI_COMMIT_REF_NAME)
	// +optional
	ref string,
	// Version tag whose released images are scanned (default: WithGitlab's $CI_COMMIT_TAG)
	// +optional
	tag string,
) (*dagger.File, error) {
	r, scans, err := m.scanPlan(ctx, ref, tag, false)
	if err != nil {
		return nil, err
	}
	sr, err := r.scanImages(ctx, scans)
	if err != nil {
		return nil, err
	}
	report, err := scan.GitLabReport(sr.verdict().Open(), scan.TrivyVersion, sr.start, sr.finish)
	if err != nil {
		return nil, err
	}
	return dag.Directory().WithNewFile(gitLabReportFile, string(report)).File(gitLabReportFile), nil
}

// gitLabReportFile is the container-scanning report's name, as GitLab's templates name it.
const gitLabReportFile = "gl-container-scanning-report.json"

// scanPlan plans a run for ref and tag and picks its scans: with released, the images a version
// tag released when there is a release registry; else the build registry's images of the ref.
func (m *Shipyard) scanPlan(ctx context.Context, ref, tag string, released bool) (*run, []plan.Scan, error) {
	s, ok, err := m.scanSettings()
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, fmt.Errorf("scan needs its settings first: with-scan --db-repository=REF [--fail-on=…] scan …")
	}
	rp, err := rules.For(m.ciContext(ref, tag).rulesRef())
	if err != nil {
		return nil, nil, err
	}
	if !rp.Has(rules.Manifests) {
		return nil, nil, fmt.Errorf("nothing to scan: the rules merge images only for staging and version tags (%s)", rp.Reason)
	}
	// without a release registry the plan stops at the manifests stage: the build registry's images
	only := ""
	if m.ReleaseRegistry == "" {
		only = string(rules.Manifests)
	}
	r, err := m.newRun(ctx, ref, tag, only, false)
	if err != nil {
		return nil, nil, err
	}
	scans := r.plan.Scans
	if released && r.plan.Tag != "" && m.ReleaseRegistry != "" {
		scans = r.plan.ReleasedScans(s.Threshold.String())
	}
	if len(scans) == 0 {
		return nil, nil, fmt.Errorf("nothing to scan for ref %q: the plan builds no image", r.plan.Ref)
	}
	return r, scans, nil
}

// scanned is one image × platform scanned: the image by digest and trivy's report.
type scanned struct {
	scan   plan.Scan
	ref    string // the image, pinned
	report []byte
	start  time.Time
	finish time.Time
}

// scanRun is what scanning a run's images found, and with what.
type scanRun struct {
	settings      scan.Settings
	meta          scan.DBMetadata
	ignores       []scan.IgnoreEntry
	results       []scanned
	findings      []scan.Finding
	start, finish time.Time
}

// verdict is the gate's decision on the findings, now.
func (sr *scanRun) verdict() scan.Verdict {
	return scan.Gate(sr.findings, sr.settings.Threshold, sr.ignores, time.Now())
}

// scan runs the gate on scans: scanImages, then the findings of all of them are gated together,
// so the error names every blocking finding of the run at once.
func (r *run) scan(ctx context.Context, scans []plan.Scan) error {
	if len(scans) == 0 || r.dryRun {
		return nil
	}
	sr, err := r.scanImages(ctx, scans)
	if err != nil {
		return err
	}
	v := sr.verdict()
	for _, n := range v.Notes() {
		r.logf("scan: %s", n)
	}
	if len(v.Below) > 0 {
		r.logf("scan: %d finding(s) below %s do not block", len(v.Below), sr.settings.Threshold)
	}
	if err := v.Err(); err != nil {
		return err
	}
	r.logf("scan: no finding at or above %s blocks", sr.settings.Threshold)
	return r.attestScans(ctx, sr.results, v, sr.settings, sr.meta)
}

// scanImages reads the ignore file, pulls the database once and checks its age, then scans
// every image × platform in parallel, each in its own span.
func (r *run) scanImages(ctx context.Context, scans []plan.Scan) (*scanRun, error) {
	s, _, err := r.m.scanSettings()
	if err != nil {
		return nil, err
	}
	ignores, err := r.m.ignoreEntries(ctx, s)
	if err != nil {
		return nil, err
	}
	client, err := r.m.registry(ctx)
	if err != nil {
		return nil, err
	}
	creds, err := r.m.creds()
	if err != nil {
		return nil, err
	}
	sr := &scanRun{settings: s, ignores: ignores, results: make([]scanned, len(scans)), start: time.Now()}
	scanner := withAuth(dag.Container(), creds, s.Image).From(s.Image)
	db, meta, err := r.m.scanDB(ctx, scanner, creds, s)
	if err != nil {
		return nil, err
	}
	if err := scan.CheckFreshness(meta, time.Now(), s.MaxDBAge); err != nil {
		return nil, fmt.Errorf("scan: %v", err)
	}
	sr.meta = meta
	r.logf("scan: trivy %s in %s, database %s built %s", scan.TrivyVersion, s.Image, s.DBRepository, meta.UpdatedAt.UTC().Format(time.RFC3339))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	for i, sc := range scans {
		g.Go(func() error {
			ctx, span := Tracer().Start(gctx, fmt.Sprintf("scan %s [%s]", sc.Target, sc.Platform))
			defer span.End()
			digest, err := client.Digest(ctx, sc.Image)
			if err != nil {
				return fmt.Errorf("scan %s [%s]: %v", sc.Target, sc.Platform, missingOr(err, fmt.Sprintf("the image %s is missing", sc.Image)))
			}
			ref, err := imageref.Pin(sc.Image, digest)
			if err != nil {
				return fmt.Errorf("scan %s [%s]: %v", sc.Target, sc.Platform, err)
			}
			start := time.Now()
			// the image itself, also when with-signing made its SBOM: trivy detects no OS in
			// syft's SPDX and no source packages in its CycloneDX, and finds nothing in either
			image := withAuth(dag.Container(dagger.ContainerOpts{Platform: dagger.Platform(sc.Platform)}), creds, ref).From(ref)
			// the report goes to a file: what an exec prints is streamed into the progress
			const report = "/report/trivy.json"
			out, err := scanner.
				WithMountedDirectory(scanCache, db).
				WithMountedDirectory("/image", image.Rootfs()).
				WithDirectory(path.Dir(report), dag.Directory()).
				WithExec(append(scan.ScanArgs(scanCache, "/image"), "--output", report), dagger.ContainerWithExecOpts{UseEntrypoint: false}).
				File(report).Contents(ctx)
			if err != nil {
				return fmt.Errorf("scan %s [%s] %s: trivy: %s", sc.Target, sc.Platform, ref, execOutput(err))
			}
			rep, err := scan.ParseReport([]byte(out))
			if err != nil {
				return fmt.Errorf("scan %s [%s] %s: %v", sc.Target, sc.Platform, ref, err)
			}
			fs := scan.Findings(rep, ref, sc.Platform)
			r.logf("scanned %s [%s] %s: %d finding(s)", sc.Target, sc.Platform, ref, len(fs))
			mu.Lock()
			sr.findings = append(sr.findings, fs...)
			sr.results[i] = scanned{scan: sc, ref: ref, report: []byte(out), start: start, finish: time.Now()}
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	sr.finish = time.Now()
	return sr, nil
}

// scanDB pulls trivy's database from the repository of the settings into a cache directory,
// once per call (a run never reuses an engine-cached pull: the database moves), and reads its
// metadata. A repository on the engine host's loopback is reached through its registry tunnel.
func (m *Shipyard) scanDB(ctx context.Context, scanner *dagger.Container, creds []registryCreds, s scan.Settings) (*dagger.Directory, scan.DBMetadata, error) {
	ref, err := imageref.Parse(s.DBRepository)
	if err != nil {
		return nil, scan.DBMetadata{}, fmt.Errorf("with-scan --db-repository: %v", err)
	}
	insecure := regaccess.PlainHTTP(ref.Registry(), m.InsecureRegistry)
	ctr := scanner.WithEnvVariable("SHIPYARD_SCAN_AT", time.Now().UTC().Format(time.RFC3339Nano))
	if regaccess.Loopback(ref.Registry()) {
		_, port := regaccess.SplitHostPort(ref.Registry())
		svc, err := m.tunnelFor(ctx, port)
		if err != nil {
			return nil, scan.DBMetadata{}, fmt.Errorf("with-scan --db-repository %s: %v", s.DBRepository, err)
		}
		ctr = ctr.WithServiceBinding(dbTunnelAlias, svc)
		ref.Host = dbTunnelAlias + ":" + port
	}
	if i := credsFor(creds, s.DBRepository); i >= 0 {
		ctr = ctr.WithEnvVariable("TRIVY_USERNAME", creds[i].User).WithSecretVariable("TRIVY_PASSWORD", creds[i].Secret)
	}
	db := ctr.WithExec(scan.DownloadDBArgs(scanCache, ref.String(), insecure)).Directory(scanCache)
	b, err := db.File(scan.DBMetadataFile).Contents(ctx)
	if err != nil {
		return nil, scan.DBMetadata{}, fmt.Errorf("scan: pulling trivy's database from %s: %s", s.DBRepository, execOutput(err))
	}
	meta, err := scan.ParseDBMetadata([]byte(b))
	if err != nil {
		return nil, scan.DBMetadata{}, fmt.Errorf("scan: the database of %s: %v", s.DBRepository, err)
	}
	return db, meta, nil
}

// tunnelFor is the registry tunnel (--registry-tunnel) of the engine host's loopback port.
func (m *Shipyard) tunnelFor(ctx context.Context, port string) (*dagger.Service, error) {
	n, err := strconv.Atoi(port)
	if err != nil {
		return nil, fmt.Errorf("a registry on the engine host's loopback needs its port (127.0.0.1:PORT)")
	}
	for _, svc := range m.RegistryTunnel {
		ports, err := tunnelPorts(ctx, svc)
		if err != nil {
			return nil, err
		}
		if slices.Contains(ports, n) {
			return svc, nil
		}
	}
	return nil, fmt.Errorf("the engine host's loopback is reached from the scanner only through a tunnel: pass --registry-tunnel=tcp://localhost:%s", port)
}

// ignoreEntries reads the ignore file from the repository: the default one may be absent, one
// named with --ignore-file must be there.
func (m *Shipyard) ignoreEntries(ctx context.Context, s scan.Settings) ([]scan.IgnoreEntry, error) {
	if !m.hasFile(ctx, s.IgnoreFile) {
		if m.ScanIgnoreFile != "" {
			return nil, fmt.Errorf("with-scan --ignore-file %s: no such file in the repository", s.IgnoreFile)
		}
		return nil, nil
	}
	b, err := m.Source.File(s.IgnoreFile).Contents(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %v", s.IgnoreFile, err)
	}
	entries, err := scan.ParseIgnore([]byte(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", s.IgnoreFile, err)
	}
	return entries, nil
}

// attestScans attaches, when the run signs, each scan's report to its image as a signed
// attestation with cosign's vulnerability predicate; its parameters record the threshold and the
// findings the verdict accepted, so `verify --scan-fail-on` can re-check the report.
func (r *run) attestScans(ctx context.Context, results []scanned, v scan.Verdict, s scan.Settings, meta scan.DBMetadata) error {
	if !r.in.Attest {
		return nil
	}
	sc, err := r.chain(ctx)
	if err != nil {
		return err
	}
	for _, res := range results {
		pinned, err := imageref.ParsePinned(res.ref)
		if err != nil {
			return fmt.Errorf("scan %s [%s]: %v", res.scan.Target, res.scan.Platform, err)
		}
		pred, err := scan.VulnPredicate(scan.VulnInput{
			Report: res.report, ScannerVersion: scan.TrivyVersion,
			DB:         scan.ScannerDB{URI: s.DBRepository, Version: meta.UpdatedAt.UTC().Format(time.RFC3339)},
			Invocation: scan.Invocation{Parameters: v.Parameters(res.ref, res.scan.Platform), BuilderID: moduleID, EventID: r.ci.PipelineID},
			Start:      res.start, Finish: res.finish,
		})
		if err != nil {
			return fmt.Errorf("scan %s [%s]: %v", res.scan.Target, res.scan.Platform, err)
		}
		b, err := json.Marshal(pred)
		if err != nil {
			return err
		}
		st, err := attest.NewStatement(pinned.Repo(), pinned.Digest, scan.VulnPredicateType, b)
		if err != nil {
			return fmt.Errorf("scan %s [%s]: %v", res.scan.Target, res.scan.Platform, err)
		}
		if _, err := sc.client.Attest(ctx, res.ref, sc.signer, st); err != nil {
			return fmt.Errorf("scan %s [%s]: attesting the verdict: %v", res.scan.Target, res.scan.Platform, err)
		}
		r.logf("attested the scan of %s [%s] %s (cosign vuln predicate)", res.scan.Target, res.scan.Platform, res.ref)
	}
	return nil
}

// preflightScan reads the ignore file before any stage runs, so a bad entry (one without a
// statement, a misspelt key) fails the call before anything is built or pushed.
func (r *run) preflightScan(ctx context.Context) error {
	if len(r.plan.Scans) == 0 || r.dryRun {
		return nil
	}
	s, _, err := r.m.scanSettings()
	if err != nil {
		return err
	}
	if _, err := r.m.ignoreEntries(ctx, s); err != nil {
		return fmt.Errorf("preflight: %v (nothing was built or pushed)", err)
	}
	return nil
}
