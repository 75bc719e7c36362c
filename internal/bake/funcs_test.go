package bake

import (
	"errors"
	"strings"
	"testing"
)

// TestBcryptCost checks that bcrypt() hashes at the default and at low costs, and refuses a cost
// above MaxBcryptCost at once instead of hashing for hours.
func TestBcryptCost(t *testing.T) {
	tests := []struct {
		name    string
		expr    string
		prefix  string   // the hash's "$2a$NN$" prefix when it succeeds
		wantMsg []string // parts of the error when it fails
	}{
		{name: "default cost", expr: `bcrypt("pw")`, prefix: "$2a$10$"},
		{name: "lowest cost", expr: `bcrypt("pw", 4)`, prefix: "$2a$04$"},
		{name: "below bcrypt's minimum means the default", expr: `bcrypt("pw", 1)`, prefix: "$2a$10$"},
		{name: "bcrypt's own maximum", expr: `bcrypt("pw", 31)`,
			wantMsg: []string{"bcrypt cost 31 is above the maximum of 14", "use a cost of at most 14"}},
		{name: "one above the cap", expr: `bcrypt("pw", 15)`,
			wantMsg: []string{"bcrypt cost 15 is above the maximum of 14"}},
		{name: "beyond any integer", expr: `bcrypt("pw", 1e30)`,
			wantMsg: []string{"is above the maximum of 14"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "target \"app\" {\n  args = { HASH = " + tt.expr + " }\n}\n"
			f, err := Parse("docker-bake.hcl", []byte(src), Options{})
			if tt.wantMsg != nil {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("Parse error = %v, want ErrInvalid", err)
				}
				for _, m := range append(tt.wantMsg, "docker-bake.hcl:2:") {
					if !strings.Contains(err.Error(), m) {
						t.Errorf("error %q does not contain %q", err, m)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := f.Targets["app"].Args["HASH"]; !strings.HasPrefix(got, tt.prefix) {
				t.Errorf("hash %q, want prefix %q", got, tt.prefix)
			}
		})
	}
}

func TestCheckBcryptCost(t *testing.T) {
	for cost, ok := range map[int64]bool{-1: true, 0: true, 4: true, 10: true, MaxBcryptCost: true, MaxBcryptCost + 1: false, 31: false, 1 << 62: false} {
		if err := checkBcryptCost(cost); (err == nil) != ok {
			t.Errorf("checkBcryptCost(%d) = %v, want ok %t", cost, err, ok)
		}
	}
}
