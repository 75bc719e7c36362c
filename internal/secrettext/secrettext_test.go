package secrettext

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestText(t *testing.T) {
	text := Text{Plain(""), Plain("A=1\n"), Plain("B="), Secret("s3cr3t"), Plain(""), Plain("\n"), Plain("C=2\n"), Secret(""), Secret("x")}
	if got, want := text.String(), "A=1\nB=s3cr3t\nC=2\nx"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if got, want := text.Redacted("[secret]"), "A=1\nB=[secret]\nC=2\n[secret][secret]"; got != want {
		t.Errorf("Redacted = %q, want %q", got, want)
	}
	want := Text{Plain("A=1\nB="), Secret("s3cr3t"), Plain("\nC=2\n"), Secret(""), Secret("x")}
	if diff := cmp.Diff(want, text.Compact()); diff != "" {
		t.Errorf("Compact (-want +got):\n%s", diff)
	}
	if got := text.Compact().String(); got != text.String() {
		t.Errorf("Compact changed the text: %q, want %q", got, text.String())
	}
	if n := text.Secrets(); n != 3 {
		t.Errorf("Secrets = %d, want 3", n)
	}
	if got := (Text{}).Compact(); len(got) != 0 {
		t.Errorf("Compact of nothing = %v", got)
	}
}
