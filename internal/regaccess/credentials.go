package regaccess

import "fmt"

// Credential is the user and secret of the repositories under Address (a registry host or an
// image prefix, as Prefix normalises it). S is the secret's type, which this package never reads
// (the module's *dagger.Secret).
type Credential[S comparable] struct {
	Address, User string
	Secret        S
}

// Credentials reads the registry credentials the module keeps as three lists matched by index
// (its object's fields can hold lists of plain values only): entry i is addresses[i], users[i]
// and secrets[i]. Lists of different lengths are an error. An entry without an address or a
// secret (S's zero value) serves no repository and is left out.
func Credentials[S comparable](addresses, users []string, secrets []S) ([]Credential[S], error) {
	if len(users) != len(addresses) || len(secrets) != len(addresses) {
		return nil, fmt.Errorf("the registry credentials do not line up: %d addresses, %d users and %d secrets, where each address needs one user and one secret", len(addresses), len(users), len(secrets))
	}
	var none S
	out := make([]Credential[S], 0, len(addresses))
	for i, a := range addresses {
		if a == "" || secrets[i] == none {
			continue
		}
		out = append(out, Credential[S]{Address: a, User: users[i], Secret: secrets[i]})
	}
	return out, nil
}
