package sshd

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// overlay is the /etc/netns/NS directory of one host. `ip netns exec` mounts
// each of its top-level entries over the same entry of /etc, so an entry is
// always a complete copy of the real one with this host's changes.
type overlay struct {
	root string // /etc/netns/NS
	etc  string // the real /etc
}

// entryPath splits an absolute /etc path into its top-level entry and the
// path inside the overlay.
func (o overlay) entryPath(abs string) (top, dst string, err error) {
	clean := filepath.Clean(abs)
	rel, err := filepath.Rel(o.etc, clean)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") || !filepath.IsAbs(abs) {
		return "", "", fmt.Errorf("%s is not a path under %s", abs, o.etc)
	}
	top = strings.Split(rel, string(filepath.Separator))[0]
	if top == "netns" {
		return "", "", fmt.Errorf("%s: /etc/netns cannot be overlaid", abs)
	}
	return top, filepath.Join(o.root, rel), nil
}

// prepare copies the real /etc/<top> into the overlay once. skip, if not nil,
// names paths (relative to /etc/<top>) that are not copied.
func (o overlay) prepare(top string, skip func(rel string) bool) error {
	dst := filepath.Join(o.root, top)
	if _, err := os.Lstat(dst); err == nil {
		return nil
	}
	src := filepath.Join(o.etc, top)
	if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := os.MkdirAll(o.root, 0o755); err != nil {
		return fmt.Errorf("overlay: %w", err)
	}
	return copyTree(src, dst, skip)
}

// writeFile sets the content of the /etc path abs in the overlay. A file that
// exists in the real /etc keeps its mode and owner; a new one gets mode.
func (o overlay) writeFile(abs string, content []byte, mode fs.FileMode) error {
	top, dst, err := o.entryPath(abs)
	if err != nil {
		return err
	}
	if err := o.prepare(top, nil); err != nil {
		return err
	}
	if err := o.noSymlinks(dst); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("overlay: %w", err)
	}
	fi, statErr := os.Lstat(dst)
	if statErr == nil && fi.Mode()&fs.ModeSymlink != 0 {
		// A copied link may point into the real /etc or elsewhere on the
		// machine: replace the link, never write through it.
		if err := os.Remove(dst); err != nil {
			return fmt.Errorf("overlay: %w", err)
		}
		statErr = fs.ErrNotExist
	}
	created := errors.Is(statErr, fs.ErrNotExist)
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, mode)
	if err != nil {
		return fmt.Errorf("overlay: %w", err)
	}
	if created {
		if err := f.Chmod(mode); err != nil { // OpenFile applied the umask
			f.Close()
			return fmt.Errorf("overlay: %w", err)
		}
	}
	if _, err := f.Write(content); err != nil {
		f.Close()
		return fmt.Errorf("overlay: write %s: %w", dst, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("overlay: write %s: %w", dst, err)
	}
	return nil
}

// noSymlinks refuses a destination whose parent directories inside the
// overlay include a symbolic link, which could lead outside it.
func (o overlay) noSymlinks(dst string) error {
	rel, err := filepath.Rel(o.root, filepath.Dir(dst))
	if err != nil {
		return fmt.Errorf("overlay: %w", err)
	}
	p := o.root
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		if part == "." {
			continue
		}
		p = filepath.Join(p, part)
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("overlay: %w", err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("overlay: %s goes through the symbolic link %s", dst, p)
		}
	}
	return nil
}

// editFile rewrites the overlay copy of the /etc path abs with edit applied to
// its current content (empty when the file does not exist yet).
func (o overlay) editFile(abs string, mode fs.FileMode, edit func([]byte) ([]byte, error)) error {
	top, dst, err := o.entryPath(abs)
	if err != nil {
		return err
	}
	if err := o.prepare(top, nil); err != nil {
		return err
	}
	old, err := os.ReadFile(dst)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("overlay: %w", err)
	}
	content, err := edit(old)
	if err != nil {
		return fmt.Errorf("overlay: edit %s: %w", abs, err)
	}
	return o.writeFile(abs, content, mode)
}

// copyTree copies a file or directory tree keeping modes, owners and
// symbolic links; sockets, devices and FIFOs are not copied.
func copyTree(src, dst string, skip func(rel string) bool) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("copy %s: %w", path, err)
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if rel != "." && skip != nil && skip(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("copy %s: %w", path, err)
		}
		switch {
		case d.IsDir():
			if err := os.Mkdir(target, info.Mode().Perm()); err != nil {
				return fmt.Errorf("copy %s: %w", path, err)
			}
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return fmt.Errorf("copy %s: %w", path, err)
			}
			if err := os.Symlink(link, target); err != nil {
				return fmt.Errorf("copy %s: %w", path, err)
			}
		case info.Mode().IsRegular():
			if err := copyFile(path, target, info.Mode().Perm()); err != nil {
				return err
			}
		default:
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			if err := os.Lchown(target, int(st.Uid), int(st.Gid)); err != nil {
				return fmt.Errorf("copy %s: %w", path, err)
			}
		}
		if d.IsDir() || info.Mode().IsRegular() {
			// Mkdir and OpenFile apply the umask; set the exact mode.
			if err := os.Chmod(target, info.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
				return fmt.Errorf("copy %s: %w", path, err)
			}
		}
		return nil
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return nil
}
