package bake

import (
	"fmt"
	"strings"
)

// Platform is a normalised OCI platform: operating system, architecture and optional variant.
type Platform struct {
	OS      string
	Arch    string
	Variant string
}

// LocalPlatform is bake's "local": the platform of the builder itself. It is kept as written;
// a consumer substitutes its builder's platform (shipyard builds on linux/amd64) with Or.
var LocalPlatform = Platform{OS: "local"}

// IsLocal reports whether p is bake's "local" platform.
func (p Platform) IsLocal() bool { return p == LocalPlatform }

// Or returns builder when p is LocalPlatform, else p.
func (p Platform) Or(builder Platform) Platform {
	if p.IsLocal() {
		return builder
	}
	return p
}

// String renders the platform as os/arch or os/arch/variant, e.g. "linux/arm/v7"; LocalPlatform is "local".
func (p Platform) String() string {
	if p.IsLocal() {
		return "local"
	}
	if p.Variant == "" {
		return p.OS + "/" + p.Arch
	}
	return p.OS + "/" + p.Arch + "/" + p.Variant
}

// platformExamples is shown in every platform error so the reader sees valid spellings.
const platformExamples = "want os/arch or os/arch/variant, e.g. linux/amd64, linux/arm64, linux/arm/v7"

// archAliases maps common non-OCI architecture spellings to their OCI name and implied variant.
var archAliases = map[string]Platform{
	"x86_64":  {Arch: "amd64"},
	"x86-64":  {Arch: "amd64"},
	"aarch64": {Arch: "arm64"},
	"armhf":   {Arch: "arm", Variant: "v7"},
	"armel":   {Arch: "arm", Variant: "v6"},
	"i386":    {Arch: "386"},
}

// ParsePlatform parses and normalises a platform string like "linux/arm64".
//
// Normalisation follows the OCI/containerd conventions:
//   - surrounding space is trimmed and the string is lower-cased;
//   - architecture aliases become OCI names (x86_64 -> amd64, aarch64 -> arm64,
//     i386 -> 386, armhf -> arm/v7, armel -> arm/v6);
//   - "arm64/v8" becomes plain arm64 and "amd64/v1" plain amd64 (the default variants);
//   - "arm" without a variant becomes arm/v7, the variant a bare arm build targets.
//
// Any well-formed os/arch[/variant] is accepted (linux/s390x, windows/amd64, ...);
// strings without an architecture ("linux"), with empty parts or more than three parts are rejected.
func ParsePlatform(s string) (Platform, error) {
	norm := strings.ToLower(strings.TrimSpace(s))
	if norm == "local" {
		return LocalPlatform, nil
	}
	parts := strings.Split(norm, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return Platform{}, fmt.Errorf("%w %q: %s", ErrBadPlatform, s, platformExamples)
	}
	for _, part := range parts {
		if !validPlatformPart(part) {
			return Platform{}, fmt.Errorf("%w %q: part %q is empty or has characters other than a-z, 0-9, _ and -; %s",
				ErrBadPlatform, s, part, platformExamples)
		}
	}
	p := Platform{OS: parts[0], Arch: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	if alias, ok := archAliases[p.Arch]; ok {
		if alias.Variant != "" && p.Variant != "" && p.Variant != alias.Variant {
			return Platform{}, fmt.Errorf("%w %q: architecture %q already implies variant %s; write linux/arm/%s instead",
				ErrBadPlatform, s, p.Arch, alias.Variant, p.Variant)
		}
		p.Arch = alias.Arch
		if alias.Variant != "" {
			p.Variant = alias.Variant
		}
	}
	switch {
	case p.Arch == "arm64" && p.Variant == "v8":
		p.Variant = ""
	case p.Arch == "amd64" && p.Variant == "v1":
		p.Variant = ""
	case p.Arch == "arm" && p.Variant == "":
		p.Variant = "v7"
	}
	return p, nil
}

// validPlatformPart reports whether s is a non-empty token of lower-case letters, digits, '_' or '-'.
func validPlatformPart(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' && r != '-' {
			return false
		}
	}
	return true
}
