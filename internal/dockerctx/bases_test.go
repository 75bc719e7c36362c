package dockerctx

import (
	"slices"
	"testing"
)

func TestBaseImages(t *testing.T) {
	for _, tc := range []struct {
		name, dockerfile, target string
		args                     map[string]string
		want                     []string
	}{
		{"one stage", "FROM debian:bookworm-slim\nRUN true\n", "", nil, []string{"debian:bookworm-slim"}},
		{"stages are not images, scratch neither, duplicates once",
			"FROM --platform=$BUILDPLATFORM node:18 AS frontend\nFROM scratch AS dist\nCOPY --from=frontend /a /b\n" +
				"FROM debian:bookworm-slim AS runtime\nCOPY --from=dist / /x\nFROM runtime AS test\nFROM debian:bookworm-slim\n",
			"", nil, []string{"node:18", "debian:bookworm-slim"}},
		{"stages after the target are not built",
			"FROM golang:1.26 AS build\nFROM debian:bookworm-slim AS runtime\nFROM busybox AS debug\n", "runtime", nil,
			[]string{"golang:1.26", "debian:bookworm-slim"}},
		{"target names are case-insensitive", "FROM a AS Build\nFROM b\n", "build", nil, []string{"a"}},
		{"COPY --from an image and a stage index", "FROM a\nFROM b\nCOPY --from=0 /x /y\nCOPY --from=alpine:3 /z /z\n", "", nil,
			[]string{"a", "b", "alpine:3"}},
		{"global ARG defaults and build args",
			"ARG BASE=debian\nARG TAG=bookworm\nFROM ${BASE}:$TAG\nARG LATE=x\nFROM ${MISSING:-busybox}\n", "",
			map[string]string{"TAG": "trixie"}, []string{"debian:trixie", "busybox"}},
		{"quoted default", "ARG IMG=\"alpine:3\"\nFROM $IMG\n", "", nil, []string{"alpine:3"}},
		{"an unknown variable is kept as written", "FROM $NOPE\n", "", nil, []string{"$NOPE"}},
		{"continuation lines and comments", "FROM \\\n  # comment\n  debian:bookworm AS x\n", "", nil, []string{"debian:bookworm"}},
		{"no FROM", "# nothing\n", "", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := BaseImages(tc.dockerfile, tc.target, tc.args); !slices.Equal(got, tc.want) {
				t.Errorf("BaseImages = %q, want %q", got, tc.want)
			}
		})
	}
}
