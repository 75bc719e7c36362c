package retry

import "time"

// The project's retry policies, each named after what it retries; callers use these names, so
// that every retry's pace and budget is read here. The AWS API client retries with the SDK's
// standard retryer instead (internal/awsapi's DefaultRetry), and the watches of a running build
// (internal/e2c's WatchEvery and EngineProbe…) are no retries: they ask on while the build runs.

// Push is a push through the Dagger engine (a publish on this engine, or a remote build's
// publish on the builder's) that failed for a transient reason: 4 tries, 1 s, 2 s and 4 s apart.
var Push = Policy{Attempts: 4, BaseDelay: time.Second}

// Registry is one request of the registry client (internal/registry): 5 tries, 0.5 s, 1 s, 2 s
// and 4 s apart, each wait capped at 30 s should the client be given a greater base.
var Registry = Policy{Attempts: 5, BaseDelay: 500 * time.Millisecond, MaxDelay: 30 * time.Second}

// Poll is the pace of a wait for something that is not there yet (a state, an answer): it is
// asked for every Every, for at most Within.
type Poll struct {
	// Every is the pause between two asks.
	Every time.Duration
	// Within bounds the wait; 0: the caller bounds it (its own timeout).
	Within time.Duration
}

// EC2Wait is a wait for an EC2 instance to reach a state (running, stopped) or get its public
// IP, and the pace of reading its console for the SSH host keys it prints: every 5 s, for at
// most 5 minutes (the console is read for the builder's ready timeout instead).
var EC2Wait = Poll{Every: 5 * time.Second, Within: 5 * time.Minute}

// BuilderSSH is a wait for a booting builder's SSH (refused, the image's own host key, the job's
// key not yet authorised, the readiness file not yet there): every second, within the builder's
// ready timeout (internal/e2c's DefaultReadyTimeout, --ready-timeout).
var BuilderSSH = Poll{Every: time.Second}
