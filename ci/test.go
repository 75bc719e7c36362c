package main

import (
	"context"
	"fmt"

	"shipyard/ci/internal/dagger"
)

// TestRun is the outcome of the test stage: its output and JUnit report.
type TestRun struct {
	// What the test command printed
	Output string
	// The JUnit XML report
	Report *dagger.File
}

// Test the app in the image built from its own Dockerfile, against a real database service
func (m *Shipyard) Test(
	ctx context.Context,
	// Bake target of the test image (built from the app's Dockerfile)
	// +default="django-test"
	testTarget string,
	// Bake target of the database image run as a service
	// +default="postgres"
	serviceTarget string,
	// Host name the tests reach the service under
	// +default="db"
	serviceAlias string,
	// Test command (the JUnit report is written to /tmp/junit.xml)
	// +default=["python3", "-m", "pytest", "-p", "no:cacheprovider", "--junitxml=/tmp/junit.xml"]
	command []string,
	// Bake variable overrides, as NAME=VALUE
	// +optional
	set []string,
) (*TestRun, error) {
	ctx, span := Tracer().Start(ctx, "test")
	defer span.End()
	imgs, err := m.Build(ctx, []string{testTarget, serviceTarget}, []string{"linux/amd64"}, set)
	if err != nil {
		return nil, fmt.Errorf("building the test images: %v", err)
	}
	tests, err := imgs.Container(testTarget, "")
	if err != nil {
		return nil, err
	}
	db, err := imgs.Container(serviceTarget, "")
	if err != nil {
		return nil, err
	}
	const user, password, name = "app", "app-test-password", "app"
	svc := db.
		WithEnvVariable("POSTGRES_USER", user).
		WithEnvVariable("POSTGRES_PASSWORD", password).
		WithEnvVariable("POSTGRES_DB", name).
		WithExposedPort(5432).
		AsService(dagger.ContainerAsServiceOpts{UseEntrypoint: true})
	run := tests.
		WithServiceBinding(serviceAlias, svc).
		WithEnvVariable("DATABASE_HOST", serviceAlias).
		WithEnvVariable("DATABASE_PORT", "5432").
		WithEnvVariable("DATABASE_NAME", name).
		WithEnvVariable("DATABASE_USER", user).
		WithEnvVariable("DATABASE_PASSWORD", password).
		WithExec(command, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
	code, err := run.ExitCode(ctx)
	if err != nil {
		return nil, fmt.Errorf("running the tests: %s", execOutput(err))
	}
	out, _ := run.Stdout(ctx)
	if code != 0 {
		stderr, _ := run.Stderr(ctx)
		return nil, fmt.Errorf("tests failed (exit %d):\n%s\n%s", code, out, stderr)
	}
	return &TestRun{Output: out, Report: run.File("/tmp/junit.xml")}, nil
}
