// Command stat is what bench/run asks internal/benchstat: it prints one results.json record.
//
//	stat compare -name NAME -label LABEL [-goal RATIO] -ours "S S ..." -theirs "S S ..."
//
// The record holds both sides' median, spread and runs, the ratio ours/theirs pair by pair, the
// goal and the verdict; "seconds" is our median, as in the other rows.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"shipyard/internal/benchstat"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench/stat:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	if len(args) == 0 || args[0] != "compare" {
		return fmt.Errorf("usage: stat compare -name NAME -label LABEL [-goal RATIO] -ours \"S ...\" -theirs \"S ...\"")
	}
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	name := fs.String("name", "", "the record's name")
	label := fs.String("label", "", "what the row measures")
	goal := fs.Float64("goal", 0, "the highest ratio ours/theirs that meets the goal (0: none)")
	ours := fs.String("ours", "", "our times in seconds, in the order they ran")
	theirs := fs.String("theirs", "", "their times in seconds, in the same order")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	o, err := floats(*ours)
	if err != nil {
		return fmt.Errorf("-ours: %w", err)
	}
	t, err := floats(*theirs)
	if err != nil {
		return fmt.Errorf("-theirs: %w", err)
	}
	c, err := benchstat.Compare(o, t, *goal)
	if err != nil {
		return fmt.Errorf("%s: %w", *name, err)
	}
	return json.NewEncoder(os.Stdout).Encode(benchstat.NewRecord(*name, *label, c))
}

func floats(s string) ([]float64, error) {
	var v []float64
	for _, f := range strings.Fields(s) {
		x, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil, err
		}
		v = append(v, x)
	}
	return v, nil
}
