// Command tcpforward relays every TCP connection accepted on one address to another.
//
// hack/remote-engine uses it to make the host registry (bound to 127.0.0.1, which a network
// namespace cannot reach) answer on the host side of the remote engine's veth (10.99.0.1:5000):
// one registry process and one storage directory serve both engines, so nothing has to share a
// storage directory between two registry processes.
//
//	tcpforward -listen 10.99.0.1:5000 -to 127.0.0.1:5000
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"time"
)

func main() {
	listen := flag.String("listen", "", "address to accept connections on (host:port)")
	to := flag.String("to", "", "address to relay each connection to (host:port)")
	flag.Parse()
	if *listen == "" || *to == "" {
		fmt.Fprintln(os.Stderr, "usage: tcpforward -listen HOST:PORT -to HOST:PORT")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("listening on %s: %v (is the address configured and free? ip -br addr; ss -ltnp)", *listen, err)
	}
	log.Printf("relaying %s to %s", *listen, *to)
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			log.Fatalf("accepting on %s: %v", *listen, err)
		}
		go relay(c, *to)
	}
}

// relay copies both directions between the accepted connection and a new one to the target,
// passing half-closes on so that either side can finish sending first.
func relay(c net.Conn, to string) {
	defer c.Close()
	u, err := net.DialTimeout("tcp", to, 10*time.Second)
	if err != nil {
		log.Printf("relaying %s: dialing %s: %v (is the target up?)", c.RemoteAddr(), to, err)
		return
	}
	defer u.Close()
	errs := make(chan error, 2)
	go pipe(u, c, errs)
	go pipe(c, u, errs)
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			// a reset or broken side: end both directions now instead of waiting for the other.
			return
		}
	}
}

// pipe copies src to dst until EOF, then half-closes dst for writing.
func pipe(dst, src net.Conn, errs chan<- error) {
	_, err := io.Copy(dst, src)
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	errs <- err
}
