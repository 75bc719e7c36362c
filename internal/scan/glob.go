package scan

import (
	"fmt"
	"path"
	"strings"
)

// validatePattern accepts the path patterns matchPath understands: path.Match's syntax within
// a segment and `**` as a whole segment for any number of segments. Brace alternatives, which
// trivy's doublestar also accepts, are refused rather than matched literally.
func validatePattern(p string) error {
	if strings.ContainsAny(p, "{}") {
		return fmt.Errorf("pattern %q has brace alternatives, which this gate does not read: write one entry per path", p)
	}
	for seg := range strings.SplitSeq(p, "/") {
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("pattern %q: %w", p, err)
		}
	}
	return nil
}

// matchPath reports whether name matches pattern, segment by segment: `**` stands for zero or
// more segments, any other segment matches as path.Match does (`*` never crosses a slash).
func matchPath(pattern, name string) bool {
	return matchSegments(strings.Split(pattern, "/"), strings.Split(name, "/"))
}

func matchSegments(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(name); i++ {
				if matchSegments(pat[1:], name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, err := path.Match(pat[0], name[0]); err != nil || !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}
