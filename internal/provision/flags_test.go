package provision

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRegistries(t *testing.T) {
	got, err := ParseRegistries([]string{"hub.example=10.0.0.1:5000", "ghcr.example=m1.example,m2.example", "hub.example=m3.example"},
		[]string{"10.0.0.1:5000", "hub.example"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Registry{
		{Host: "hub.example", Mirrors: []string{"10.0.0.1:5000", "m3.example"}, HTTP: true, Insecure: true},
		{Host: "ghcr.example", Mirrors: []string{"m1.example", "m2.example"}},
		{Host: "10.0.0.1:5000", HTTP: true, Insecure: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("registries (-want +got):\n%s", diff)
	}
	_, err = ParseRegistries([]string{"nomirror", "=x", "h="}, nil)
	for _, bad := range []string{`"nomirror"`, `"=x"`, `"h="`} {
		if err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseRegistries error %v does not name %s", err, bad)
		}
	}
}

func TestParseEnv(t *testing.T) {
	got, err := ParseEnv([]string{"HTTPS_PROXY=http://proxy:3128", "EMPTY=", "A=b=c"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"HTTPS_PROXY": "http://proxy:3128", "EMPTY": "", "A": "b=c"}, got); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	if env, err := ParseEnv(nil); env != nil || err != nil {
		t.Errorf("ParseEnv(nil) = %v, %v", env, err)
	}
	if _, err := ParseEnv([]string{"NOVALUE"}); err == nil || !strings.Contains(err.Error(), "NOVALUE") {
		t.Errorf("ParseEnv(NOVALUE) = %v, want an error naming it", err)
	}
}

// The owner of a long-lived builder gives the host's private key and the client's public key; the
// script renders from them alone.
func TestGivenKeys(t *testing.T) {
	k, err := NewJobKeys()
	if err != nil {
		t.Fatal(err)
	}
	given, err := GivenKeys(k.HostPrivate, k.ClientPublic+"\n")
	if err != nil {
		t.Fatal(err)
	}
	if given.HostPublic != k.HostPublic || given.ClientPublic != k.ClientPublic || given.ClientPrivate != "" {
		t.Errorf("GivenKeys = %+v, want the host public key %q and client %q, no client private key", given, k.HostPublic, k.ClientPublic)
	}
	if _, err := UserData(Options{SSHUser: "admin", Keys: given}); err != nil {
		t.Errorf("UserData with given keys: %v", err)
	}
	if _, err := GivenKeys(k.HostPublic, k.ClientPublic); err == nil {
		t.Error("GivenKeys accepted a public key as the host's private key")
	}
}
