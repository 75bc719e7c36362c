package provision

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"text/template"

	"shipyard/internal/enginever"
	"shipyard/internal/secrettext"
)

//go:embed userdata.sh.tmpl
var userDataTemplate string

// puller pulls the engine image (python3: it is there wherever cloud-init runs).
//
//go:embed pull.py
var puller string

// runner runs the engine from the image's root file system; ROOT stands for EngineRoot.
//
//go:embed shipyard-engine.sh
var runner string

var userDataTmpl = template.Must(template.New("userdata").Funcs(template.FuncMap{"q": shellQuote}).Parse(userDataTemplate))

// UserData renders the POSIX shell script that provisions the builder (see the package
// documentation): the one-time setup command of an existing instance, and what LaunchUserData
// compresses for a launched one. It validates o first and names every problem.
func UserData(o Options) (string, error) {
	t, err := UserDataText(o)
	return t.String(), err
}

// hostKeyMark stands for the host's private key while the script is rendered (checked options
// hold no NUL byte); UserDataText checks that it is in the script once.
const hostKeyMark = "\x00shipyard-host-private-key\x00"

// UserDataText is UserData's script by parts: the host's private key is its one secret part, so
// that a file made from it never carries the key in a call's arguments (secrettext).
func UserDataText(o Options) (secrettext.Text, error) {
	c, err := o.check()
	if err != nil {
		return nil, err
	}
	pem := c.HostPrivatePEM
	c.HostPrivatePEM = hostKeyMark
	var b strings.Builder
	err = userDataTmpl.Execute(&b, struct {
		checked
		Version, Socket, Ready, Group, EngineRoot, Puller, Runner string
	}{c, enginever.Version, EngineSocket, ReadyFile, EngineGroup, EngineRoot, puller, strings.ReplaceAll(runner, "ROOT/", EngineRoot+"/")})
	if err != nil {
		return nil, fmt.Errorf("rendering the builder's user data: %w", err)
	}
	before, after, ok := strings.Cut(b.String(), hostKeyMark)
	if !ok || strings.Contains(after, hostKeyMark) {
		return nil, errors.New("rendering the builder's user data: the host key's place is not in the script once")
	}
	return secrettext.Text{secrettext.Plain(before), secrettext.Secret(pem), secrettext.Plain(after)}, nil
}

// LaunchUserData is UserData compressed with gzip, as a launched instance gets it: cloud-init
// runs gzip-compressed user data as it runs the plain script, and the script is larger than the
// MaxUserData bytes EC2 takes. It fails when even the compressed script does not fit.
func LaunchUserData(o Options) ([]byte, error) {
	script, err := UserData(o)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write([]byte(script)); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if b.Len() > MaxUserData {
		return nil, fmt.Errorf("the builder's user data is %d bytes compressed, EC2 takes at most %d: use fewer registries or environment variables", b.Len(), MaxUserData)
	}
	return b.Bytes(), nil
}

// shellQuote quotes s for sh: 'it'\”s'.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
