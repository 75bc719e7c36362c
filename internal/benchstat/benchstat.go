// Package benchstat decides what bench/run's repeated measurements say: the median and spread of
// one row's runs, the ratio of two ways of doing the same work measured side by side, and whether
// that ratio meets its goal.
//
// A comparison pairs run i of one side with run i of the other (measured one right after the
// other in the same bench/run) and summarises the ratios pair by pair: on a shared machine whose
// speed drifts, both halves of a pair move together, so the ratio of a pair is steadier than the
// ratio of two medians taken minutes apart.
package benchstat

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// MinRuns is how many runs a row needs before its median says something (issue #32, part 3).
const MinRuns = 5

// Summary is the median and spread of repeated runs, in the order they ran.
type Summary struct {
	N      int       `json:"n"`
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Runs   []float64 `json:"runs"`
}

// ErrNoRuns is returned for a row without a single run.
var ErrNoRuns = errors.New("no runs")

// Summarize returns the median, min and max of the runs (the mean of the middle two for an even
// count), rounded to hundredths.
func Summarize(runs []float64) (Summary, error) {
	if len(runs) == 0 {
		return Summary{}, ErrNoRuns
	}
	for i, v := range runs {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return Summary{}, fmt.Errorf("run %d: %v is not a time", i+1, v)
		}
	}
	s := slices.Clone(runs)
	slices.Sort(s)
	n := len(s)
	med := median(s)
	r := make([]float64, n)
	for i, v := range runs {
		r[i] = round(v)
	}
	return Summary{N: n, Median: round(med), Min: round(s[0]), Max: round(s[n-1]), Runs: r}, nil
}

// Verdict says whether a ratio meets its goal (a ratio at most the goal).
type Verdict string

const (
	Met         Verdict = "met"
	NotMet      Verdict = "not met"
	NotMeasured Verdict = "not measured"
)

// Comparison is one row of "ours against theirs": both sides' times and their ratio pair by pair.
type Comparison struct {
	Ours   Summary `json:"ours"`
	Theirs Summary `json:"theirs"`
	// Ratio is ours/theirs, one value per pair
	Ratio Summary `json:"ratio"`
	// Goal is the highest ratio that meets the goal; 0 when the row has none
	Goal    float64 `json:"goal,omitempty"`
	Verdict Verdict `json:"verdict,omitempty"`
	// Note qualifies the verdict: the spread crosses the goal, or there are fewer runs than MinRuns
	Note string `json:"note,omitempty"`
}

// Compare pairs ours[i] with theirs[i] and judges the median of the pair ratios against the goal
// (no verdict when goal is 0).
func Compare(ours, theirs []float64, goal float64) (Comparison, error) {
	if len(ours) != len(theirs) {
		return Comparison{}, fmt.Errorf("%d runs against %d: a comparison needs pairs", len(ours), len(theirs))
	}
	o, err := Summarize(ours)
	if err != nil {
		return Comparison{}, fmt.Errorf("ours: %w", err)
	}
	t, err := Summarize(theirs)
	if err != nil {
		return Comparison{}, fmt.Errorf("theirs: %w", err)
	}
	ratios := make([]float64, len(ours))
	for i := range ours {
		if theirs[i] == 0 {
			return Comparison{}, fmt.Errorf("pair %d: theirs took 0 s, no ratio", i+1)
		}
		ratios[i] = ours[i] / theirs[i]
	}
	r, err := Summarize(ratios)
	if err != nil {
		return Comparison{}, err
	}
	c := Comparison{Ours: o, Theirs: t, Ratio: r, Goal: goal}
	c.Verdict, c.Note = judge(ratios, goal)
	return c, nil
}

// judge returns the verdict of the ratios' median against the goal, on the unrounded values, and
// what qualifies it: a spread that crosses the goal (some pairs on the other side of it), or fewer
// runs than MinRuns.
func judge(ratios []float64, goal float64) (Verdict, string) {
	if goal <= 0 {
		return "", ""
	}
	n := len(ratios)
	if n == 0 {
		return NotMeasured, ""
	}
	s := slices.Clone(ratios)
	slices.Sort(s)
	med := median(s)
	v := NotMet
	if med <= goal {
		v = Met
	}
	var note string
	if s[0] <= goal && s[n-1] > goal {
		note = "the spread crosses the goal"
	}
	if n < MinRuns {
		few := fmt.Sprintf("%d of the %d runs the rule asks", n, MinRuns)
		if note != "" {
			note += "; " + few
		} else {
			note = few
		}
	}
	return v, note
}

// median of sorted values: the middle one, or the mean of the middle two
func median(s []float64) float64 {
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

func round(v float64) float64 { return math.Round(v*100) / 100 }

// Record is a comparison as one run of bench/out/results.json, the shape bench/table reads:
// "seconds" is our median, as in the rows that time one side.
type Record struct {
	Name    string  `json:"name"`
	Label   string  `json:"label,omitempty"`
	Exit    int     `json:"exit"`
	N       int     `json:"n"`
	Seconds float64 `json:"seconds"`
	Comparison
}

// NewRecord returns the results record of a comparison.
func NewRecord(name, label string, c Comparison) Record {
	return Record{Name: name, Label: label, N: c.Ours.N, Seconds: c.Ours.Median, Comparison: c}
}
