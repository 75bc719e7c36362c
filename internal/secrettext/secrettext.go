// Package secrettext holds the content of a file that must hold a secret, such as a job's state
// file with its client key or a builder's provisioning script with its host key, as parts: plain
// text and secrets. A Dagger file made with Directory.withNewFile carries its content in the
// call's arguments, which the engine records (call IDs, telemetry, its cache); a file made by
// parts carries only its plain parts there, and its secrets reach it as mounted secrets
// (Query.setSecret's plaintext is never recorded). Pure: no I/O.
package secrettext

import "strings"

// Part is one piece of a text: plain, or a secret.
type Part struct {
	// Text is the piece as it is in the whole text.
	Text string
	// Secret: Text is a secret, which no call argument, log line or error may carry.
	Secret bool
}

// Text is a file's content, its parts in order.
type Text []Part

// Plain is a plain part.
func Plain(s string) Part { return Part{Text: s} }

// Secret is a secret part.
func Secret(s string) Part { return Part{Text: s, Secret: true} }

// String is the whole text, secrets included: what the file holds.
func (t Text) String() string {
	var b strings.Builder
	for _, p := range t {
		b.WriteString(p.Text)
	}
	return b.String()
}

// Redacted is the whole text with each secret part replaced by mask: what may be shown.
func (t Text) Redacted(mask string) string {
	var b strings.Builder
	for _, p := range t {
		if p.Secret {
			b.WriteString(mask)
		} else {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// Compact is t with adjacent plain parts joined and empty plain parts dropped: as few parts as
// the secrets allow (each part is a file to assemble).
func (t Text) Compact() Text {
	var out Text
	for _, p := range t {
		switch {
		case !p.Secret && p.Text == "":
		case !p.Secret && len(out) > 0 && !out[len(out)-1].Secret:
			out[len(out)-1].Text += p.Text
		default:
			out = append(out, p)
		}
	}
	return out
}

// Secrets counts the secret parts.
func (t Text) Secrets() int {
	n := 0
	for _, p := range t {
		if p.Secret {
			n++
		}
	}
	return n
}
