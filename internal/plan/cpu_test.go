package plan

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"shipyard/internal/rules"
)

func TestCPUOfInstanceType(t *testing.T) {
	const from = "launch template lt-1 (version $Default)"
	yes, no := tru(), fals()
	for _, tc := range []struct {
		typ     string
		runs    *bool
		cpu     string
		unknown string // part of the reason when nothing is known
	}{
		{"a1.large", yes, "Graviton 1, Cortex-A72", ""},
		{"a1.metal", yes, "Graviton 1, Cortex-A72", ""},
		{"t4g.small", yes, "Graviton 2, Neoverse N1", ""},
		{"m6g.xlarge", yes, "Graviton 2, Neoverse N1", ""},
		{"m6gd.large", yes, "Graviton 2, Neoverse N1", ""},
		{"c6g.large", yes, "Graviton 2, Neoverse N1", ""},
		{"c6gd.large", yes, "Graviton 2, Neoverse N1", ""},
		{"c6gn.16xlarge", yes, "Graviton 2, Neoverse N1", ""},
		{"r6g.medium", yes, "Graviton 2, Neoverse N1", ""},
		{"r6gd.medium", yes, "Graviton 2, Neoverse N1", ""},
		{"x2gd.large", yes, "Graviton 2, Neoverse N1", ""},
		{"g5g.xlarge", yes, "Graviton 2, Neoverse N1", ""},
		{"im4gn.large", yes, "Graviton 2, Neoverse N1", ""},
		{"is4gen.medium", yes, "Graviton 2, Neoverse N1", ""},
		{"c7g.large", no, "Graviton 3, Neoverse V1", ""},
		{"c7gd.large", no, "Graviton 3, Neoverse V1", ""},
		{"m7g.medium", no, "Graviton 3, Neoverse V1", ""},
		{"m7gd.metal", no, "Graviton 3, Neoverse V1", ""},
		{"r7g.large", no, "Graviton 3, Neoverse V1", ""},
		{"r7gd.large", no, "Graviton 3, Neoverse V1", ""},
		{"c7gn.large", no, "Graviton 3E, Neoverse V1", ""},
		{"hpc7g.16xlarge", no, "Graviton 3E, Neoverse V1", ""},
		{"m8g.large", no, "Graviton 4, Neoverse V2", ""},
		{"m8gd.large", no, "Graviton 4, Neoverse V2", ""},
		{"c8g.large", no, "Graviton 4, Neoverse V2", ""},
		{"c8gd.large", no, "Graviton 4, Neoverse V2", ""},
		{"r8g.large", no, "Graviton 4, Neoverse V2", ""},
		{"r8gd.large", no, "Graviton 4, Neoverse V2", ""},
		{"x8g.large", no, "Graviton 4, Neoverse V2", ""},
		{"i8g.large", no, "Graviton 4, Neoverse V2", ""},
		{"m8gn.metal-24xl", no, "Graviton 4, Neoverse V2", ""},
		// written by hand: case and spaces do not matter
		{" C7G.Large\n", no, "Graviton 3, Neoverse V1", ""},
		// not Graviton, or not known here: the builder is asked when it is up
		{"m5.large", nil, "", "m5.large (" + from + ") is no Graviton type this module knows"},
		{"c9g.large", nil, "", "is no Graviton type"},
		{"mac2-m2.metal", nil, "", "is no Graviton type"},
		{"", nil, "", from + " names no instance type"},
		{"   ", nil, "", "names no instance type"},
		{"c7g", nil, "", `names "c7g", which is not an instance type`},
		{"c7g.", nil, "", "not an instance type"},
		{".large", nil, "", "not an instance type"},
		{"c7g.large.x", nil, "", "not an instance type"},
		{"c7g large", nil, "", "not an instance type"},
		{"7cg.large", nil, "", "not an instance type"},
		{"c7g.l\x00arge", nil, "", `"c7g.l\x00arge"`},
		{"ç7g.large", nil, "", "not an instance type"},
		{strings.Repeat("c7g.", 100), nil, "", "not an instance type"},
	} {
		got := CPUOfInstanceType(tc.typ, from)
		if diff := cmp.Diff(tc.runs, got.Runs32Bit); diff != "" || got.CPU != tc.cpu || got.From != from {
			t.Errorf("CPUOfInstanceType(%q) = %+v; want runs %v, cpu %q", tc.typ, got, tc.runs, tc.cpu)
		}
		if tc.runs != nil && (got.Unknown != "" || got.InstanceType != strings.ToLower(strings.TrimSpace(tc.typ)) && got.InstanceType != strings.TrimSpace(tc.typ)) {
			t.Errorf("CPUOfInstanceType(%q) = %+v: a known type has no reason to be unknown and keeps its name", tc.typ, got)
		}
		if tc.runs == nil && !strings.Contains(got.Unknown, tc.unknown) {
			t.Errorf("CPUOfInstanceType(%q).Unknown = %q, want …%s…", tc.typ, got.Unknown, tc.unknown)
		}
		if len(got.Unknown) > 300 {
			t.Errorf("CPUOfInstanceType(%q).Unknown is %d bytes long", tc.typ, len(got.Unknown))
		}
	}
}

func TestBuilderCPUDescribe(t *testing.T) {
	for _, tc := range []struct {
		cpu  BuilderCPU
		want string
	}{
		{CPUOfInstanceType("c7g.large", "instance i-1"), "a c7g.large (Graviton 3, Neoverse V1)"},
		{CPUOfInstanceType("m5.large", "instance i-1"), "an m5.large"},
		{UnknownCPU("no AWS credentials"), "of an unknown instance type (no AWS credentials)"},
		{BuilderCPU{}, "of an unknown instance type"},
	} {
		if got := tc.cpu.Describe(); got != tc.want {
			t.Errorf("%+v.Describe() = %q, want %q", tc.cpu, got, tc.want)
		}
	}
}

// linux/arm/v7 with the EC2 builder: the builder's own answer wins; before it, the instance type
// routes it; without either, the builder is asked when it is up.
func TestARMv7Routing(t *testing.T) {
	const from = "launch template lt-1 (version $Default)"
	for _, tc := range []struct {
		name      string
		cpu       BuilderCPU
		runs32    *bool
		builder   BuilderState
		want      Builder
		why       []string
		pending   bool
		remoteRun bool
	}{
		{name: "Graviton 3 before it is up", cpu: CPUOfInstanceType("c7g.large", from), want: QEMU,
			why: []string{"a c7g.large (Graviton 3, Neoverse V1), as " + from + " says", "Graviton 3 and later have no 32-bit mode", "emulated on the local engine"}},
		{name: "Graviton 4 before it is up", cpu: CPUOfInstanceType("r8g.2xlarge", "instance i-0abc (E2C_INSTANCE_ID)"), want: QEMU,
			why: []string{"an r8g.2xlarge (Graviton 4, Neoverse V2), as instance i-0abc (E2C_INSTANCE_ID) says", "no 32-bit mode"}},
		{name: "Graviton 2 before it is up", cpu: CPUOfInstanceType("t4g.small", from), want: Remote, remoteRun: true,
			why: []string{"native on the EC2 ARM builder's engine: it is a t4g.small (Graviton 2, Neoverse N1)", "checked again when it is up"}},
		{name: "unknown type", cpu: CPUOfInstanceType("m5.large", from), want: Remote, remoteRun: true,
			why: []string{"if its CPU runs 32-bit ARM code (checked when it is up; else QEMU here)", "m5.large (" + from + ") is no Graviton type"}},
		{name: "no credentials", cpu: UnknownCPU("no AWS credentials were given (with-arm-access), so EC2 was not asked"), want: Remote, remoteRun: true,
			why: []string{"its instance type says nothing before it is up: no AWS credentials were given"}},
		{name: "not read yet", want: Remote, remoteRun: true, pending: true,
			why: []string{"native on the EC2 ARM builder's engine if its CPU runs 32-bit ARM code (checked when it is up; else QEMU here)"}},
		{name: "the probe wins: yes over a Graviton 3 type", cpu: CPUOfInstanceType("c7g.large", from), runs32: tru(), want: Remote, remoteRun: true,
			why: []string{"native on the EC2 ARM builder's engine"}},
		{name: "the probe wins: no over a Graviton 2 type", cpu: CPUOfInstanceType("t4g.small", from), runs32: fals(), want: QEMU,
			why: []string{"cannot run 32-bit ARM code"}},
		{name: "no capacity", cpu: CPUOfInstanceType("t4g.small", from), builder: BuilderNoCapacity, want: QEMU,
			why: []string{"no EC2 capacity"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Ref: rules.Ref{Tag: "1.2.3"}, Armv7: true, ARMBuilder: ARMEC2, Project: "shop", ReleaseRegistry: "rel.test/r",
				Targets: targets("1.2.3"), BuilderCPU: tc.cpu, BuilderRuns32Bit: tc.runs32, Builder: tc.builder}
			p, err := Make(in)
			if err != nil {
				t.Fatal(err)
			}
			var v7 *Build
			for i, b := range p.Builds {
				if b.Platform == ARMv7 {
					v7 = &p.Builds[i]
				}
			}
			if v7 == nil || v7.Builder != tc.want || v7.Job != JobARMBuilder {
				t.Fatalf("linux/arm/v7: %+v, want on %s in job %s", v7, tc.want, JobARMBuilder)
			}
			for _, w := range tc.why {
				if !strings.Contains(v7.Why, w) {
					t.Errorf("why %q lacks %q", v7.Why, w)
				}
			}
			// only arm/v7 is asked for: a builder that cannot run it is not started at all
			if p.RemoteBuilder != tc.remoteRun {
				t.Errorf("RemoteBuilder = %t, want %t", p.RemoteBuilder, tc.remoteRun)
			}
			if got := ARMv7Pending(in, p.Builds); got != tc.pending {
				t.Errorf("ARMv7Pending = %t, want %t", got, tc.pending)
			}
			// the plan's text and JSON say the same
			for _, format := range []string{FormatText, FormatJSON} {
				out, err := p.Render(format)
				if err != nil {
					t.Fatal(err)
				}
				if format == FormatText && !strings.Contains(out, "build app [linux/arm/v7] on "+string(tc.want)+": "+v7.Why) ||
					format == FormatJSON && !strings.Contains(out, `"builder": "`+string(tc.want)+`"`) {
					t.Errorf("%s plan does not route arm/v7 to %s:\n%s", format, tc.want, out)
				}
				if format == FormatJSON && tc.cpu.InstanceType != "" && !strings.Contains(out, `"instance_type": "`+tc.cpu.InstanceType+`"`) {
					t.Errorf("the JSON plan does not name the builder's instance type %s:\n%s", tc.cpu.InstanceType, out)
				}
			}
		})
	}
}

// arm64 is never routed by the instance type: every Graviton runs it.
func TestARM64IgnoresTheInstanceType(t *testing.T) {
	p, err := Make(Input{Ref: rules.Ref{Tag: "1.2.3"}, Arm64: true, Armv7: true, ARMBuilder: ARMEC2, Project: "shop", ReleaseRegistry: "rel.test/r",
		Targets: targets("1.2.3"), BuilderCPU: CPUOfInstanceType("c8g.large", "instance i-1")})
	if err != nil {
		t.Fatal(err)
	}
	got := summary(p).builds
	want := map[string]Builder{"app linux/amd64": Local, "app linux/arm64": Remote, "app linux/arm/v7": QEMU, "db linux/amd64": Local, "db linux/arm64": Remote}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("routing (-want +got):\n%s", diff)
	}
	if !p.RemoteBuilder {
		t.Error("arm64 still needs the builder")
	}
}
