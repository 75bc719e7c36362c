package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"shipyard/internal/bake"
	"shipyard/internal/plan"
)

func TestDescribe(t *testing.T) {
	i := &Images{Images: []*Image{{Target: "app", Platform: "linux/amd64"}, {Target: "app", Platform: "linux/arm64"}, {Target: "db", Platform: "linux/amd64"}}}
	if diff := cmp.Diff("app [linux/amd64], app [linux/arm64], db [linux/amd64]", i.describe()); diff != "" {
		t.Errorf("describe (-want +got):\n%s", diff)
	}
	if got := (&Images{}).describe(); got != "" {
		t.Errorf("describe of nothing built = %q", got)
	}
}

func TestEntriesAndTarget(t *testing.T) {
	app, db := &bake.Target{Name: "app"}, &bake.Target{Name: "db"}
	r := &run{in: plan.Input{Targets: []*bake.Target{app, db}}}
	entries, targets := r.entries([]plan.Build{{Target: "db", Platform: "linux/arm64"}, {Target: "app", Platform: "linux/amd64"}})
	want := []bake.Entry{{Target: db, Platform: "linux/arm64"}, {Target: app, Platform: "linux/amd64"}}
	if diff := cmp.Diff(want, entries); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]*bake.Target{app, db}, targets); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
	if r.target("db") != db {
		t.Errorf("target(db) = %+v, want the run's db", r.target("db"))
	}
	if diff := cmp.Diff(&bake.Target{Name: "cache"}, r.target("cache")); diff != "" {
		t.Errorf("target of a name the run has not (-want +got):\n%s", diff)
	}
}
