// Package awsapi is the small AWS client the module needs: the eight EC2 actions of the ARM
// builder's lifecycle and STS AssumeRoleWithWebIdentity, spoken as AWS's query protocol over
// net/http with Signature Version 4.
//
// It replaces aws-sdk-go-v2's service/ec2 in the module's build: that package alone is about
// 20 MB of Go source and took about 100 s of the module's first (cold) load on 2 cores, while the
// module uses eight of its hundreds of actions. The SDK stays a test-only dependency: the tests
// check the signatures against its signer and drive moto with it.
//
// Errors are *APIError (code, message, request id, HTTP status); CodeOf reads the code.
// Throttling and server-side failures are retried through internal/retry; everything else is
// not. Secrets (the secret access key, the session token, a web identity token) never appear in
// an error.
package awsapi
