package plan

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"shipyard/internal/rules"
)

func TestChooseARM(t *testing.T) {
	tests := []struct {
		name         string
		arm64, armv7 bool
		armBuilder   string
		e2cUsage     string
		want         ARMChoice // Note: only whether there is one, and its start
		note         string    // the note's start; "" for none
		err          string
	}{
		{name: "nothing set: amd64 only, QEMU", want: ARMChoice{Builder: ARMQEMU}},
		{name: "E2C_USAGE=false changes nothing", e2cUsage: "false", want: ARMChoice{Builder: ARMQEMU}},
		{name: "E2C_USAGE=false does not undo ARM_BUILDER=ec2", arm64: true, armBuilder: ARMEC2, e2cUsage: "false",
			want: ARMChoice{Arm64: true, Builder: ARMEC2}},
		{name: "E2C_USAGE=true alone: linux/arm64 on EC2, as the old pipeline", e2cUsage: "true",
			want: ARMChoice{Arm64: true, Builder: ARMEC2}, note: "E2C_USAGE=true (the old pipeline's switch for ARM on EC2): linux/arm64 is built"},
		{name: "E2C_USAGE=true with BUILD_ARM64: EC2", arm64: true, e2cUsage: "true",
			want: ARMChoice{Arm64: true, Builder: ARMEC2}, note: "E2C_USAGE=true (the old pipeline's switch for ARM on EC2): ARM images are built on the EC2 builder"},
		{name: "E2C_USAGE=true with BUILD_ARMV7 alone: the platforms asked for win", armv7: true, e2cUsage: "true",
			want: ARMChoice{Armv7: true, Builder: ARMEC2}, note: "E2C_USAGE=true (the old pipeline's switch for ARM on EC2): ARM images are built on the EC2 builder"},
		{name: "E2C_USAGE=true with ARM_BUILDER=ec2: linux/arm64", armBuilder: ARMEC2, e2cUsage: "true",
			want: ARMChoice{Arm64: true, Builder: ARMEC2}, note: "E2C_USAGE=true (the old pipeline's switch for ARM on EC2): linux/arm64 is built"},
		{name: "E2C_USAGE=true says nothing ARM_BUILDER=ec2 and BUILD_ARM64 do not", arm64: true, armBuilder: ARMEC2, e2cUsage: "true",
			want: ARMChoice{Arm64: true, Builder: ARMEC2}},
		{name: "E2C_USAGE=true with ARM_BUILDER=qemu: qemu wins, with a warning", armBuilder: ARMQEMU, e2cUsage: "true",
			want: ARMChoice{Arm64: true, Builder: ARMQEMU}, note: "WARNING: E2C_USAGE=true asks for ARM images on the EC2 builder, but ARM_BUILDER=qemu is set and wins"},
		{name: "E2C_USAGE=true with ARM_BUILDER=qemu and BUILD_ARM64", arm64: true, armBuilder: ARMQEMU, e2cUsage: "true",
			want: ARMChoice{Arm64: true, Builder: ARMQEMU}, note: "WARNING: E2C_USAGE=true asks for ARM images on the EC2 builder, but ARM_BUILDER=qemu is set and wins"},
		{name: "an unknown ARM_BUILDER is left for Make to name", armBuilder: "k8s", e2cUsage: "true",
			want: ARMChoice{Arm64: true, Builder: "k8s"}, note: "E2C_USAGE=true (the old pipeline's switch for ARM on EC2): linux/arm64 is built"},
		{name: "E2C_USAGE=yes", e2cUsage: "yes", err: `--usage (E2C_USAGE) "yes": use true`},
		{name: "E2C_USAGE=TRUE", e2cUsage: "TRUE", err: `--usage (E2C_USAGE) "TRUE": use true`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ChooseARM(tt.arm64, tt.armv7, tt.armBuilder, tt.e2cUsage)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			note := got.Note
			got.Note = ""
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("choice (-want +got):\n%s", d)
			}
			if tt.note == "" && note != "" || !strings.HasPrefix(note, tt.note) {
				t.Errorf("note %q, want one starting %q", note, tt.note)
			}
		})
	}
}

// E2C_USAGE reaches the plan: the platforms, the builder, the GitLab jobs and the notes, which a
// work branch (no build stage) does not get; the EC2 settings' warnings only where EC2 builds.
func TestPlanWithE2CUsage(t *testing.T) {
	staging := rules.Ref{Branch: "staging", DefaultBranch: "main"}
	feat := rules.Ref{Branch: "feat/x", DefaultBranch: "main"}
	ec2Notes := []string{"WARNING: E2C_BUILD_DIR=~/builds is ignored: …"}
	tests := []struct {
		name      string
		in        Input
		platforms []string
		builder   string
		jobs      []string
		notes     []string // the notes' starts, in order
	}{
		{name: "staging, E2C_USAGE=true alone", in: Input{Ref: staging, E2CUsage: "true", EC2Notes: ec2Notes},
			platforms: []string{AMD64, ARM64}, builder: ARMEC2, jobs: []string{JobBuild, JobARMBuilder},
			notes: []string{"E2C_USAGE=true (the old pipeline's switch", "WARNING: E2C_BUILD_DIR"}},
		{name: "staging, E2C_USAGE=true, ARM_BUILDER=qemu", in: Input{Ref: staging, E2CUsage: "true", ARMBuilder: ARMQEMU, EC2Notes: ec2Notes},
			platforms: []string{AMD64, ARM64}, builder: ARMQEMU, jobs: []string{JobBuild},
			notes: []string{"WARNING: E2C_USAGE=true asks for ARM images on the EC2 builder"}},
		{name: "staging, EC2 settings' warnings without E2C_USAGE", in: Input{Ref: staging, Arm64: true, ARMBuilder: ARMEC2, EC2Notes: ec2Notes},
			platforms: []string{AMD64, ARM64}, builder: ARMEC2, jobs: []string{JobBuild, JobARMBuilder},
			notes: []string{"WARNING: E2C_BUILD_DIR"}},
		{name: "staging, QEMU: no EC2 warnings", in: Input{Ref: staging, Arm64: true, EC2Notes: ec2Notes},
			platforms: []string{AMD64, ARM64}, builder: ARMQEMU, jobs: []string{JobBuild}},
		{name: "a work branch builds nothing: no notes", in: Input{Ref: feat, E2CUsage: "true", EC2Notes: ec2Notes},
			platforms: []string{AMD64, ARM64}, builder: ARMEC2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Targets = targets(ImageTag(tt.in.Ref))
			p, err := Make(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.platforms, p.Platforms); d != "" {
				t.Errorf("platforms (-want +got):\n%s", d)
			}
			if p.ARMBuilder != tt.builder {
				t.Errorf("ARM builder %q, want %q", p.ARMBuilder, tt.builder)
			}
			if d := cmp.Diff(tt.jobs, p.BuildJobs); d != "" {
				t.Errorf("build jobs (-want +got):\n%s", d)
			}
			ok := len(p.Notes) == len(tt.notes)
			for i := 0; ok && i < len(tt.notes); i++ {
				ok = strings.HasPrefix(p.Notes[i], tt.notes[i])
			}
			if !ok {
				t.Errorf("notes %q, want ones starting %q", p.Notes, tt.notes)
			}
		})
	}
	if _, err := Make(Input{Ref: staging, E2CUsage: "1", Targets: targets("staging")}); err == nil || !strings.Contains(err.Error(), "E2C_USAGE") {
		t.Errorf("E2C_USAGE=1: %v, want an error naming E2C_USAGE", err)
	}
}
