package main

import (
	"context"
	"crypto/rand"
	"fmt"

	"shipyard/ci/internal/dagger"
	"shipyard/internal/secrettext"
)

// secretFile is the file name with the content text, made so that no secret part of text is
// ever a call's argument: the engine records every call with its arguments (call IDs, telemetry,
// its cache), the contents of withNewFile among them, but never setSecret's plaintext. The plain
// parts are written with withNewFile, each secret part is mounted as a secret of its own, and a
// small container joins them into the file, mode 0600; a text without secrets is written as it
// is. It is built here, so that a failure is the caller's error.
func secretFile(ctx context.Context, name string, text secrettext.Text) (*dagger.File, error) {
	if text.Secrets() == 0 {
		return dag.Directory().WithNewFile(name, text.String(), dagger.DirectoryWithNewFileOpts{Permissions: 0o600}).File(name), nil
	}
	// the engine knows a secret by its name: a name of its own for each value, so that the join
	// is never answered from the cache of a join of other values
	run := rand.Text()
	ctr := debianWith()
	var parts []string
	for i, p := range text.Compact() {
		path := fmt.Sprintf("/parts/%03d", i)
		if p.Secret {
			secret := dag.SetSecret(fmt.Sprintf("shipyard-file-%s-%s-%d", name, run, i), p.Text)
			ctr = ctr.WithMountedSecret(path, secret, dagger.ContainerWithMountedSecretOpts{Mode: 0o400})
		} else {
			ctr = ctr.WithNewFile(path, p.Text)
		}
		parts = append(parts, path)
	}
	out := "/out/" + name
	f := ctr.WithExec(append([]string{"sh", "-c", `umask 077 && mkdir -p /out && cat -- "$@" >"$0"`, out}, parts...)).File(out)
	if _, err := f.Sync(ctx); err != nil {
		return nil, fmt.Errorf("writing %s: %s", name, execOutput(err))
	}
	return f, nil
}
