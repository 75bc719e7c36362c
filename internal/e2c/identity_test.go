package e2c

import (
	"strings"
	"testing"
)

func TestWebIdentityCheck(t *testing.T) {
	valid := WebIdentity{RoleARN: "arn:aws:iam::123456789012:role/shipyard-arm-builder", Token: "eyJ.secret-token.sig", SessionName: "shipyard-41-7"}
	tests := []struct {
		name string
		edit func(*WebIdentity)
		want []string // fragments of the error, none: valid
	}{
		{"valid", func(*WebIdentity) {}, nil},
		{"role with a path", func(w *WebIdentity) { w.RoleARN = "arn:aws:iam::123456789012:role/ci/builder" }, nil},
		{"GovCloud partition", func(w *WebIdentity) { w.RoleARN = "arn:aws-us-gov:iam::123456789012:role/b" }, nil},
		{"a user, not a role", func(w *WebIdentity) { w.RoleARN = "arn:aws:iam::123456789012:user/me" }, []string{"AWS_ROLE_ARN"}},
		{"short account id", func(w *WebIdentity) { w.RoleARN = "arn:aws:iam::1234:role/b" }, []string{"not an IAM role ARN"}},
		{"no token", func(w *WebIdentity) { w.Token = "" }, []string{"id_tokens", "--web-identity-token"}},
		{"session name with a space", func(w *WebIdentity) { w.SessionName = "my job" }, []string{"session name"}},
		{"everything wrong at once", func(w *WebIdentity) { *w = WebIdentity{} }, []string{"AWS_ROLE_ARN", "id_tokens", "session name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := valid
			tt.edit(&w)
			err := w.Check()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check accepted %+v", w)
			}
			for _, f := range tt.want {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("error %q does not name %q", err, f)
				}
			}
			if w.Token != "" && strings.Contains(err.Error(), w.Token) {
				t.Errorf("error shows the token: %v", err)
			}
		})
	}
}
