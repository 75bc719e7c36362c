// Command api serves goapp's hit counter over HTTP, keeping the counts in Redis.
//
//	REDIS_ADDR=redis:6379 REDIS_PASSWORD=… api -addr :8080
//
// Without REDIS_ADDR the counts are kept in memory (lost on restart).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"example.test/goapp/internal/hits"
	"example.test/goapp/internal/resp"
)

// version is set at build time (-ldflags "-X main.version=…").
var version = "dev"

func main() {
	addr := flag.String("addr", ":8080", "address to listen on")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println("api", version)
		return
	}
	var store hits.Store = &hits.Memory{}
	if ra := os.Getenv("REDIS_ADDR"); ra != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := resp.Dial(ctx, ra, os.Getenv("REDIS_PASSWORD"))
		cancel()
		if err != nil {
			log.Fatal(err)
		}
		store = &hits.Redis{Client: c, Prefix: "hits:"}
	} else {
		log.Print("REDIS_ADDR is not set: counting in memory")
	}
	log.Printf("api %s listening on %s", version, *addr)
	srv := &http.Server{Addr: *addr, Handler: hits.Handler(store), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
