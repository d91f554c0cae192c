package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/bannin/bannin/internal/iam"
	"github.com/bannin/bannin/internal/server"
)

// serveGCPercent is the server's GOGC unless the environment sets one.
const serveGCPercent = 400

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:4566", "address to listen on")
	dataDir := fs.String("data-dir", "./bannin-data", "where bannin keeps its data")
	region := fs.String("region", "us-east-1", "default region")
	account := fs.String("account-id", "000000000000", "the default account's id")
	dev := fs.Bool("dev", false, "accept any well-formed SigV4 credentials as the default account's root (local use only)")
	retention := fs.Duration("event-retention", 90*24*time.Hour, "how long event history is kept")
	smtpURL := fs.String("smtp-url", os.Getenv("BANNIN_SMTP_URL"), "mail server for SNS email subscriptions: smtp://[user:pass@]host:port or smtps://...")
	publicURL := fs.String("public-url", "", "the server's address as subscribers reach it, for SNS confirmation links (default http://ADDR)")
	fs.Parse(args)

	// Every call allocates its request, record and response; with Go's default GOGC=100
	// the collector took ~15-20% of the server's CPU at thousands of calls/s (BENCHMARKS.md).
	// The live heap is small (tens of MB), so a larger multiple costs little memory.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	start := time.Now()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	srv, err := server.New(server.Config{Addr: *addr, DataDir: *dataDir, Region: *region, Account: *account, Dev: *dev,
		EventRetention: *retention, Logger: log, SMTPURL: *smtpURL, URL: *publicURL,
		RootAccessKeyID: os.Getenv("BANNIN_ROOT_ACCESS_KEY_ID"), RootSecretAccessKey: os.Getenv("BANNIN_ROOT_SECRET_ACCESS_KEY")})
	if err != nil {
		return err
	}
	defer srv.Close()
	if srv.RootKeyCreated {
		fmt.Fprintf(os.Stderr, "bannin: root credentials of account %s (shown once; kept in %s):\n  export AWS_ACCESS_KEY_ID=%s\n  export AWS_SECRET_ACCESS_KEY=%s\n",
			srv.RootKey.Account, filepath.Join(*dataDir, iam.RootCredentialsFile), srv.RootKey.AccessKeyID, srv.RootKey.SecretAccessKey)
	}
	if *dev {
		log.Warn("DEV MODE: any well-formed SigV4 credentials are accepted as the root of account " + *account + "; signatures are not checked. Never expose this server.")
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// BANNIN_CPUPROFILE names a file for a CPU profile of the server from ready to stop
	// (for benchmarks: the server runs as its own process there).
	if p := os.Getenv("BANNIN_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	log.Info("bannin ready", "addr", ln.Addr().String(), "data-dir", *dataDir, "region", *region, "startup", time.Since(start).Round(time.Millisecond))
	err = srv.Run(ctx, ln)
	log.Info("bannin stopped")
	return err
}

func env(args []string) error {
	fs := flag.NewFlagSet("env", flag.ExitOnError)
	dataDir := fs.String("data-dir", "./bannin-data", "where bannin keeps its data")
	region := fs.String("region", "us-east-1", "the region to print as AWS_DEFAULT_REGION")
	fs.Parse(args)
	b, err := os.ReadFile(filepath.Join(*dataDir, iam.RootCredentialsFile))
	if err != nil {
		return fmt.Errorf("no root credentials yet (start bannin serve first): %w", err)
	}
	key, err := iam.ParseKey(b)
	if err != nil {
		return err
	}
	fmt.Printf("export AWS_ACCESS_KEY_ID=%s\nexport AWS_SECRET_ACCESS_KEY=%s\nexport AWS_DEFAULT_REGION=%s\n", key.AccessKeyID, key.SecretAccessKey, *region)
	return nil
}
