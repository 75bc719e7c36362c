package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"shipyard/ci/internal/dagger"
	"shipyard/internal/bake"
	"shipyard/internal/repoconfig"
	"shipyard/internal/rules"
)

// TestRun is the outcome of the test stage: its output and JUnit report.
type TestRun struct {
	// What the test command printed
	Output string
	// The JUnit XML report (an empty one when shipyard.hcl names none)
	Report *dagger.File
}

// Test the app in its test image against the services its shipyard.hcl declares
// +cache="never"
// +check
func (m *Shipyard) Test(
	ctx context.Context,
	// Bake target of the test image (default: shipyard.hcl's test.target)
	// +optional
	target string,
	// Test command (default: shipyard.hcl's test.command)
	// +optional
	command []string,
) (*TestRun, error) {
	cfg, err := m.config(ctx)
	if err != nil {
		return nil, err
	}
	t, err := cfg.TestWith(target, command)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return &TestRun{Output: noTests + "\n", Report: emptyReport("shipyard.hcl declares no test block")}, nil
	}
	engine, err := enginePlatform(ctx)
	if err != nil {
		return nil, err
	}
	f, err := m.bakeFile(ctx, m.Set, engine)
	if err != nil {
		return nil, err
	}
	return m.runTests(ctx, f, t, engine)
}

// TestReport is the JUnit report of the test stage exactly as `release --only=test` runs it for a ref, also when the tests fail (GitLab's test job exports it as its junit artifact; the stage is the gate)
// +cache="never"
func (m *Shipyard) TestReport(
	ctx context.Context,
	// Branch or tag the pipeline runs for (default: WithGitlab's $CI_COMMIT_REF_NAME)
	// +optional
	ref string,
	// Version tag being released (default: WithGitlab's $CI_COMMIT_TAG)
	// +optional
	tag string,
) (*dagger.File, error) {
	r, err := m.newRun(ctx, ref, tag, string(rules.Test), false)
	if err != nil {
		return nil, err
	}
	// the tests run here; `release --only=test` then reads their result from the engine's cache
	ctx, span := Tracer().Start(ctx, "stage "+string(rules.Test))
	defer span.End()
	cfg, err := m.config(ctx)
	if err != nil {
		return nil, err
	}
	if cfg.Test == nil {
		return emptyReport(repoconfig.FileName + " declares no test block"), nil
	}
	run, code, err := m.execTests(ctx, r.file, cfg.Test, r.in.Engine)
	if err != nil {
		return nil, err
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "test-report: the tests failed (exit %d); the report says which\n", code)
	}
	return run.Report, nil
}

// noTests is what the test stage says when there is nothing to test.
const noTests = "test: nothing to run: " + repoconfig.FileName + ` declares no test block (add test { target = "…", command = [ … ] } to run your tests)`

// testStage runs the test stage of the pipeline with the run's bake variables.
func (m *Shipyard) testStage(ctx context.Context, f *bake.File, engine bake.Platform) (string, error) {
	cfg, err := m.config(ctx)
	if err != nil {
		return "", err
	}
	if cfg.Test == nil {
		return noTests, nil
	}
	run, err := m.runTests(ctx, f, cfg.Test, engine)
	if err != nil {
		return "", err
	}
	return run.Output, nil
}

// runTests runs the tests (execTests) and fails when they fail.
func (m *Shipyard) runTests(ctx context.Context, f *bake.File, t *repoconfig.Test, engine bake.Platform) (*TestRun, error) {
	run, code, err := m.execTests(ctx, f, t, engine)
	if err != nil {
		return nil, err
	}
	if code != 0 {
		stderr, _ := run.Stderr(ctx)
		return nil, fmt.Errorf("tests failed (exit %d):\n%s\n%s", code, run.Output, stderr)
	}
	return run.TestRun, nil
}

// testsRun is a finished test command: what it printed, its report and its container.
type testsRun struct {
	*TestRun
	ctr *dagger.Container
}

// Stderr is what the test command wrote to its standard error.
func (r testsRun) Stderr(ctx context.Context) (string, error) { return r.ctr.Stderr(ctx) }

// execTests builds the test image and the services' images for the engine's own platform,
// starts the services under their aliases and runs the test command, returning its exit code;
// the error is for what kept the tests from running.
func (m *Shipyard) execTests(ctx context.Context, f *bake.File, t *repoconfig.Test, engine bake.Platform) (testsRun, int, error) {
	ctx, span := Tracer().Start(ctx, "test")
	defer span.End()
	targets, err := f.Resolve(t.Targets()...)
	if err != nil {
		return testsRun{}, 0, fmt.Errorf("%s's test block: %v", repoconfig.FileName, err)
	}
	entries, err := bake.Matrix(targets, []string{engine.String()}, engine)
	if err != nil {
		return testsRun{}, 0, fmt.Errorf("%s's test block: %v", repoconfig.FileName, err)
	}
	imgs, err := m.build(ctx, targets, entries, "local engine")
	if err != nil {
		return testsRun{}, 0, fmt.Errorf("building the test images: %v", err)
	}
	tests, err := imgs.Container(t.Target, "")
	if err != nil {
		return testsRun{}, 0, err
	}
	for _, s := range t.Services {
		var ctr *dagger.Container
		if s.Image != "" {
			ctr = dag.Container(dagger.ContainerOpts{Platform: dagger.Platform(engine.String())}).From(s.Image)
		} else if ctr, err = imgs.Container(s.Target, ""); err != nil {
			return testsRun{}, 0, err
		}
		svc := ctr.With(withEnv(s.Environment)).
			WithExposedPort(s.Port).
			AsService(dagger.ContainerAsServiceOpts{UseEntrypoint: true})
		tests = tests.WithServiceBinding(s.Alias, svc)
	}
	run := tests.With(withEnv(t.Environment)).
		WithExec(t.Command, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
	code, err := run.ExitCode(ctx)
	if err != nil {
		return testsRun{}, 0, fmt.Errorf("running the tests (%s): %s", strings.Join(t.Command, " "), execOutput(err))
	}
	out, _ := run.Stdout(ctx)
	report := emptyReport(fmt.Sprintf("%s's test block names no report", repoconfig.FileName))
	if t.Report != "" {
		report = run.File(t.Report)
	}
	return testsRun{TestRun: &TestRun{Output: out, Report: report}, ctr: run}, code, nil
}

// emptyReport is a JUnit report without tests, saying why.
func emptyReport(why string) *dagger.File {
	xml := "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- shipyard: " + why + " -->\n<testsuites tests=\"0\"></testsuites>\n"
	return dag.Directory().WithNewFile("junit.xml", xml).File("junit.xml")
}
