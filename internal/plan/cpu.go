package plan

import (
	"strconv"
	"strings"
)

// BuilderCPU is what is known, before the EC2 ARM builder is up, about whether its CPU runs
// 32-bit ARM code (AArch32 at EL0): what its instance type says, or why nothing is known.
type BuilderCPU struct {
	// InstanceType is the builder's EC2 instance type ("" when it is not known).
	InstanceType string `json:"instance_type,omitempty"`
	// From says where the instance type was read (the launch template or the instance).
	From string `json:"from,omitempty"`
	// CPU names the processor of a Graviton type ("Graviton 3, Neoverse V1").
	CPU string `json:"cpu,omitempty"`
	// Runs32Bit is nil when the instance type says nothing (unknown, or not known here).
	Runs32Bit *bool `json:"runs_32bit,omitempty"`
	// Unknown says why nothing is known ("" when Runs32Bit is set).
	Unknown string `json:"unknown,omitempty"`
}

// graviton is one generation of AWS's ARM processors and the EC2 families built on it.
type graviton struct {
	cpu       string
	runs32Bit bool
	families  []string
}

// gravitons are the EC2 families of each Graviton generation. Graviton 1 (Cortex-A72) and
// Graviton 2 (Neoverse N1) implement AArch32 at EL0; Graviton 3 and 3E (Neoverse V1) and
// Graviton 4 (Neoverse V2) are AArch64 only at every exception level.
var gravitons = []graviton{
	{"Graviton 1, Cortex-A72", true, []string{"a1"}},
	{"Graviton 2, Neoverse N1", true, []string{"m6g", "m6gd", "c6g", "c6gd", "c6gn", "r6g", "r6gd", "t4g", "x2gd", "g5g", "i4g", "im4gn", "is4gen"}},
	{"Graviton 3, Neoverse V1", false, []string{"c7g", "c7gd", "m7g", "m7gd", "r7g", "r7gd"}},
	{"Graviton 3E, Neoverse V1", false, []string{"c7gn", "hpc7g"}},
	{"Graviton 4, Neoverse V2", false, []string{"m8g", "m8gd", "m8gn", "m8gb", "c8g", "c8gd", "c8gn", "c8gb", "r8g", "r8gd", "r8gn", "r8gb", "x8g", "i8g", "i8ge"}},
}

// InstanceFamily splits an EC2 instance type "family.size" (c7g.large, m8gn.metal-24xl) and
// returns its family, lower case; ok is false for anything of another form.
func InstanceFamily(instanceType string) (family string, ok bool) {
	family, size, found := strings.Cut(strings.ToLower(strings.TrimSpace(instanceType)), ".")
	if !found || !typeWord(family) || !typeWord(size) || strings.Contains(size, ".") {
		return "", false
	}
	if family[0] < 'a' || family[0] > 'z' {
		return "", false
	}
	return family, true
}

// typeWord is a non-empty run of lower-case letters, digits and hyphens.
func typeWord(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}

// CPUOfInstanceType is what an EC2 instance type says about 32-bit ARM code, read from from
// (e.g. "the launch template lt-1's version 3"): yes for Graviton 1 and 2, no for Graviton 3 and
// later, unknown for any other type or anything that is not an instance type.
func CPUOfInstanceType(instanceType, from string) BuilderCPU {
	c := BuilderCPU{InstanceType: strings.TrimSpace(instanceType), From: from}
	family, ok := InstanceFamily(instanceType)
	if !ok {
		c.InstanceType = ""
		if strings.TrimSpace(instanceType) == "" {
			c.Unknown = from + " names no instance type"
		} else {
			c.Unknown = from + " names " + quote(instanceType) + ", which is not an instance type (family.size)"
		}
		return c
	}
	for _, g := range gravitons {
		for _, f := range g.families {
			if f == family {
				runs := g.runs32Bit
				c.CPU, c.Runs32Bit = g.cpu, &runs
				return c
			}
		}
	}
	c.Unknown = "the instance type " + c.InstanceType + " (" + from + ") is no Graviton type this module knows"
	return c
}

// UnknownCPU is a builder CPU nothing is known about before the builder is up, and why.
func UnknownCPU(why string) BuilderCPU { return BuilderCPU{Unknown: why} }

// Says tells what the instance type says about 32-bit ARM code: the answer, and whether it
// says anything.
func (c BuilderCPU) Says() (runs32Bit, known bool) {
	if c.Runs32Bit == nil {
		return false, false
	}
	return *c.Runs32Bit, true
}

// Describe is the builder's instance type and processor as a log line says it
// ("a c7g.large (Graviton 3, Neoverse V1)"), or why they are unknown.
func (c BuilderCPU) Describe() string {
	switch {
	case c.CPU != "":
		return article(c.InstanceType) + " " + c.InstanceType + " (" + c.CPU + ")"
	case c.InstanceType != "":
		return article(c.InstanceType) + " " + c.InstanceType
	case c.Unknown != "":
		return "of an unknown instance type (" + c.Unknown + ")"
	}
	return "of an unknown instance type"
}

// article is the indefinite article of an instance type read letter by letter ("an m5.large").
func article(instanceType string) string {
	if instanceType != "" && strings.ContainsRune("aefhilmnorsx", rune(instanceType[0])) {
		return "an"
	}
	return "a"
}

// quote is s in double quotes, cut short when long (it may come from anywhere).
func quote(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	return strconv.Quote(s)
}
