package testenv

import (
	"context"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Cloud plays the network of a fake EC2 (moto): moto hands out public IPs nothing listens on, so
// Cloud routes an instance's public IP to a test host of hack/remote-engine, as a cloud's network
// would route it to the instance. The product is not told anything: it dials the public IP it
// read from the EC2 API, and reaches the test host.
//
// ServeInstances and Map send every IP to the one test host NS/NSIP/HostIF (slot 0 of `hack/remote-engine up`);
// MapTo sends an IP to any test host (a slot CloudInit booted).
type Cloud struct {
	// NS is the network namespace of the test host, NSIP its address, HostIF the host's veth.
	NS, NSIP, HostIF string
	mu               sync.Mutex
	mapped           map[string]route
}

// route is where a public IP leads: a test host's namespace, address and the host's veth to it.
type route struct{ ns, nsIP, hostIF string }

// ServeInstances maps the public IP of every running instance moto reports, until the test ends.
func (c *Cloud) ServeInstances(t *testing.T, client *ec2.Client) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{
				{Name: aws.String("instance-state-name"), Values: []string{"pending", "running"}}}})
			if err == nil {
				for _, r := range out.Reservations {
					for _, in := range r.Instances {
						if ip := aws.ToString(in.PublicIpAddress); ip != "" {
							if err := c.Map(ip); err != nil {
								t.Logf("cloud: mapping %s: %v", ip, err)
							}
						}
					}
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(300 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		c.unmapAll()
	})
}

// Map routes ip to the test host NS/NSIP/HostIF.
func (c *Cloud) Map(ip string) error { return c.mapVia(ip, route{c.NS, c.NSIP, c.HostIF}) }

// MapTo routes ip to the test host h (its namespace must exist: hack/remote-engine prepare).
func (c *Cloud) MapTo(ip string, h TestHost) error {
	return c.mapVia(ip, route{h.NS, h.SSHHost, h.HostIF})
}

// mapVia adds a host route of ip through the test host's veth and, inside its namespace, a DNAT
// of ip to the test host's own address.
func (c *Cloud) mapVia(ip string, r route) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mapped == nil {
		c.mapped = map[string]route{}
	}
	if old, ok := c.mapped[ip]; ok {
		if old == r {
			return nil
		}
		unmap(ip, old)
		delete(c.mapped, ip)
	}
	if out, err := exec.Command("ip", "route", "replace", ip+"/32", "via", r.nsIP, "dev", r.hostIF).CombinedOutput(); err != nil {
		return fmt.Errorf("ip route replace %s via %s dev %s: %v: %s", ip, r.nsIP, r.hostIF, err, out)
	}
	rule := dnat(ip, r.nsIP)
	if err := exec.Command("ip", append([]string{"netns", "exec", r.ns, "iptables", "-w", "-t", "nat", "-C"}, rule...)...).Run(); err != nil {
		if out, err := exec.Command("ip", append([]string{"netns", "exec", r.ns, "iptables", "-w", "-t", "nat", "-A"}, rule...)...).CombinedOutput(); err != nil {
			return fmt.Errorf("DNAT %s to %s in %s: %v: %s", ip, r.nsIP, r.ns, err, out)
		}
	}
	c.mapped[ip] = r
	return nil
}

// Unmap stops routing ip (the instance is gone).
func (c *Cloud) Unmap(ip string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.mapped[ip]; ok {
		unmap(ip, r)
		delete(c.mapped, ip)
	}
}

func dnat(ip, to string) []string {
	return []string{"PREROUTING", "-d", ip + "/32", "-j", "DNAT", "--to-destination", to}
}

func unmap(ip string, r route) {
	_ = exec.Command("ip", "route", "del", ip+"/32", "via", r.nsIP).Run()
	_ = exec.Command("ip", append([]string{"netns", "exec", r.ns, "iptables", "-w", "-t", "nat", "-D"}, dnat(ip, r.nsIP)...)...).Run()
}

func (c *Cloud) unmapAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for ip, r := range c.mapped {
		unmap(ip, r)
	}
	c.mapped = map[string]route{}
}

// Mapped lists the IPs mapped now.
func (c *Cloud) Mapped() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for ip := range c.mapped {
		out = append(out, ip)
	}
	sort.Strings(out)
	return out
}

// String describes the cloud for logs.
func (c *Cloud) String() string {
	return fmt.Sprintf("cloud(ns=%s via %s, mapped %s)", c.NS, c.NSIP, strings.Join(c.Mapped(), ","))
}

// MotoEC2 is the AWS SDK's EC2 client for a moto endpoint, with moto's test credentials: the
// tests build and inspect the fake world with it (images, launch templates, instance
// attributes), apart from the product's own client (internal/awsapi).
func MotoEC2(endpoint string) *ec2.Client {
	return ec2.New(ec2.Options{
		Region:       "eu-north-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing-secret", ""),
	})
}
