package attest_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"shipyard/internal/attest"
	"shipyard/internal/scan"
)

func TestTags(t *testing.T) {
	hex := strings.Repeat("a", 64)
	for _, tc := range []struct {
		name string
		tag  func(string) (string, error)
		want string
	}{
		{"signature", attest.SignatureTag, "sha256-" + hex + ".sig"},
		{"attestation", attest.AttestationTag, "sha256-" + hex + ".att"},
		{"referrers fallback", attest.ReferrersTag, "sha256-" + hex},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.tag(digestA)
			if err != nil || got != tc.want {
				t.Errorf("= %q, %v; want %q", got, err, tc.want)
			}
			for _, bad := range []string{"", "latest", "sha256:" + hex[:63], "sha512:" + hex, "sha256:" + strings.ToUpper(hex)} {
				if _, err := tc.tag(bad); !errors.Is(err, attest.ErrBadDigest) {
					t.Errorf("(%q) = %v, want ErrBadDigest", bad, err)
				}
			}
		})
	}
}

func TestSBOMFormat(t *testing.T) {
	for _, tc := range []struct{ format, artifact, predicate string }{
		{"", attest.ArtifactSPDX, attest.PredicateSPDX},
		{"spdx-json", "application/spdx+json", "https://spdx.dev/Document"},
		{"cyclonedx-json", "application/vnd.cyclonedx+json", "https://cyclonedx.org/bom"},
	} {
		a, p, err := attest.SBOMFormat(tc.format)
		if err != nil || a != tc.artifact || p != tc.predicate {
			t.Errorf("SBOMFormat(%q) = %q, %q, %v; want %q, %q", tc.format, a, p, err, tc.artifact, tc.predicate)
		}
	}
	if _, _, err := attest.SBOMFormat("syft-json"); err == nil || !strings.Contains(err.Error(), "spdx-json") {
		t.Errorf("SBOMFormat(syft-json) = %v, want an error naming the formats", err)
	}
}

// TestSimpleSigningPayload pins the exact bytes cosign signs and verifies.
func TestSimpleSigningPayload(t *testing.T) {
	got, err := attest.SimpleSigningPayload("127.0.0.1:5000/shipyard/app-web", digestA)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"critical":{"identity":{"docker-reference":"127.0.0.1:5000/shipyard/app-web"},"image":{"docker-manifest-digest":"` + digestA + `"},"type":"cosign container image signature"},"optional":null}`
	if string(got) != want {
		t.Errorf("payload\n got %s\nwant %s", got, want)
	}
	if _, err := attest.SimpleSigningPayload("r", "latest"); !errors.Is(err, attest.ErrBadDigest) {
		t.Errorf("SimpleSigningPayload(tag) = %v, want ErrBadDigest", err)
	}
}

func TestPAE(t *testing.T) {
	// The DSSE specification's example.
	got := string(attest.PAE("http://example.com/HelloWorld", []byte("hello world")))
	if want := "DSSEv1 29 http://example.com/HelloWorld 11 hello world"; got != want {
		t.Errorf("PAE = %q, want %q", got, want)
	}
}

func TestEnvelope(t *testing.T) {
	s, other := signer(t), signer(t)
	stmt, err := attest.NewStatement("r", digestA, attest.PredicateSPDX, []byte(`{ "spdxVersion": "SPDX-2.3" }`))
	if err != nil {
		t.Fatal(err)
	}
	env, err := attest.SignEnvelope(s, stmt)
	if err != nil {
		t.Fatal(err)
	}
	var e attest.Envelope
	if err := json.Unmarshal(env, &e); err != nil || e.PayloadType != attest.InTotoPayloadType || len(e.Signatures) != 1 {
		t.Fatalf("envelope %s: %v", env, err)
	}
	got, err := attest.OpenEnvelope(s.Public(), env)
	if err != nil || string(got) != string(stmt) {
		t.Fatalf("OpenEnvelope = %s, %v; want the statement", got, err)
	}
	tampered := e
	tampered.Payload = base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(stmt), "SPDX-2.3", "SPDX-2.2", 1)))
	tamperedJSON, _ := json.Marshal(tampered)
	otherType := e
	otherType.PayloadType = "text/plain"
	otherTypeJSON, _ := json.Marshal(otherType)
	for _, tc := range []struct {
		name string
		env  []byte
		says string
	}{
		{"other key", env, "none of its 1 signature(s) is valid"},
		{"tampered payload", tamperedJSON, "none of its 1 signature(s) is valid"},
		{"other payload type", otherTypeJSON, `payloadType "text/plain"`},
		{"not JSON", []byte("x"), "not JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := s.Public()
			if tc.name == "other key" {
				key = other.Public()
			}
			if _, err := attest.OpenEnvelope(key, tc.env); !errors.Is(err, attest.ErrBadEnvelope) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("OpenEnvelope = %v, want ErrBadEnvelope saying %q", err, tc.says)
			}
		})
	}
}

func signer(t *testing.T) *attest.Signer {
	t.Helper()
	s, err := attest.GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// evidence returns what a fully signed release of digestA holds: a
// signature, a signed SBOM and provenance attestation, both as referrers.
func evidence(t *testing.T, s *attest.Signer) attest.Evidence {
	t.Helper()
	payload, err := attest.SimpleSigningPayload("127.0.0.1:5000/shipyard/app-django", digestA)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	prov, err := attest.ProvenanceStatement(build())
	if err != nil {
		t.Fatal(err)
	}
	sbom, err := attest.NewStatement(build().Image, digestA, attest.PredicateSPDX, []byte(`{"spdxVersion":"SPDX-2.3"}`))
	if err != nil {
		t.Fatal(err)
	}
	ev := attest.Evidence{
		Name:       "app-django@" + digestA[:19] + " [linux/arm64]",
		Digest:     digestA,
		Signatures: []attest.SignatureLayer{{Payload: payload, Signature: base64.StdEncoding.EncodeToString(sig)}},
		Referrers:  []attest.Referrer{{Digest: digestB, ArtifactType: attest.ArtifactSPDX}, {Digest: digestPy, ArtifactType: attest.ArtifactProvenance}},
	}
	for _, st := range [][]byte{sbom, prov} {
		env, err := attest.SignEnvelope(s, st)
		if err != nil {
			t.Fatal(err)
		}
		ev.Attestations = append(ev.Attestations, env)
	}
	return ev
}

func TestCheck(t *testing.T) {
	s := signer(t)
	good := evidence(t, s)
	full := attest.Policy{Key: s.Public(), SBOM: true, Revision: commit, Referrers: true}
	otherImage, err := attest.SimpleSigningPayload("r", digestB)
	if err != nil {
		t.Fatal(err)
	}
	otherSig, _ := s.Sign(otherImage)
	for _, tc := range []struct {
		name   string
		change func(*attest.Evidence, *attest.Policy)
		is     []error
		says   []string
	}{
		{"complete", func(*attest.Evidence, *attest.Policy) {}, nil, nil},
		{"signature only asked", func(ev *attest.Evidence, p *attest.Policy) {
			ev.Attestations, ev.Referrers = nil, nil
			*p = attest.Policy{Key: p.Key}
		}, nil, nil},
		{"signature deleted", func(ev *attest.Evidence, _ *attest.Policy) { ev.Signatures = nil },
			[]error{attest.ErrNoSignature}, []string{"app-django@sha256:aaaaaaaaaaaa [linux/arm64]: no signature: the tag sha256-" + digestA[7:] + ".sig holds no signature"}},
		{"signed by another key", func(_ *attest.Evidence, p *attest.Policy) { p.Key = signer(t).Public() },
			[]error{attest.ErrBadSignature, attest.ErrNoSBOM, attest.ErrNoProvenance},
			[]string{"none of the 1 signature(s)", "no signed SPDX or CycloneDX attestation", "none of its 1 signature(s) is valid"}},
		{"signature of another image copied here", func(ev *attest.Evidence, _ *attest.Policy) {
			ev.Signatures = []attest.SignatureLayer{{Payload: otherImage, Signature: base64.StdEncoding.EncodeToString(otherSig)}}
		}, []error{attest.ErrBadSignature}, []string{"is for another image (" + digestB + ")"}},
		{"tampered payload", func(ev *attest.Evidence, _ *attest.Policy) {
			ev.Signatures = []attest.SignatureLayer{{Payload: append([]byte(nil), otherImage...), Signature: ev.Signatures[0].Signature}}
		}, []error{attest.ErrBadSignature}, []string{".sig is valid for the public key (signed with another key, or tampered with)"}},
		{"re-tagged image: evidence of another digest", func(ev *attest.Evidence, _ *attest.Policy) { ev.Digest = digestB },
			[]error{attest.ErrBadSignature, attest.ErrNoSBOM, attest.ErrNoProvenance},
			[]string{"for another image", "about another image"}},
		{"another revision released", func(_ *attest.Evidence, p *attest.Policy) { p.Revision = strings.Repeat("e", 40) },
			[]error{attest.ErrWrongRevision}, []string{"provenance says revision " + commit + ", the release is of eeee"}},
		{"no attestations", func(ev *attest.Evidence, _ *attest.Policy) { ev.Attestations = nil },
			[]error{attest.ErrNoSBOM, attest.ErrNoProvenance}, []string{".att", "no signed SLSA v1 provenance"}},
		{"no referrers", func(ev *attest.Evidence, _ *attest.Policy) { ev.Referrers = nil },
			[]error{attest.ErrNoSBOM, attest.ErrNoProvenance}, []string{"no referrer of artifactType application/spdx+json", "the tag sha256-" + digestA[7:] + " lists one"}},
		{"no key", func(_ *attest.Evidence, p *attest.Policy) { p.Key = nil }, []error{attest.ErrBadKey}, []string{"cosign.pub"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, p := good, full
			ev.Signatures = append([]attest.SignatureLayer(nil), good.Signatures...)
			tc.change(&ev, &p)
			err := attest.Check(ev, p)
			if len(tc.is) == 0 {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Check = nil, want an error")
			}
			for _, is := range tc.is {
				if !errors.Is(err, is) {
					t.Errorf("Check = %v, want it to be %v", err, is)
				}
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Check = %v, want it to say %q", err, s)
				}
			}
		})
	}
}

// vulnStatement is the gate's vulnerability statement about digest: a report with a CRITICAL
// finding on zlib1g, accepted by the gate at failOn, and a HIGH one on libssl3; finished says
// when the scan finished.
func vulnStatement(t *testing.T, digest, failOn string, finished time.Time, accepted ...scan.AcceptedFinding) []byte {
	t.Helper()
	report := `{"SchemaVersion": 2, "Results": [{"Target": "app (debian 12.8)", "Class": "os-pkgs", "Vulnerabilities": [
		{"VulnerabilityID": "CVE-2099-0001", "PkgName": "zlib1g", "InstalledVersion": "1:1.2.13", "Severity": "CRITICAL"},
		{"VulnerabilityID": "CVE-2099-0002", "PkgName": "libssl3", "InstalledVersion": "3.0.11", "FixedVersion": "3.0.13", "Severity": "HIGH"}]}]}`
	pred, err := scan.VulnPredicate(scan.VulnInput{Report: []byte(report), ScannerVersion: scan.TrivyVersion,
		Invocation: scan.Invocation{Parameters: scan.GateParameters{FailOn: failOn, Platform: "linux/arm64", Accepted: accepted}},
		Start:      finished.Add(-time.Minute), Finish: finished})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(pred)
	if err != nil {
		t.Fatal(err)
	}
	st, err := attest.NewStatement("127.0.0.1:5000/shipyard/app-django", digest, scan.VulnPredicateType, b)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestCheckScan(t *testing.T) {
	s := signer(t)
	base := evidence(t, s)
	zlib := scan.AcceptedFinding{ID: "CVE-2099-0001", Package: "zlib1g", Installed: "1:1.2.13", Statement: "not reachable"}
	day := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	envelope := func(st []byte, by *attest.Signer) []byte {
		env, err := attest.SignEnvelope(by, st)
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	passed := envelope(vulnStatement(t, digestA, "CRITICAL", day, zlib), s)
	noAccept := envelope(vulnStatement(t, digestA, "CRITICAL", day.Add(time.Hour)), s)
	full := attest.Policy{Key: s.Public(), SBOM: true, Revision: commit, Referrers: true, Scan: true}
	const missing = "app-django@sha256:aaaaaaaaaaaa [linux/arm64]: no vulnerability scan: no signed vulnerability attestation (cosign predicate https://cosign.sigstore.dev/attestation/vuln/v1) under sha256-"
	for _, tc := range []struct {
		name   string
		atts   [][]byte // added to the SBOM and provenance
		policy func(*attest.Policy)
		is     error
		says   []string
	}{
		{"scan attested", [][]byte{passed}, func(*attest.Policy) {}, nil, nil},
		{"no scan asked, none there", nil, func(p *attest.Policy) { p.Scan = false }, nil, nil},
		{"scan asked, none there", nil, func(*attest.Policy) {}, attest.ErrNoScan,
			[]string{missing, "with-signing … with-scan … release"}},
		{"scan asked alone, none there", nil, func(p *attest.Policy) { *p = attest.Policy{Key: p.Key, Scan: true} }, attest.ErrNoScan, []string{missing}},
		{"signed by another key", [][]byte{envelope(vulnStatement(t, digestA, "CRITICAL", day, zlib), signer(t))}, func(*attest.Policy) {}, attest.ErrNoScan,
			[]string{missing, "(rejected: ", "none of its 1 signature(s) is valid"}},
		{"scan of another image", [][]byte{envelope(vulnStatement(t, digestB, "CRITICAL", day, zlib), s)}, func(*attest.Policy) {}, attest.ErrNoScan,
			[]string{missing, "about another image"}},
		{"re-checked at the gate's threshold", [][]byte{passed}, func(p *attest.Policy) { p.ScanFailOn = "critical" }, nil, nil},
		{"re-check implies the scan", nil, func(p *attest.Policy) { p.Scan, p.ScanFailOn = false, "critical" }, attest.ErrNoScan, []string{missing}},
		{"re-checked stricter: the HIGH finding blocks", [][]byte{passed}, func(p *attest.Policy) { p.ScanFailOn = "high" }, scan.ErrAttestedBlocked,
			[]string{"app-django@sha256:aaaaaaaaaaaa [linux/arm64]: the attested scan does not pass at HIGH: 1 finding in the report the gate at CRITICAL passed",
				"libssl3 3.0.11 (fixed in 3.0.13): CVE-2099-0002 HIGH"}},
		{"the newest scan is re-checked", [][]byte{passed, noAccept}, func(p *attest.Policy) { p.ScanFailOn = "critical" }, scan.ErrAttestedBlocked,
			[]string{"zlib1g 1:1.2.13 (no fix yet): CVE-2099-0001 CRITICAL"}},
		{"the newest scan is re-checked, in any order", [][]byte{noAccept, passed}, func(p *attest.Policy) { p.ScanFailOn = "critical" }, scan.ErrAttestedBlocked,
			[]string{"CVE-2099-0001 CRITICAL"}},
		{"a threshold that is no severity", [][]byte{passed}, func(p *attest.Policy) { p.ScanFailOn = "severe" }, scan.ErrBadSeverity, []string{`"severe"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, p := base, full
			ev.Attestations = append(append([][]byte(nil), base.Attestations...), tc.atts...)
			tc.policy(&p)
			err := attest.Check(ev, p)
			if tc.is == nil {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.is) {
				t.Fatalf("Check = %v, want it to be %v", err, tc.is)
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Check = %v, want it to say %q", err, s)
				}
			}
			if errors.Is(err, attest.ErrNoSBOM) || errors.Is(err, attest.ErrNoProvenance) || errors.Is(err, attest.ErrBadSignature) {
				t.Errorf("Check = %v: the scan's problem is reported as another one", err)
			}
		})
	}
}
