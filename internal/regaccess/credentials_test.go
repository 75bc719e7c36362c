package regaccess_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"shipyard/internal/regaccess"
)

func TestCredentials(t *testing.T) {
	type cred = regaccess.Credential[string]
	tests := []struct {
		name             string
		addresses, users []string
		secrets          []string
		want             []cred
		err              string
	}{
		{name: "none"},
		{name: "matched by index",
			addresses: []string{"registry.example.com", "ghcr.io/acme"}, users: []string{"ci", "bot"}, secrets: []string{"s1", "s2"},
			want: []cred{{"registry.example.com", "ci", "s1"}, {"ghcr.io/acme", "bot", "s2"}}},
		{name: "an entry without an address or a secret serves nothing",
			addresses: []string{"", "r.io", "q.io"}, users: []string{"a", "b", "c"}, secrets: []string{"s1", "", "s3"},
			want: []cred{{"q.io", "c", "s3"}}},
		{name: "a user missing",
			addresses: []string{"r.io", "q.io"}, users: []string{"a"}, secrets: []string{"s1", "s2"},
			err: "2 addresses, 1 users and 2 secrets"},
		{name: "a secret missing",
			addresses: []string{"r.io"}, users: []string{"a"}, secrets: nil,
			err: "1 addresses, 1 users and 0 secrets"},
		{name: "a secret too many",
			addresses: nil, users: nil, secrets: []string{"s1"},
			err: "0 addresses, 0 users and 1 secrets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := regaccess.Credentials(tt.addresses, tt.users, tt.secrets)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Credentials (-want +got):\n%s", diff)
			}
		})
	}
}
