package server

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// LockDataDir keeps a second server off a data dir that one is already serving: both would
// clear the other's upload spool and run the same purges. bannin import and events export
// still open the store alongside a running server; SQLite serialises their writes. What
// appends stream entries (bannin import --log-group) takes the lock too: a running server's
// consumers only learn of the entries it commits itself.
func LockDataDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "serve.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("server: lock data dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("server: data dir %s is in use by another bannin serve", dir)
	}
	return f, nil
}
