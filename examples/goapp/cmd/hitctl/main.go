// Command hitctl is the command-line client of goapp's API.
//
//	hitctl [-url http://api:8080] hit PAGE     count a hit, print the new count
//	hitctl [-url http://api:8080] count PAGE   print the count
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
)

// version is set at build time (-ldflags "-X main.version=…").
var version = "dev"

func main() {
	url := flag.String("url", "http://localhost:8080", "the API's address")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: hitctl [-url URL] hit|count PAGE")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *showVersion {
		fmt.Println("hitctl", version)
		return
	}
	if flag.NArg() != 2 || (flag.Arg(0) != "hit" && flag.Arg(0) != "count") {
		flag.Usage()
		os.Exit(2)
	}
	method := http.MethodGet
	if flag.Arg(0) == "hit" {
		method = http.MethodPost
	}
	n, err := call(&http.Client{Timeout: 10 * time.Second}, method, strings.TrimRight(*url, "/")+"/hits/"+flag.Arg(1))
	if err != nil {
		fmt.Fprintln(os.Stderr, "hitctl:", err)
		os.Exit(1)
	}
	fmt.Println(n)
}

func call(c *http.Client, method, url string) (int64, error) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return 0, err
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s %s: %s", method, url, res.Status)
	}
	var body struct {
		Hits int64 `json:"hits"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, url, err)
	}
	return body.Hits, nil
}
