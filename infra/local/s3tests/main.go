// Command s3tests serves one local S3 origin alone, for ceph/s3-tests and other S3 judges that
// need an endpoint without the rest of the local world (see run.sh beside it).
//
//	go run ./infra/local/s3tests -addr 127.0.0.1:9000 -dir /tmp/s3 -region us-east-1
//
// It prints "listening on ADDR" once the port accepts connections and serves until
// interrupted. Requests must be SigV4-signed with the world's key pair (AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY, default test/test), as every local server requires.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/twinedge/twinedge/infra/local"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "s3tests:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	dir := flag.String("dir", "", "directory for the buckets (required; created if missing)")
	region := flag.String("region", "us-east-1", "the origin's region (the SigV4 scope it accepts)")
	verbose := flag.Bool("v", false, "log every failed request to stderr")
	flag.Parse()
	if *dir == "" || flag.NArg() > 0 {
		flag.Usage()
		return fmt.Errorf("-dir is required and no arguments are taken")
	}
	o, err := local.NewS3Origin(*dir, *region, local.Credentials())
	if err != nil {
		return err
	}
	defer o.Close()
	if *verbose {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv, err := local.Listen(*addr, o)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Println("listening on", srv.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}
