// Package awsapi is the small AWS client the module needs: the EC2 actions of the ARM builder's
// lifecycle, spoken as AWS's query protocol over net/http, on aws-sdk-go-v2's small packages for
// everything that is security or policy: Signature Version 4 (aws/signer/v4), the credential
// providers (credentials for static keys, credentials/stscreds with service/sts for a web
// identity, cached and renewed before the session ends) and the standard retryer (aws/retry).
//
// It does not import the SDK's service/ec2: that package alone is about 20 MB of Go source and
// took about 100 s of the module's first (cold) load on 2 cores, while the module uses a handful
// of its hundreds of actions. service/ec2 stays a test-only dependency: the tests drive moto with
// it.
//
// Errors are *APIError (code, message, request id, HTTP status); CodeOf reads the code.
// Throttling, AWS's internal failures and broken connections are retried (Retryable says what),
// a signature refused for clock skew is made again with the server's time, and an answer of
// expired credentials fetches new ones once. Secrets (the secret access key, the session token,
// a web identity token) never appear in an error.
package awsapi
