package awsapi

import "time"

// Tag is an EC2 resource tag.
type Tag struct{ Key, Value string }

// Filter is a DescribeInstances filter, e.g. {"tag:shipyard:job-id", ["42"]}.
type Filter struct {
	Name   string
	Values []string
}

// Instance is the part of an EC2 instance description the builder's lifecycle reads.
type Instance struct {
	ID string
	// Type is the instance type, e.g. c7g.large.
	Type string
	// State is the instance state name: pending, running, shutting-down, terminated, stopping, stopped.
	State string
	// StateReason is the message of the state reason ("" when EC2 gives none).
	StateReason string
	// PublicIP is the public IPv4 address ("" when it has none).
	PublicIP string
	// Lifecycle is "spot" for a spot instance, "" for on-demand.
	Lifecycle string
	SubnetID  string
	Tags      []Tag
}

// Tag returns the value of the tag key ("" when the instance has no such tag).
func (i Instance) Tag(key string) string {
	v, _ := i.LookupTag(key)
	return v
}

// LookupTag returns the value of the tag key and whether the instance has that tag at all (a tag
// may have an empty value).
func (i Instance) LookupTag(key string) (string, bool) {
	for _, t := range i.Tags {
		if t.Key == key {
			return t.Value, true
		}
	}
	return "", false
}

// StateChange is one instance's entry in the answer of Start-, Stop- or TerminateInstances.
type StateChange struct {
	ID, Previous, Current string
}

// RunInput is a RunInstances request for exactly one instance from a launch template.
type RunInput struct {
	LaunchTemplateID string
	// LaunchTemplateVersion is "" for the template's default version.
	LaunchTemplateVersion string
	// SubnetID is "" for the template's own network settings.
	SubnetID string
	// UserData is the user data as it is (the client base64-encodes it); "" for none.
	UserData string
	// Spot asks for a one-time spot instance that terminates on interruption.
	Spot bool
	// SpotMaxPrice caps the spot price (USD/h); "" means at most the on-demand price.
	SpotMaxPrice string
	// TerminateOnShutdown sets InstanceInitiatedShutdownBehavior=terminate.
	TerminateOnShutdown bool
	// Tags are put on the instance at launch (TagSpecification for resource type instance).
	Tags []Tag
	// ClientToken makes the request idempotent (a retried request launches no second instance);
	// "" lets the client make one per call.
	ClientToken string
}

// ConsoleOutput is an instance's console output as GetConsoleOutput returns it, decoded.
type ConsoleOutput struct {
	InstanceID string
	// Timestamp is when EC2 last updated the output (zero when the answer has none).
	Timestamp time.Time
	// Output is the decoded text: the newest 64 KB of the serial console, "" while the
	// instance has printed nothing EC2 has collected yet.
	Output string
}

// LaunchTemplateVersion is the part of a launch template version the builder reads before it
// launches one.
type LaunchTemplateVersion struct {
	TemplateID string
	// Number is the version number; Default tells whether it is the template's default version.
	Number  int64
	Default bool
	// InstanceType is the version's instance type ("" when it sets none).
	InstanceType string
}
