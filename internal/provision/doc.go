// Package provision renders what turns a stock Debian 12 or Ubuntu 22.04+ arm64 machine into the
// ARM builder of one job: per-job SSH keys (NewJobKeys) and the POSIX shell script that installs
// them together with the pinned Dagger engine (UserData).
//
// The script is the instance's user data for the template strategy (cloud-init runs it as root at
// first boot) and the one-time setup command for the existing strategy (run it once as root). It
// installs the job's host key as sshd's only host key and authorises the client key for the SSH
// user, installs what the engine needs (apt-get only for what is missing), downloads the engine
// bundle (EngineURL, checked against EngineSHA256), writes buildctl (the dial-stdio verb Dagger's
// ssh:// runner host calls), the engine config and environment, starts the engine on
// unix:///run/dagger/engine.sock (a systemd unit, else in the background with a pid file), and
// touches ReadyFile once the engine listens. Every step is skipped or adapted when what it would
// provide is already there, so the same script runs on a real instance and on a test host.
//
// The engine bundle is a tar file (compressed or not) holding, at its top or in one directory:
//
//	dagger-engine   the engine (cmd/engine of dagger v0.19.10)   -> /usr/local/bin/dagger-engine
//	dagger-init     cmd/init                                      -> /usr/local/bin/dagger-init
//	dial-stdio      cmd/dialstdio                                 -> /usr/bin/dial-stdio
//	dnsname         cmd/dnsname (CNI plugin)                      -> /opt/cni/bin/dnsname
//	content/        optional: the engine's built-in content (the Go SDK runtime image)
//	                                                              -> /usr/local/share/dagger/content
//	engine.env      optional: NAME='value' lines for the engine's environment, such as
//	                DAGGER_GO_SDK_MANIFEST_DIGEST                 -> /etc/dagger/bundle.env
//
// A URL that is not a tar file is taken as the dagger-engine binary alone; the other pieces must
// then already be on the image. Dagger v0.19.10 publishes its engine only as a container image
// (its release archives hold the CLI alone), so there is no official bundle URL to default to:
// with an empty EngineURL the script uses the engine already installed on the image (a baked
// image) and fails, naming what is missing, when it is not. hack/provision-builder bundle makes a
// bundle from binaries built from the pinned source.
//
// At run time the variables EngineURLEnv and EngineSHA256Env, when EngineURLEnv is set, replace
// the URL and checksum the script was rendered with: the test harness uses them to take the
// engine from the local build.
package provision
