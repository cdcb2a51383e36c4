package ssh

import (
	"bytes"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// KnownHostsCache lets the Dials of a sweep share one read of each
// known_hosts file. lookupPlain reads the whole file for every Dial, which a
// plant-sized file (thousands of lines) makes the largest part of a Dial's
// CPU; the cache reads a plain file (see lookupPlain) once, indexes its
// lines by host, and reads it again only when the file changes: when its
// size, modification time, change time, inode or device differ from what
// was read, as after trust-on-first-use learned a host or an admin edited
// it, and also when it had changed less than 100 ms before it was read
// (file times can be as coarse as a clock tick). Answers are exactly
// lookupPlain's. Files lookupPlain does not handle
// (markers, hashed, wildcard or negated patterns, over-long lines) and hosts
// without a usable line are read per Dial by knownhosts, as without a cache.
//
// A KnownHostsCache is safe for concurrent use. Set it as Config.HostKeys of
// every Dial that should share it; nil there means no cache.
type KnownHostsCache struct {
	mu    sync.Mutex
	files map[string]*hostIndex
}

// NewKnownHostsCache returns an empty cache.
func NewKnownHostsCache() *KnownHostsCache {
	return &KnownHostsCache{files: map[string]*hostIndex{}}
}

// racyWindow: a file modified this recently when read is read again on the
// next lookup. File times come from the kernel's coarse clock, at most a
// clock tick (1-10 ms) behind time.Now; the window is ten times that.
const racyWindow = 100 * time.Millisecond

// fileID identifies one version of a file.
type fileID struct {
	size, mtime, ctime int64
	ino, dev           uint64
}

func idOf(fi os.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{size: fi.Size(), mtime: fi.ModTime().UnixNano(), ctime: st.Ctim.Nano(), ino: st.Ino, dev: uint64(st.Dev)}, true
}

// hostIndex is one version of a known_hosts file. Immutable once built.
type hostIndex struct {
	id    fileID
	data  []byte
	plain bool                 // lookupPlain's fast path applies to the whole file
	racy  bool                 // changed just before it was read: read it again next time
	lines map[string][]lineRef // host -> the lines with a pattern for it, in file order
}

// lineRef is one line of data: [start, end) and its number from 1.
type lineRef struct{ start, end, num int }

// lookup answers as lookupPlain(file, addr) does.
func (c *KnownHostsCache) lookup(file, addr string) (xssh.HostKeyCallback, []knownhosts.KnownKey, bool) {
	idx := c.index(file)
	if idx == nil || !idx.plain {
		return nil, nil, false
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return nil, nil, false
	}
	db := &plainDB{addr: addr, host: host, port: port, file: file}
	for _, l := range idx.lines[host] {
		db.add(idx.data[l.start:l.end], l.num)
	}
	return db.answer()
}

// index returns the current version of file's index, reading the file when
// it is new to the cache or has changed; nil when it cannot be read.
func (c *KnownHostsCache) index(file string) *hostIndex {
	fi, err := os.Stat(file)
	if err != nil {
		return nil
	}
	id, ok := idOf(fi)
	if !ok {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if idx := c.files[file]; idx != nil && idx.id == id && !idx.racy {
		return idx
	}
	idx := readIndex(file)
	if idx == nil {
		delete(c.files, file)
		return nil
	}
	c.files[file] = idx
	return idx
}

// readIndex reads and indexes file. The identity recorded is the open
// file's before and after reading, so a file replaced or written while it
// was read is not cached as the old version.
func readIndex(file string) *hostIndex {
	began := time.Now()
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	before, err := f.Stat()
	if err != nil {
		return nil
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil
	}
	after, err := f.Stat()
	if err != nil {
		return nil
	}
	id, ok := idOf(before)
	if id2, ok2 := idOf(after); !ok || !ok2 || id != id2 || int64(len(data)) != id.size {
		return nil
	}
	// File times are coarse on some kernels (a clock tick): a file changed
	// within racyWindow of this read could change again with the same
	// identity, so it is not trusted from the cache (as git treats a racily
	// clean index entry).
	cutoff := began.Add(-racyWindow).UnixNano()
	idx := &hostIndex{id: id, data: data, lines: map[string][]lineRef{}, racy: id.mtime >= cutoff}
	if hasLongLine(data) {
		return idx // not plain
	}
	for num, start := 1, 0; start < len(data); num++ {
		end := len(data)
		if i := bytes.IndexByte(data[start:], '\n'); i >= 0 {
			end = start + i
		}
		if !idx.addLine(start, end, num) {
			idx.lines = nil
			return idx // not plain
		}
		start = end + 1
	}
	idx.plain = true
	return idx
}

// addLine indexes the line [start, end) under every host its patterns name,
// as plainMatch reads them. It returns false for a line only knownhosts can
// judge (see plainDB.add).
func (idx *hostIndex) addLine(start, end, num int) bool {
	line := bytes.Trim(bytes.TrimSuffix(idx.data[start:end], []byte("\r")), " \t")
	if len(line) == 0 || line[0] == '#' {
		return true
	}
	if line[0] == '@' {
		return false
	}
	patterns := line
	if i := bytes.IndexAny(line, "\t "); i >= 0 {
		patterns = line[:i]
	}
	if bytes.ContainsAny(patterns, "|*?!") {
		return false
	}
	var seen []string
	for _, p := range strings.Split(string(patterns), ",") {
		if p == "" {
			continue
		}
		h, _, err := net.SplitHostPort(p)
		if err != nil {
			h = p
		}
		if !slices.Contains(seen, h) {
			seen = append(seen, h)
			idx.lines[h] = append(idx.lines[h], lineRef{start, end, num})
		}
	}
	return true
}
