// Package server wires bannin together: the store, identities, the services and the
// gateway in front of them. cmd/bannin and internal/testenv both build servers with it.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/bannin/bannin/internal/alarm"
	"github.com/bannin/bannin/internal/bus"
	"github.com/bannin/bannin/internal/compliance"
	"github.com/bannin/bannin/internal/gateway"
	"github.com/bannin/bannin/internal/iam"
	cwlogs "github.com/bannin/bannin/internal/logs"
	"github.com/bannin/bannin/internal/notify"
	"github.com/bannin/bannin/internal/objects"
	"github.com/bannin/bannin/internal/runbook"
	"github.com/bannin/bannin/internal/store"
	"github.com/bannin/bannin/internal/store/sqlite"
	"github.com/bannin/bannin/internal/trail"
)

// Config is how a server is set up; cmd/bannin fills it from flags and the environment.
type Config struct {
	Addr    string
	DataDir string
	Region  string
	Account string
	// Dev accepts any well-formed SigV4 credentials as the default account's root.
	Dev bool
	// EventRetention is how long event history is kept (default 90 days).
	EventRetention time.Duration
	// URL is the server's address as clients and subscribers reach it (SNS confirmation
	// links); default http:// + Addr.
	URL string
	// SMTPURL is the mail server SNS email subscriptions are delivered through:
	// smtp://[user:pass@]host:port or smtps://...
	SMTPURL string
	// SMTPTLS configures TLS to the mail server (nil: the system's trusted certificates).
	SMTPTLS *tls.Config
	// HTTPClient makes bannin's outgoing HTTP calls (SNS http/https subscriptions,
	// EventBridge API destinations); default http.DefaultClient.
	HTTPClient *http.Client
	// RootAccessKeyID and RootSecretAccessKey seed the root key at first start.
	RootAccessKeyID, RootSecretAccessKey string
	Logger                               *slog.Logger
	Clock                                func() time.Time
}

// Server is a running bannin.
type Server struct {
	cfg   Config
	Store *sqlite.Store
	Keys  *iam.Keyring
	// RootKey is the default account's root key; RootKeyCreated is true on first start.
	RootKey        iam.Key
	RootKeyCreated bool
	trail          *trail.Service
	lock           *os.File
	objects        *objects.Service
	logs           *cwlogs.Service
	notify         *notify.Service
	bus            *bus.Service
	runbook        *runbook.Service
	config         *compliance.Service
	cloudwatch     *alarm.Service
	gateway        *gateway.Gateway
	// parts are the services, checked for background work (see background).
	parts   []any
	handler http.Handler
}

// New opens the data dir and builds every part. Close releases them.
func New(cfg Config) (*Server, error) {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Account == "" {
		cfg.Account = "000000000000"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("server: data dir: %w", err)
	}
	lock, err := LockDataDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	key, created, err := iam.LoadRoot(cfg.DataDir, cfg.Account, cfg.RootAccessKeyID, cfg.RootSecretAccessKey)
	if err != nil {
		lock.Close()
		return nil, err
	}
	st, err := sqlite.Open(cfg.DataDir, sqlite.Options{Now: cfg.Clock})
	if err != nil {
		lock.Close()
		return nil, err
	}
	keys := iam.NewKeyring(key)
	keys.Dev, keys.DevAccount = cfg.Dev, cfg.Account
	s := &Server{cfg: cfg, Store: st, lock: lock, Keys: keys, RootKey: key, RootKeyCreated: created,
		trail: trail.New(trail.Options{Retention: cfg.EventRetention, Clock: cfg.Clock, Store: st})}
	// Uploads a crash interrupted are never completed: start with an empty spool.
	spool := filepath.Join(cfg.DataDir, "spool")
	if err := os.RemoveAll(spool); err != nil {
		st.Close()
		lock.Close()
		return nil, fmt.Errorf("server: clear spool: %w", err)
	}
	objs, err := objects.New(objects.Options{Dir: filepath.Join(cfg.DataDir, "objects"), Clock: cfg.Clock, Store: st})
	if err != nil {
		st.Close()
		lock.Close()
		return nil, err
	}
	s.objects = objs
	s.logs = cwlogs.New(cwlogs.Options{Clock: cfg.Clock})
	s.build(cfg, keys, spool)
	// Not an http.ServeMux: it cleans paths and redirects, and S3 keys may hold "//" or "../".
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_bannin/health" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintln(w, `{"status":"ok"}`)
			return
		}
		if u, ok := s.notify.Unrouted(r); ok {
			u.ServeHTTP(w, r)
			return
		}
		s.gateway.ServeHTTP(w, r)
	})
	return s, nil
}

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Store returns the server's store.
func (s *Server) Storage() store.Store { return s.Store }

// Run serves on ln until ctx is done, then shuts down gracefully: requests in flight
// finish (and so are recorded) before the store closes.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s.handler, ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 3)
	go func() { errc <- hs.Serve(ln) }()
	bg, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.Background(bg); err != nil {
			errc <- err
		}
	}()
	// Background work stops before the caller closes the store.
	defer func() { <-done }()
	defer stop()
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return hs.Shutdown(sctx)
}

// Purge enforces retention now: event history older than the retention period, event data
// stores whose deletion wait is over, and log events past their group's retention.
func (s *Server) Purge(ctx context.Context) error {
	if err := s.trail.Purge(ctx, s.Store); err != nil {
		return err
	}
	return s.logs.Purge(ctx, s.Store)
}

// purgeLoop enforces event-history retention hourly.
// The first purge waits a minute so that starting up stays quick.
func (s *Server) purgeLoop(ctx context.Context) error {
	wait := time.NewTimer(time.Minute)
	defer wait.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-wait.C:
		}
		if err := s.Purge(ctx); err != nil {
			s.cfg.Logger.Error("server: purge expired data", "err", err)
		}
		wait.Reset(time.Hour)
	}
}

// Close releases the store and the data dir.
func (s *Server) Close() error {
	err := s.Store.Close()
	s.lock.Close()
	return err
}
