package objects

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Blobs keeps object bytes by ID. Blobs are written once, before the metadata that refers to
// them commits, and removed only after that metadata is gone, so a crash leaves at worst an
// orphan blob, never an object without its bytes. The directory store below is the default;
// an S3-compatible store can satisfy the interface too.
type Blobs interface {
	// Move takes the file at path into the store as blob id (a rename for a local store).
	Move(id, path string) error
	// Write stores b as blob id.
	Write(id string, b []byte) error
	// Copy stores a copy of blob src as blob dst.
	Copy(dst, src string) error
	// Open reads n bytes of blob id from off (n < 0: to the end).
	Open(id string, off, n int64) (io.ReadCloser, error)
	// Remove deletes blob id; a missing blob is not an error.
	Remove(id string) error
}

// DirBlobs stores blobs as files under a directory, fanned out by the ID's first two characters.
type DirBlobs struct{ dir string }

// NewDirBlobs returns a blob store in dir, creating it if needed.
func NewDirBlobs(dir string) (*DirBlobs, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("objects: blob dir: %w", err)
	}
	return &DirBlobs{dir: dir}, nil
}

func (d *DirBlobs) path(id string) string {
	if len(id) < 3 {
		return filepath.Join(d.dir, "_", id)
	}
	return filepath.Join(d.dir, id[:2], id)
}

func (d *DirBlobs) prepare(id string) (string, error) {
	p := d.path(id)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", fmt.Errorf("objects: blob %s: %w", id, err)
	}
	return p, nil
}

// Move implements Blobs by renaming; across file systems it copies.
func (d *DirBlobs) Move(id, path string) error {
	p, err := d.prepare(id)
	if err != nil {
		return err
	}
	if err := os.Rename(path, p); err == nil {
		return nil
	}
	if err := copyFile(p, path); err != nil {
		return fmt.Errorf("objects: move blob %s: %w", id, err)
	}
	_ = os.Remove(path)
	return nil
}

// Write implements Blobs.
func (d *DirBlobs) Write(id string, b []byte) error {
	p, err := d.prepare(id)
	if err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("objects: write blob %s: %w", id, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("objects: write blob %s: %w", id, err)
	}
	return nil
}

// Copy implements Blobs with a hard link, falling back to copying the bytes.
func (d *DirBlobs) Copy(dst, src string) error {
	p, err := d.prepare(dst)
	if err != nil {
		return err
	}
	if err := os.Link(d.path(src), p); err == nil {
		return nil
	}
	if err := copyFile(p, d.path(src)); err != nil {
		return fmt.Errorf("objects: copy blob %s: %w", src, err)
	}
	return nil
}

// Open implements Blobs.
func (d *DirBlobs) Open(id string, off, n int64) (io.ReadCloser, error) {
	f, err := os.Open(d.path(id))
	if err != nil {
		return nil, fmt.Errorf("objects: open blob %s: %w", id, err)
	}
	if off > 0 {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("objects: open blob %s: %w", id, err)
		}
	}
	if n < 0 {
		return f, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(f, n), f}, nil
}

// Remove implements Blobs.
func (d *DirBlobs) Remove(id string) error {
	if err := os.Remove(d.path(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("objects: remove blob %s: %w", id, err)
	}
	return nil
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}
