package utilitysim

import (
	"errors"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
)

// memFS is the SFTP drop's in-memory file system: one flat directory
// (the drop directory) under the root. It implements pkg/sftp's request
// server handlers and hands finished visible files to the inbox.
type memFS struct {
	dir   string
	inbox *Inbox
	now   func() time.Time

	mu    sync.Mutex
	files map[string]*memFile // by full path
}

// memFile is one file's bytes; writers write into it in place.
type memFile struct {
	mu      sync.Mutex
	data    []byte
	modTime time.Time
}

func newUtilityFS(dir string, inbox *Inbox, now func() time.Time) *memFS {
	return &memFS{dir: dir, inbox: inbox, now: now, files: make(map[string]*memFile)}
}

// handlers returns the request-server handlers for one session; drop, when
// set, is asked at each file opened for writing whether to cut the session
// once half of the first write has landed.
func (fs *memFS) handlers(drop func() bool, cut func()) sftp.Handlers {
	put := sftp.FileWriter(fs)
	if drop != nil {
		put = droppingWriter{fs: fs, drop: drop, cut: cut}
	}
	return sftp.Handlers{FileGet: fs, FilePut: put, FileCmd: fs, FileList: fs}
}

// droppingWriter opens files like the file system does, but a doomed
// upload loses its connection part-way, the way a flaky link does.
type droppingWriter struct {
	fs   *memFS
	drop func() bool
	cut  func()
}

func (d droppingWriter) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	w, err := d.fs.Filewrite(r)
	if err != nil || !d.drop() {
		return w, err
	}
	return &cutWriter{w: w.(*writer), cut: d.cut}, nil
}

// cutWriter keeps half of the first write, then cuts the session.
type cutWriter struct {
	w   *writer
	cut func()
}

func (c *cutWriter) WriteAt(b []byte, off int64) (int, error) {
	n, _ := c.w.WriteAt(b[:len(b)/2], off)
	c.cut()
	return n, io.ErrUnexpectedEOF
}

// Close leaves the partial file where it is; a visible one is still
// imported, as a real importer would try.
func (c *cutWriter) Close() error { return c.w.Close() }

// inDir reports whether p names a file directly in the drop directory.
func (fs *memFS) inDir(p string) bool {
	return path.Dir(path.Clean(p)) == fs.dir && path.Base(p) != "" && !strings.HasSuffix(p, "/")
}

// Fileread serves downloads of files in the drop directory.
func (fs *memFS) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	fs.mu.Lock()
	f, ok := fs.files[path.Clean(r.Filepath)]
	fs.mu.Unlock()
	if !ok {
		return nil, os.ErrNotExist
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.NewReader(string(f.data)), nil
}

// errBadName refuses a file name with control characters or invalid UTF-8.
var errBadName = errors.New("file name must be printable UTF-8")

// Filewrite opens a file in the drop directory for writing. A visible name
// being written is a partial file the utility's importer could pick up.
func (fs *memFS) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	p := path.Clean(r.Filepath)
	if !fs.inDir(p) {
		return nil, os.ErrPermission
	}
	if !PlainName(path.Base(p)) {
		return nil, errBadName
	}
	flags := r.Pflags()
	fs.mu.Lock()
	f, exists := fs.files[p]
	switch {
	case exists && flags.Excl && flags.Creat:
		fs.mu.Unlock()
		return nil, os.ErrExist
	case !exists && !flags.Creat:
		fs.mu.Unlock()
		return nil, os.ErrNotExist
	case !exists:
		f = &memFile{modTime: fs.now()}
		fs.files[p] = f
	}
	fs.mu.Unlock()
	if flags.Trunc {
		f.mu.Lock()
		f.data = nil
		f.mu.Unlock()
	}
	if Visible(p) {
		fs.inbox.sawPartial(path.Base(p))
	}
	return &writer{fs: fs, path: p, f: f}, nil
}

// writer writes into a memory file; closing a visible file hands it
// to the inbox.
type writer struct {
	fs   *memFS
	path string
	f    *memFile
}

func (w *writer) WriteAt(b []byte, off int64) (int, error) {
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	if end := off + int64(len(b)); end > int64(len(w.f.data)) {
		w.f.data = slices.Grow(w.f.data, int(end)-len(w.f.data))[:end]
	}
	copy(w.f.data[off:], b)
	w.f.modTime = w.fs.now()
	return len(b), nil
}

func (w *writer) Close() error {
	if Visible(w.path) {
		w.f.mu.Lock()
		data := slices.Clone(w.f.data)
		w.f.mu.Unlock()
		w.fs.inbox.take(w.path, data, "sftp")
	}
	return nil
}

// Filecmd serves rename, remove and the attribute calls; creating or
// removing directories is not allowed in the drop.
func (fs *memFS) Filecmd(r *sftp.Request) error {
	switch r.Method {
	case "Rename":
		return fs.rename(r.Filepath, r.Target, false)
	case "Remove":
		fs.mu.Lock()
		defer fs.mu.Unlock()
		p := path.Clean(r.Filepath)
		if _, ok := fs.files[p]; !ok {
			return os.ErrNotExist
		}
		delete(fs.files, p)
		return nil
	case "Setstat":
		return nil
	}
	return sftp.ErrSSHFxOpUnsupported
}

// PosixRename serves posix-rename@openssh.com: an atomic rename that
// replaces the target.
func (fs *memFS) PosixRename(r *sftp.Request) error {
	return fs.rename(r.Filepath, r.Target, true)
}

// rename moves a file inside the drop directory; without replace an
// existing target is an error, as SFTP v3 rename specifies.
func (fs *memFS) rename(from, to string, replace bool) error {
	from, to = path.Clean(from), path.Clean(to)
	if !fs.inDir(to) {
		return os.ErrPermission
	}
	if !PlainName(path.Base(to)) {
		return errBadName
	}
	fs.mu.Lock()
	f, ok := fs.files[from]
	_, exists := fs.files[to]
	switch {
	case !ok:
		fs.mu.Unlock()
		return os.ErrNotExist
	case exists && !replace:
		fs.mu.Unlock()
		return os.ErrExist
	}
	delete(fs.files, from)
	fs.files[to] = f
	fs.mu.Unlock()
	if Visible(to) {
		f.mu.Lock()
		data := slices.Clone(f.data)
		f.mu.Unlock()
		fs.inbox.take(to, data, "sftp")
	}
	return nil
}

// Filelist serves List and Stat of the root, the drop directory and its
// files.
func (fs *memFS) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	p := path.Clean(r.Filepath)
	switch r.Method {
	case "List":
		if p != fs.dir {
			if p == "/" {
				return lister{dirInfo(path.Base(fs.dir), fs.now())}, nil
			}
			return nil, os.ErrNotExist
		}
		fs.mu.Lock()
		defer fs.mu.Unlock()
		var out lister
		for fp, f := range fs.files {
			out = append(out, f.info(path.Base(fp)))
		}
		slices.SortFunc(out, func(a, b os.FileInfo) int { return strings.Compare(a.Name(), b.Name()) })
		return out, nil
	case "Stat":
		if p == "/" || p == fs.dir {
			return lister{dirInfo(path.Base(p), fs.now())}, nil
		}
		fs.mu.Lock()
		f, ok := fs.files[p]
		fs.mu.Unlock()
		if !ok {
			return nil, os.ErrNotExist
		}
		return lister{f.info(path.Base(p))}, nil
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}

// lister serves a fixed listing.
type lister []os.FileInfo

func (l lister) ListAt(out []os.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(out, l[off:])
	if off+int64(n) >= int64(len(l)) {
		return n, io.EOF
	}
	return n, nil
}

// fileInfo is an os.FileInfo for the memory file system.
type fileInfo struct {
	name    string
	size    int64
	mode    os.FileMode
	modTime time.Time
}

func (i fileInfo) Name() string       { return i.name }
func (i fileInfo) Size() int64        { return i.size }
func (i fileInfo) Mode() os.FileMode  { return i.mode }
func (i fileInfo) ModTime() time.Time { return i.modTime }
func (i fileInfo) IsDir() bool        { return i.mode.IsDir() }
func (i fileInfo) Sys() any           { return nil }

func dirInfo(name string, t time.Time) os.FileInfo {
	return fileInfo{name: name, mode: os.ModeDir | 0o755, modTime: t}
}

func (f *memFile) info(name string) os.FileInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fileInfo{name: name, size: int64(len(f.data)), mode: 0o644, modTime: f.modTime}
}
