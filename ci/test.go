package main

import (
	"context"
	"fmt"
	"strings"

	"shipyard/ci/internal/dagger"
	"shipyard/internal/bake"
	"shipyard/internal/repoconfig"
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
	t := cfg.Test
	if t == nil {
		if target == "" && command == nil {
			return &TestRun{Output: noTests + "\n", Report: emptyReport("shipyard.hcl declares no test block")}, nil
		}
		t = &repoconfig.Test{}
	}
	t = withOverrides(t, target, command)
	if t.Target == "" || t.Command == nil {
		return nil, fmt.Errorf("test: %s has no test block, so give both --target (the test image's bake target) and --command", repoconfig.FileName)
	}
	f, err := m.bakeFile(ctx, m.Set)
	if err != nil {
		return nil, err
	}
	return m.runTests(ctx, f, t)
}

// noTests is what the test stage says when there is nothing to test.
const noTests = "test: nothing to run: " + repoconfig.FileName + ` declares no test block (add test { target = "…", command = [ … ] } to run your tests)`

// withOverrides is t with the target and command given on the command line.
func withOverrides(t *repoconfig.Test, target string, command []string) *repoconfig.Test {
	c := *t
	if target != "" {
		c.Target = target
	}
	if command != nil {
		c.Command = command
	}
	return &c
}

// testStage runs the test stage of the pipeline with the run's bake variables.
func (m *Shipyard) testStage(ctx context.Context, f *bake.File) (string, error) {
	cfg, err := m.config(ctx)
	if err != nil {
		return "", err
	}
	if cfg.Test == nil {
		return noTests, nil
	}
	run, err := m.runTests(ctx, f, cfg.Test)
	if err != nil {
		return "", err
	}
	return run.Output, nil
}

// runTests builds the test image and the services' images for the builder's platform, starts
// the services under their aliases and runs the test command.
func (m *Shipyard) runTests(ctx context.Context, f *bake.File, t *repoconfig.Test) (*TestRun, error) {
	ctx, span := Tracer().Start(ctx, "test")
	defer span.End()
	targets, err := f.Resolve(t.Targets()...)
	if err != nil {
		return nil, fmt.Errorf("%s's test block: %v", repoconfig.FileName, err)
	}
	entries, err := bake.Matrix(targets, []string{bake.BuilderPlatform.String()})
	if err != nil {
		return nil, fmt.Errorf("%s's test block: %v", repoconfig.FileName, err)
	}
	imgs, err := m.build(ctx, targets, entries, "local engine")
	if err != nil {
		return nil, fmt.Errorf("building the test images: %v", err)
	}
	tests, err := imgs.Container(t.Target, "")
	if err != nil {
		return nil, err
	}
	for _, s := range t.Services {
		ctr, err := imgs.Container(s.Target, "")
		if err != nil {
			return nil, err
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
		return nil, fmt.Errorf("running the tests (%s): %s", strings.Join(t.Command, " "), execOutput(err))
	}
	out, _ := run.Stdout(ctx)
	if code != 0 {
		stderr, _ := run.Stderr(ctx)
		return nil, fmt.Errorf("tests failed (exit %d):\n%s\n%s", code, out, stderr)
	}
	report := emptyReport(fmt.Sprintf("%s's test block names no report", repoconfig.FileName))
	if t.Report != "" {
		report = run.File(t.Report)
	}
	return &TestRun{Output: out, Report: report}, nil
}

// emptyReport is a JUnit report without tests, saying why.
func emptyReport(why string) *dagger.File {
	xml := "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- shipyard: " + why + " -->\n<testsuites tests=\"0\"></testsuites>\n"
	return dag.Directory().WithNewFile("junit.xml", xml).File("junit.xml")
}
