package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"shipyard/internal/rules"
)

func TestCiContext(t *testing.T) {
	gitlab := CiContext{Ref: "main", DefaultBranch: "main", PipelineID: "7", JobID: "9"}
	for _, tt := range []struct {
		name     string
		ci       CiContext
		ref, tag string
		want     rules.Ref
	}{
		{name: "the pipeline's branch", ci: gitlab,
			want: rules.Ref{Branch: "main", DefaultBranch: "main"}},
		{name: "--ref names another branch", ci: gitlab, ref: "feat/x",
			want: rules.Ref{Branch: "feat/x", DefaultBranch: "main"}},
		{name: "--tag alone: the tag is the ref too", ci: CiContext{DefaultBranch: "main"}, tag: "1.2.3",
			want: rules.Ref{Branch: "1.2.3", Tag: "1.2.3", DefaultBranch: "main"}},
		{name: "a tag pipeline", ci: CiContext{Ref: "1.2.3", Tag: "1.2.3", DefaultBranch: "main"},
			want: rules.Ref{Branch: "1.2.3", Tag: "1.2.3", DefaultBranch: "main"}},
		{name: "a merge request", ci: CiContext{Ref: "feat/x", DefaultBranch: "main", MergeRequest: "12"},
			want: rules.Ref{Branch: "feat/x", DefaultBranch: "main", MergeRequest: true}},
		{name: "outside CI, nothing given", want: rules.Ref{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := &Shipyard{Ci: tt.ci}
			ci := m.ciContext(tt.ref, tt.tag)
			if diff := cmp.Diff(tt.want, ci.rulesRef()); diff != "" {
				t.Errorf("rules ref (-want +got):\n%s", diff)
			}
			if ci.PipelineID != tt.ci.PipelineID || ci.JobID != tt.ci.JobID {
				t.Errorf("the job's ids changed: %+v", ci)
			}
		})
	}
}

func TestUnnoted(t *testing.T) {
	r := &run{noted: map[string]bool{}}
	for _, tt := range []struct {
		notes, want []string
	}{
		{[]string{"a", "b"}, []string{"a", "b"}},
		{[]string{"b", "c"}, []string{"c"}},
		{[]string{"a", "b", "c"}, nil},
		{nil, nil},
	} {
		if diff := cmp.Diff(tt.want, r.unnoted(tt.notes)); diff != "" {
			t.Errorf("unnoted(%q) (-want +got):\n%s", tt.notes, diff)
		}
	}
}

func TestLastLines(t *testing.T) {
	for _, tt := range []struct {
		s    string
		n    int
		want string
	}{
		{"a\nb\nc\n", 2, "b\nc"},
		{"a\nb\nc", 5, "a\nb\nc"},
		{"a\nb\n\n\n", 1, "b"},
		{"", 3, ""},
	} {
		if diff := cmp.Diff(tt.want, lastLines(tt.s, tt.n)); diff != "" {
			t.Errorf("lastLines(%q, %d) (-want +got):\n%s", tt.s, tt.n, diff)
		}
	}
}
