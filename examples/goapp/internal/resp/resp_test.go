package resp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeServer speaks enough RESP for the client's tests: AUTH (password "pw" when required),
// PING, INCR, GET, and ECHOARRAY (replies with a nested array); anything else is an error.
func fakeServer(t *testing.T, requirePassword bool) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var mu sync.Mutex
	values := map[string]int64{}
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				authed := !requirePassword
				for {
					v, err := read(r)
					if err != nil {
						return
					}
					args, _ := v.([]any)
					cmd := strings.ToUpper(fmt.Sprint(args[0]))
					reply := "-ERR unknown command '" + cmd + "'\r\n"
					mu.Lock()
					switch {
					case cmd == "AUTH" && len(args) == 2:
						if args[1] == "pw" {
							authed, reply = true, "+OK\r\n"
						} else {
							reply = "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
						}
					case !authed:
						reply = "-NOAUTH Authentication required.\r\n"
					case cmd == "PING":
						reply = "+PONG\r\n"
					case cmd == "INCR":
						values[args[1].(string)]++
						reply = ":" + strconv.FormatInt(values[args[1].(string)], 10) + "\r\n"
					case cmd == "GET":
						if n, ok := values[args[1].(string)]; ok {
							s := strconv.FormatInt(n, 10)
							reply = "$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n"
						} else {
							reply = "$-1\r\n"
						}
					case cmd == "ECHOARRAY":
						reply = "*3\r\n:1\r\n*2\r\n+a\r\n$0\r\n\r\n$-1\r\n"
					}
					mu.Unlock()
					if _, err := conn.Write([]byte(reply)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}

func TestCommands(t *testing.T) {
	ctx := context.Background()
	c, err := Dial(ctx, fakeServer(t, false), "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if v, err := c.Do(ctx, "PING"); err != nil || v != "PONG" {
		t.Errorf("PING = %v, %v; want PONG", v, err)
	}
	for want := int64(1); want <= 3; want++ {
		if n, err := c.Int(ctx, "INCR", "k"); err != nil || n != want {
			t.Errorf("INCR k = %d, %v; want %d", n, err, want)
		}
	}
	if n, err := c.Int(ctx, "GET", "k"); err != nil || n != 3 {
		t.Errorf("GET k = %d, %v; want 3", n, err)
	}
	if _, err := c.Int(ctx, "GET", "missing"); !errors.Is(err, ErrNil) {
		t.Errorf("GET of a missing key: err = %v, want ErrNil", err)
	}
	v, err := c.Do(ctx, "ECHOARRAY")
	if want := []any{int64(1), []any{"a", ""}, nil}; err != nil || !reflect.DeepEqual(v, want) {
		t.Errorf("nested array = %#v, %v; want %#v", v, err, want)
	}
	var e Error
	if _, err := c.Do(ctx, "FLY"); !errors.As(err, &e) || !strings.Contains(string(e), "unknown command") {
		t.Errorf("unknown command: err = %v, want an Error reply", err)
	}
}

func TestAuth(t *testing.T) {
	ctx := context.Background()
	addr := fakeServer(t, true)
	if _, err := Dial(ctx, addr, "wrong"); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Errorf("a wrong password: err = %v, want WRONGPASS", err)
	}
	c, err := Dial(ctx, addr, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(ctx, "PING"); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Errorf("PING without AUTH: err = %v, want NOAUTH", err)
	}
	c.Close()
	if c, err = Dial(ctx, addr, "pw"); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if v, err := c.Do(ctx, "PING"); err != nil || v != "PONG" {
		t.Errorf("PING after AUTH = %v, %v", v, err)
	}
}

func TestDialRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := Dial(ctx, addr, ""); err == nil || !strings.Contains(err.Error(), addr) {
		t.Errorf("dialing a closed port: err = %v, want an error naming %s", err, addr)
	}
}

// Against a real Redis server when REDIS_ADDR names one (the test stage's redis service).
func TestRealServer(t *testing.T) {
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		t.Skip("REDIS_ADDR is not set: no Redis server to test against")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr, os.Getenv("REDIS_PASSWORD"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if v, err := c.Do(ctx, "PING"); err != nil || v != "PONG" {
		t.Fatalf("PING = %v, %v", v, err)
	}
	v, err := c.Do(ctx, "INFO", "server")
	if s, _ := v.(string); err != nil || !strings.Contains(s, "redis_version:") {
		t.Errorf("INFO server = %.80q, %v; want a redis_version line", s, err)
	}
}
