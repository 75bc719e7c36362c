package e2c

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// stateSeeds are state files as they are written: the seed's KEY=VALUE form as FormatState writes
// it (a launched builder, one the module provisioned with its own keys, the QEMU fallback) and as
// the seed's shell wrote it (export, quotes, comments), and the JSON form of earlier versions.
func stateSeeds() []string {
	no := false
	provisioned := State{InstanceID: "i-0123456789abcdef0", PublicIP: "203.0.113.7", Strategy: StrategyTemplate, Region: "eu-north-1",
		JobID: "4711", Spot: true, LaunchedAt: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC),
		SSHHostKey:    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeHostKeyForTheStateFileOnly0000000000000",
		SSHPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
		Runs32BitARM:  &no}
	return []string{
		FormatState(provisioned),
		FormatState(State{InstanceID: "i-0123456789abcdef0", Strategy: StrategyExisting, Region: "eu-north-1", JobID: "4711"}),
		FormatState(State{Strategy: StrategyQEMUFallback, Region: "eu-north-1", JobID: "4711"}),
		// test/reliability's state file, as the seed's before_script wrote it
		"TARGET_INSTANCE_ID=i-0123456789abcdef0\nE2C_PUBLIC_IP=203.0.113.7\nE2C_INSTANCE_STRATEGY=template\nE2C_REGION=eu-north-1\nCI_JOB_ID=4711\n",
		"# written by the seed\nexport TARGET_INSTANCE_ID=\"i-0123456789abcdef0\"\nexport E2C_PUBLIC_IP='203.0.113.7'\n\nE2C_SPOT=true\nE2C_BUILDER_RUNS_32BIT=1\n",
		`{"instance_id":"i-0123456789abcdef0","public_ip":"203.0.113.7","strategy":"template","region":"eu-north-1","job_id":"4711","spot":true,"launched_at":"2026-11-25T10:00:00Z"}`,
		"{not json",
		`{"strategy":"template"}`,
		// launch times whose UTC year RFC 3339 cannot write (-0001, 10000)
		"TARGET_INSTANCE_ID=i-1\nE2C_LAUNCHED_AT=0000-01-01T00:30:00+01:00\n",
		`{"instance_id":"i-1","launched_at":"9999-12-31T23:30:00-01:00"}`,
	}
}

// FuzzParseState: ParseState never panics, and a state it accepts is written by FormatState in a
// form that reads back to the same state and is then written the same way again.
func FuzzParseState(f *testing.F) {
	for _, s := range stateSeeds() {
		f.Add([]byte(s))
	}
	sameTime := cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseState(data)
		if err != nil {
			return
		}
		text := FormatState(s)
		again, err := ParseState([]byte(text))
		if err != nil {
			t.Fatalf("ParseState(%q) = %+v, but what FormatState writes of it does not read back: %v\n%s", data, s, err, text)
		}
		if diff := cmp.Diff(s, again, sameTime); diff != "" {
			t.Fatalf("ParseState(%q): written and read back, the state differs (-first +again):\n%s\nwritten:\n%s", data, diff, text)
		}
		if twice := FormatState(again); twice != text {
			t.Fatalf("ParseState(%q): FormatState is not stable:\n%s\nthen:\n%s", data, text, twice)
		}
	})
}
