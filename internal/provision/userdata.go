package provision

import (
	_ "embed"
	"fmt"
	"strings"
	"text/template"
)

//go:embed userdata.sh.tmpl
var userDataTemplate string

var userDataTmpl = template.Must(template.New("userdata").Funcs(template.FuncMap{"q": shellQuote}).Parse(userDataTemplate))

// UserData renders the POSIX shell script that provisions the builder (see the package
// documentation): the user data of a launched instance, or the one-time setup command of an
// existing one. It validates o first and names every problem.
func UserData(o Options) (string, error) {
	c, err := o.check()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	err = userDataTmpl.Execute(&b, struct {
		checked
		Version, Socket, Ready, Group string
	}{c, EngineVersion, EngineSocket, ReadyFile, EngineGroup})
	if err != nil {
		return "", fmt.Errorf("rendering the builder's user data: %w", err)
	}
	if b.Len() > MaxUserData {
		return "", fmt.Errorf("the builder's user data is %d bytes, EC2 takes at most %d: use fewer registries or environment variables", b.Len(), MaxUserData)
	}
	return b.String(), nil
}

// shellQuote quotes s for sh: 'it'\”s'.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
