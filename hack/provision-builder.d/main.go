// Command provision-builder (run it as hack/provision-builder) writes what provisions an ARM
// builder: SSH keys, the provisioning script (internal/provision) and engine bundles.
//
//	provision-builder keys -dir DIR
//	provision-builder user-data -keys DIR -ssh-user USER [-engine-image REF | -engine-url URL [-engine-sha256 HEX]]
//	    [-mirror HOST=MIRROR[,MIRROR]]... [-insecure-registry HOST]... [-entitlement NAME]...
//	    [-env NAME=VALUE]... [-network-cidr CIDR] [-o FILE]
//	provision-builder bundle -bin DIR [-content DIR] [-env NAME=VALUE]... -o FILE[.gz]
//
// keys writes DIR/host_ed25519 (+.pub) and DIR/client_ed25519 (+.pub), or keeps them when all
// four exist. bundle packs dagger-engine, dagger-init, dial-stdio and dnsname from -bin (and the
// engine's built-in content from -content) into the bundle format the script installs, with
// fixed owners and times so the same inputs give the same file, and prints its sha256.
package main

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"shipyard/internal/enginever"
	"shipyard/internal/provision"
)

const usage = `usage:
  provision-builder keys -dir DIR
  provision-builder user-data -keys DIR -ssh-user USER [-engine-image REF | -engine-url URL [-engine-sha256 HEX]] [-mirror HOST=MIRROR[,MIRROR]]... [-insecure-registry HOST]... [-entitlement NAME]... [-env NAME=VALUE]... [-network-cidr CIDR] [-o FILE]
  provision-builder bundle -bin DIR [-content DIR] [-env NAME=VALUE]... -o FILE[.gz]`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "keys":
		err = keysCmd(os.Args[2:])
	case "user-data":
		err = userDataCmd(os.Args[2:])
	case "bundle":
		err = bundleCmd(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "provision-builder:", err)
		os.Exit(1)
	}
}

// list is a repeatable flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

var keyFiles = []string{"host_ed25519", "host_ed25519.pub", "client_ed25519", "client_ed25519.pub"}

func keysCmd(args []string) error {
	fl := flag.NewFlagSet("keys", flag.ExitOnError)
	dir := fl.String("dir", "", "directory for host_ed25519, client_ed25519 and their .pub files")
	_ = fl.Parse(args)
	if *dir == "" {
		return errors.New("keys: -dir is required")
	}
	present := 0
	for _, f := range keyFiles {
		if _, err := os.Stat(filepath.Join(*dir, f)); err == nil {
			present++
		}
	}
	switch present {
	case len(keyFiles):
		if _, err := readKeys(*dir); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "keys: kept the keys in %s\n", *dir)
		return nil
	case 0:
	default:
		return fmt.Errorf("keys: %s holds only some of %s: remove them to generate new ones", *dir, strings.Join(keyFiles, ", "))
	}
	k, err := provision.NewJobKeys()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	for name, v := range map[string]string{
		"host_ed25519": k.HostPrivate, "host_ed25519.pub": k.HostPublic + " " + provision.HostKeyComment + "\n",
		"client_ed25519": k.ClientPrivate, "client_ed25519.pub": k.ClientPublic + "\n",
	} {
		mode := os.FileMode(0o644)
		if !strings.HasSuffix(name, ".pub") {
			mode = 0o600
		}
		if err := os.WriteFile(filepath.Join(*dir, name), []byte(v), mode); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "keys: new keys in %s (host key to pin: %s)\n", *dir, k.HostPublic)
	return nil
}

// readKeys loads the four key files of dir.
func readKeys(dir string) (provision.Keys, error) {
	v := map[string]string{}
	for _, f := range keyFiles {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return provision.Keys{}, err
		}
		v[f] = string(b)
	}
	host := strings.Fields(v["host_ed25519.pub"])
	if len(host) < 2 {
		return provision.Keys{}, fmt.Errorf("%s is not a public key line", filepath.Join(dir, "host_ed25519.pub"))
	}
	return provision.Keys{
		HostPrivate: v["host_ed25519"], HostPublic: host[0] + " " + host[1],
		ClientPrivate: v["client_ed25519"], ClientPublic: strings.TrimSpace(v["client_ed25519.pub"]),
	}, nil
}

func userDataCmd(args []string) error {
	fl := flag.NewFlagSet("user-data", flag.ExitOnError)
	keysDir := fl.String("keys", "", "directory written by `provision-builder keys`")
	o := provision.Options{}
	fl.StringVar(&o.SSHUser, "ssh-user", "", "the login user the client key is authorised for (admin, ubuntu, root)")
	fl.StringVar(&o.EngineImage, "engine-image", "", "the engine image the builder runs the engine from (default "+enginever.Image+
		", pulled through the -mirror of its registry first); "+provision.NoEngineImage+": the engine is on the machine's image")
	fl.StringVar(&o.EngineURL, "engine-url", "", "an engine bundle instead of the image (https, http with -engine-sha256, or file URL), for machines without a registry")
	fl.StringVar(&o.EngineSHA256, "engine-sha256", "", "sha256 of the engine bundle")
	fl.StringVar(&o.NetworkCIDR, "network-cidr", "", "the engine's container network (default 10.87.0.0/16)")
	idle := fl.Duration("idle-shutdown", provision.DefaultIdleShutdown, "power the builder off after this long without an SSH session (a launched instance terminates); 0: never")
	var mirrors, insecure, ents, env list
	fl.Var(&mirrors, "mirror", "HOST=MIRROR[,MIRROR]: pull HOST's images through the mirrors (repeatable)")
	fl.Var(&insecure, "insecure-registry", "HOST[:PORT] spoken to over plain HTTP without TLS checks (repeatable)")
	fl.Var(&ents, "entitlement", "insecure entitlement the engine grants: network.host or security.insecure (repeatable)")
	fl.Var(&env, "env", "NAME=VALUE for the engine's environment (repeatable)")
	out := fl.String("o", "", "write the script here (mode 0600: it holds the host key) instead of to stdout")
	_ = fl.Parse(args)
	if *keysDir == "" {
		return errors.New("user-data: -keys is required (make them with `provision-builder keys -dir DIR`)")
	}
	k, err := readKeys(*keysDir)
	if err != nil {
		return err
	}
	o.Keys = k
	o.IdleShutdown = *idle
	if *idle == 0 {
		o.IdleShutdown = -1 // never
	}
	if o.Env, err = provision.ParseEnv(env); err != nil {
		return err
	}
	o.InsecureEntitlements = ents
	if o.Registries, err = provision.ParseRegistries(mirrors, insecure); err != nil {
		return err
	}
	script, err := provision.UserData(o)
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = os.Stdout.WriteString(script)
		return err
	}
	return writeFileAtomic(*out, []byte(script), 0o600)
}

// bundle members: name in the bundle, required.
var bundleBinaries = []string{"dagger-engine", "dagger-init", "dial-stdio", "dnsname"}

func bundleCmd(args []string) error {
	fl := flag.NewFlagSet("bundle", flag.ExitOnError)
	bin := fl.String("bin", "", "directory with dagger-engine, dagger-init, dial-stdio and dnsname")
	content := fl.String("content", "", "the engine's built-in content directory (the Go SDK runtime image), optional")
	var env list
	fl.Var(&env, "env", "NAME=VALUE for the bundle's engine.env, e.g. DAGGER_GO_SDK_MANIFEST_DIGEST=sha256:… (repeatable)")
	out := fl.String("o", "", "the bundle file; gzip-compressed when it ends in .gz or .tgz")
	_ = fl.Parse(args)
	if *bin == "" || *out == "" {
		return errors.New("bundle: -bin and -o are required")
	}
	vars, err := provision.ParseEnv(env)
	if err != nil {
		return err
	}
	envText, err := provision.EnvFile(vars)
	if err != nil {
		return err
	}
	tmp := *out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	sum := sha256.New()
	var w io.Writer = io.MultiWriter(f, sum)
	var gz *gzip.Writer
	if strings.HasSuffix(*out, ".gz") || strings.HasSuffix(*out, ".tgz") {
		gz = gzip.NewWriter(w)
		w = gz
	}
	tw := tar.NewWriter(w)
	for _, b := range bundleBinaries {
		if err := addFile(tw, filepath.Join(*bin, b), b, 0o755); err != nil {
			return fmt.Errorf("bundle: %w", err)
		}
	}
	if envText != "" {
		if err := addBytes(tw, "engine.env", []byte(envText), 0o644); err != nil {
			return err
		}
	}
	if *content != "" {
		if err := addTree(tw, *content, "content"); err != nil {
			return fmt.Errorf("bundle: content: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, *out); err != nil {
		return err
	}
	fmt.Println(hex.EncodeToString(sum.Sum(nil)))
	return nil
}

// epoch is the time of every bundle entry, so the bundle depends on contents only.
var epoch = time.Unix(0, 0)

func addBytes(tw *tar.Writer, name string, b []byte, mode int64) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(b)), ModTime: epoch, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return err
	}
	_, err := tw.Write(b)
	return err
}

func addFile(tw *tar.Writer, path, name string, mode int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: st.Size(), ModTime: epoch, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// addTree adds dir's files, directories and symlinks under prefix.
func addTree(tw *tar.Writer, dir, prefix string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(filepath.Join(prefix, rel))
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return tw.WriteHeader(&tar.Header{Name: name + "/", Mode: 0o755, ModTime: epoch, Typeflag: tar.TypeDir, Format: tar.FormatPAX})
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return tw.WriteHeader(&tar.Header{Name: name, Linkname: target, Mode: 0o777, ModTime: epoch, Typeflag: tar.TypeSymlink, Format: tar.FormatPAX})
		case info.Mode().IsRegular():
			return addFile(tw, path, name, int64(info.Mode().Perm()))
		default:
			return fmt.Errorf("%s is neither a file, a directory nor a symlink", path)
		}
	})
}

func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
