package benchstat

import (
	"errors"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		name string
		runs []float64
		want Summary
	}{
		{"one", []float64{2.345}, Summary{N: 1, Median: 2.35, Min: 2.35, Max: 2.35, Runs: []float64{2.35}}},
		{"odd, unsorted, order kept", []float64{3, 1, 2}, Summary{N: 3, Median: 2, Min: 1, Max: 3, Runs: []float64{3, 1, 2}}},
		{"even: mean of the middle two", []float64{4, 1, 3, 2}, Summary{N: 4, Median: 2.5, Min: 1, Max: 4, Runs: []float64{4, 1, 3, 2}}},
		{"an outlier moves min or max, not the median", []float64{10, 10.2, 9.9, 10.1, 48}, Summary{N: 5, Median: 10.1, Min: 9.9, Max: 48, Runs: []float64{10, 10.2, 9.9, 10.1, 48}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Summarize(tc.runs)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
	if _, err := Summarize(nil); !errors.Is(err, ErrNoRuns) {
		t.Errorf("no runs: %v, want ErrNoRuns", err)
	}
	for _, bad := range []float64{-1, math.NaN(), math.Inf(1)} {
		if _, err := Summarize([]float64{1, bad}); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

func TestCompare(t *testing.T) {
	for _, tc := range []struct {
		name        string
		ours, their []float64
		goal        float64
		ratio       Summary
		verdict     Verdict
		note        string
	}{
		{"met, every pair under the goal", []float64{9, 9, 9, 9, 9}, []float64{10, 10, 10, 10, 10}, 1.0,
			Summary{N: 5, Median: 0.9, Min: 0.9, Max: 0.9, Runs: []float64{0.9, 0.9, 0.9, 0.9, 0.9}}, Met, ""},
		{"on the goal is met", []float64{11, 22, 33, 44, 55}, []float64{10, 20, 30, 40, 50}, 1.1,
			Summary{N: 5, Median: 1.1, Min: 1.1, Max: 1.1, Runs: []float64{1.1, 1.1, 1.1, 1.1, 1.1}}, Met, ""},
		{"not met", []float64{3, 3, 3, 3, 3}, []float64{1, 1, 1, 1, 1}, 1.0,
			Summary{N: 5, Median: 3, Min: 3, Max: 3, Runs: []float64{3, 3, 3, 3, 3}}, NotMet, ""},
		// pair ratios, not a ratio of medians: a machine twice as slow in the last pairs moves both
		{"pairs follow a drifting machine", []float64{1, 1, 1, 2, 2}, []float64{2, 2, 2, 4, 4}, 1.0,
			Summary{N: 5, Median: 0.5, Min: 0.5, Max: 0.5, Runs: []float64{0.5, 0.5, 0.5, 0.5, 0.5}}, Met, ""},
		{"met, but some pairs missed it", []float64{9, 9, 9, 12, 12}, []float64{10, 10, 10, 10, 10}, 1.0,
			Summary{N: 5, Median: 0.9, Min: 0.9, Max: 1.2, Runs: []float64{0.9, 0.9, 0.9, 1.2, 1.2}}, Met, "the spread crosses the goal"},
		{"one run says little", []float64{12}, []float64{10}, 1.1,
			Summary{N: 1, Median: 1.2, Min: 1.2, Max: 1.2, Runs: []float64{1.2}}, NotMet, "1 of the 5 runs the rule asks"},
		{"both qualifiers", []float64{9, 12}, []float64{10, 10}, 1.0,
			Summary{N: 2, Median: 1.05, Min: 0.9, Max: 1.2, Runs: []float64{0.9, 1.2}}, NotMet, "the spread crosses the goal; 2 of the 5 runs the rule asks"},
		// judged unrounded: a median printed as the goal may still be over it
		{"over the goal by less than the rounding", []float64{1.153, 1.153, 1.153, 1.153, 1.153}, []float64{1, 1, 1, 1, 1}, 1.15,
			Summary{N: 5, Median: 1.15, Min: 1.15, Max: 1.15, Runs: []float64{1.15, 1.15, 1.15, 1.15, 1.15}}, NotMet, ""},
		{"no goal, no verdict", []float64{20}, []float64{10}, 0,
			Summary{N: 1, Median: 2, Min: 2, Max: 2, Runs: []float64{2}}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Compare(tc.ours, tc.their, tc.goal)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.ratio, c.Ratio); d != "" {
				t.Errorf("ratio (-want +got)\n%s", d)
			}
			if c.Verdict != tc.verdict || c.Note != tc.note {
				t.Errorf("verdict %q, note %q; want %q, %q", c.Verdict, c.Note, tc.verdict, tc.note)
			}
			if c.Ours.N != len(tc.ours) || c.Theirs.N != len(tc.their) || c.Goal != tc.goal {
				t.Errorf("sides %d/%d runs, goal %v", c.Ours.N, c.Theirs.N, c.Goal)
			}
		})
	}
	for name, tc := range map[string][2][]float64{
		"unpaired":        {{1, 2}, {1}},
		"no runs":         {nil, nil},
		"theirs took 0 s": {{1}, {0}},
	} {
		if _, err := Compare(tc[0], tc[1], 1); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestJudgeWithoutRuns(t *testing.T) {
	if v, _ := judge(nil, 1); v != NotMeasured {
		t.Errorf("verdict %q, want %q", v, NotMeasured)
	}
}
