// Package scan decides whether a release's images pass the vulnerability gate.
//
// It reads what trivy (v0.74.0, `trivy image --format json`, SchemaVersion 2) reports about
// one image, trivy's own ignore file (.trivyignore.yaml) and trivy's database metadata
// (metadata.json), and decides:
//
//   - ParseReport and Findings turn trivy's report into findings, each tagged with the image
//     (by digest) and platform the caller scanned.
//   - ParseIgnore reads the ignore file in trivy's YAML format, with one rule of ours on top:
//     every entry says why in `statement:`. An entry past its expired_at no longer applies.
//   - CheckFreshness refuses a database older than the policy (DefaultMaxDBAge).
//   - Gate sorts findings into blocking (at or above the --fail-on threshold and not ignored),
//     below the threshold, and ignored; Verdict.Err names every blocking finding.
//   - GitLabReport writes GitLab's container-scanning report (schema 15.0.7) and VulnPredicate
//     cosign's vulnerability attestation predicate (https://cosign.sigstore.dev/attestation/vuln/v1).
//
// The package is pure: it parses the bytes it is given and takes the current time as an
// argument; running trivy, reading files and pushing attestations are the caller's.
package scan
