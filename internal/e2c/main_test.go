//go:build full

package e2c

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"shipyard/internal/testenv"
)

const (
	testRegion = "eu-north-1"
	testKeyID  = "testing"
	testSecret = "testing-secret"
)

// motoURL is the endpoint of the moto_server the tests use.
var motoURL string

// TestMain starts a moto_server on a free port (unless E2C_MOTO_URL names
// one), runs the tests and stops it; in the helper process of
// TestSetupSIGTERM it runs that helper instead.
func TestMain(m *testing.M) {
	if os.Getenv(helperConfigEnv) != "" {
		os.Exit(helperSetup()) // the child process of TestSetupSIGTERM
	}
	os.Exit(runWithMoto(m))
}

func runWithMoto(m *testing.M) int {
	if u := os.Getenv("E2C_MOTO_URL"); u != "" {
		motoURL = u
		return m.Run()
	}
	port, err := freePort()
	if err != nil {
		fmt.Fprintln(os.Stderr, "finding a free port for moto_server:", err)
		return 1
	}
	logf, err := os.CreateTemp("", "moto-*.log")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.Remove(logf.Name())
	cmd, err := testenv.MotoCommand("127.0.0.1", strconv.Itoa(port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2c tests need moto_server (a fake EC2 API), or E2C_MOTO_URL naming a running one:", err)
		return 1
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "starting moto_server:", err)
		return 1
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := waitListening(addr, 60*time.Second); err != nil {
		log, _ := os.ReadFile(logf.Name())
		fmt.Fprintf(os.Stderr, "moto_server did not listen on %s: %v\n%s", addr, err, log)
		return 1
	}
	motoURL = "http://" + addr
	// Children started by the SIGTERM test reuse this server.
	os.Setenv("E2C_MOTO_URL", motoURL)
	return m.Run()
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitListening polls addr until it accepts TCP connections.
func waitListening(addr string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
