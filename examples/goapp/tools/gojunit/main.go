// Command gojunit runs `go test -json` and writes its results as a JUnit XML report, for CI
// systems that read JUnit. It prints the tests' output as `go test -v` would, then one summary
// line, and exits with go test's status (1 when a test failed).
//
//	gojunit -o /tmp/junit.xml [go test flags] [packages]
package main

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	ImportPath string
	Test       string
	Elapsed    float64
	Output     string
}

type testCase struct {
	XMLName   xml.Name `xml:"testcase"`
	Classname string   `xml:"classname,attr"`
	Name      string   `xml:"name,attr"`
	Time      string   `xml:"time,attr"`
	Failure   *failure `xml:"failure,omitempty"`
	Skipped   *skipped `xml:"skipped,omitempty"`
	output    string   // the test's output, for a failure's text
}

type failure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

type skipped struct {
	Message string `xml:"message,attr"`
}

type suite struct {
	XMLName  xml.Name    `xml:"testsuite"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []*testCase `xml:"testcase"`
}

type suites struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []*suite `xml:"testsuite"`
}

// report collects the events of a run.
type report struct {
	suites map[string]*suite
	cases  map[string]*testCase // package + "\x00" + test
	pkgOut map[string]*strings.Builder
}

func newReport() *report {
	return &report{suites: map[string]*suite{}, cases: map[string]*testCase{}, pkgOut: map[string]*strings.Builder{}}
}

func (r *report) suite(pkg string) *suite {
	s := r.suites[pkg]
	if s == nil {
		s = &suite{Name: pkg}
		r.suites[pkg] = s
		r.pkgOut[pkg] = &strings.Builder{}
	}
	return s
}

func seconds(f float64) string { return fmt.Sprintf("%.3f", f) }

func (r *report) add(e event) {
	pkg := e.Package
	if pkg == "" {
		pkg = e.ImportPath
	}
	if pkg == "" {
		return
	}
	s := r.suite(pkg)
	if e.Test == "" {
		switch e.Action {
		case "output", "build-output":
			r.pkgOut[pkg].WriteString(e.Output)
		case "pass", "skip":
			s.Time = seconds(e.Elapsed)
		case "fail", "build-fail":
			s.Time = seconds(e.Elapsed)
			// A package that fails without a failing test (a build error, a panic, TestMain):
			// one test case carrying the package's output, so the report shows the failure.
			failed := false
			for _, c := range s.Cases {
				failed = failed || c.Failure != nil
			}
			if !failed {
				c := &testCase{Classname: pkg, Name: "(package)", Time: s.Time,
					Failure: &failure{Message: "package failed", Text: r.pkgOut[pkg].String()}}
				s.Cases = append(s.Cases, c)
			}
		}
		return
	}
	key := pkg + "\x00" + e.Test
	c := r.cases[key]
	if c == nil {
		c = &testCase{Classname: pkg, Name: e.Test}
		r.cases[key] = c
		s.Cases = append(s.Cases, c)
	}
	switch e.Action {
	case "output":
		c.output += e.Output
	case "pass":
		c.Time = seconds(e.Elapsed)
	case "fail":
		c.Time = seconds(e.Elapsed)
		c.Failure = &failure{Message: "failed", Text: c.output}
	case "skip":
		c.Time = seconds(e.Elapsed)
		c.Skipped = &skipped{Message: skipReason(c.output)}
	}
}

// skipReason is the last line a skipped test logged (what it passed to t.Skip).
func skipReason(output string) string {
	reason := "skipped"
	for _, l := range strings.Split(output, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "=== ") && !strings.HasPrefix(l, "--- ") {
			reason = l
		}
	}
	return reason
}

func (r *report) result() *suites {
	out := &suites{}
	names := make([]string, 0, len(r.suites))
	for n := range r.suites {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := r.suites[n]
		for _, c := range s.Cases {
			if c.Time == "" {
				c.Time = "0.000"
			}
			s.Tests++
			switch {
			case c.Failure != nil:
				s.Failures++
			case c.Skipped != nil:
				s.Skipped++
			}
		}
		if s.Time == "" {
			s.Time = "0.000"
		}
		if s.Tests == 0 {
			continue // a package without tests
		}
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Skipped += s.Skipped
		out.Suites = append(out.Suites, s)
	}
	return out
}

// read reads go test's JSON stream, echoing the output to w.
func (r *report) read(in io.Reader, w io.Writer) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1024*1024), 64*1024*1024)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// not an event (go test prints some errors as plain text)
			fmt.Fprintln(w, sc.Text())
			continue
		}
		if e.Output != "" {
			io.WriteString(w, e.Output)
		}
		r.add(e)
	}
	return sc.Err()
}

func main() {
	// gojunit's own flag comes first; everything after it goes to go test.
	out, args := "junit.xml", os.Args[1:]
	switch {
	case len(args) > 1 && args[0] == "-o":
		out, args = args[1], args[2:]
	case len(args) > 0 && strings.HasPrefix(args[0], "-o="):
		out, args = strings.TrimPrefix(args[0], "-o="), args[1:]
	}
	testArgs := args
	cmd := exec.Command("go", append([]string{"test", "-json"}, testArgs...)...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		fatal(err)
	}
	if err := cmd.Start(); err != nil {
		fatal(err)
	}
	r := newReport()
	readErr := r.read(stdout, os.Stdout)
	waitErr := cmd.Wait()
	if readErr != nil {
		fatal(readErr)
	}
	res := r.result()
	data, err := xml.MarshalIndent(res, "", "  ")
	if err != nil {
		fatal(err)
	}
	if err := os.WriteFile(out, append([]byte(xml.Header), append(data, '\n')...), 0o644); err != nil {
		fatal(err)
	}
	fmt.Printf("gojunit: %d tests, %d passed, %d failed, %d skipped; JUnit report %s\n",
		res.Tests, res.Tests-res.Failures-res.Skipped, res.Failures, res.Skipped, out)
	var exit *exec.ExitError
	switch {
	case errors.As(waitErr, &exit):
		os.Exit(exit.ExitCode())
	case waitErr != nil:
		fatal(waitErr)
	case res.Failures > 0:
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "gojunit:", err)
	os.Exit(1)
}
