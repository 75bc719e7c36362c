package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"dagger.io/dagger"

	"shipyard/internal/attest"
)

// syftStandIn is the mirror's entry for the SBOM generator's image (attest.SyftImage), made as
// upstream lays it out (the static binary at attest.SyftBinary, the entrypoint, an empty /tmp)
// from the binary at bin, which buildSyft makes on this machine.
func syftStandIn(bin string) image {
	return image{
		Name:      attest.SyftImage,
		Platforms: []string{"linux/amd64"},
		StandIn: attest.SyftImage + ": syft " + attest.SyftVersion + " built from the Go module proxy on this machine" +
			" (CGO_ENABLED=0), at " + attest.SyftBinary + " on an empty file system as upstream",
		Build: func(m *mirror, _ context.Context, p dagger.Platform) (*dagger.Container, error) {
			return m.c.Container(dagger.ContainerOpts{Platform: p}).
				WithFile(attest.SyftBinary, m.c.Host().File(bin), dagger.ContainerWithFileOpts{Permissions: 0o755}).
				WithDirectory("/tmp", m.c.Directory()).
				WithEnvVariable("SYFT_CHECK_FOR_APP_UPDATE", "false").
				WithEntrypoint([]string{attest.SyftBinary}), nil
		},
		HostFiles: []string{bin},
	}
}

// buildSyft installs attest.SyftModule into dir as syft-VERSION, unless it is there: with the
// Go build cache warm, a link; cold, about 9 minutes on 2 cores.
func buildSyft(dir string) (string, error) {
	bin := filepath.Join(dir, "syft-"+attest.SyftVersion)
	if st, err := os.Stat(bin); err == nil && st.Mode().IsRegular() {
		return bin, nil
	}
	tmp, err := os.MkdirTemp(dir, ".syft-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(os.Stderr, "mirror: building syft %s from the Go module proxy (cold: about 9 minutes on 2 cores)\n", attest.SyftVersion)
	cmd := exec.Command("go", "install", "-trimpath", "-ldflags=-s -w", attest.SyftModule)
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go install %s: %w", attest.SyftModule, err)
	}
	return bin, os.Rename(filepath.Join(tmp, "syft"), bin)
}
