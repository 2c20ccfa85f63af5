package citysim

import (
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
)

// utilityFS is the SFTP drop's in-memory file system: one flat directory
// (the drop directory) under the root. It implements pkg/sftp's request
// server handlers and hands finished visible files to the inbox.
type utilityFS struct {
	dir   string
	inbox *UtilityInbox
	now   func() time.Time

	mu    sync.Mutex
	files map[string]*utilityMemFile // by full path
}

// utilityMemFile is one file's bytes; writers write into it in place.
type utilityMemFile struct {
	mu      sync.Mutex
	data    []byte
	modTime time.Time
}

func newUtilityFS(dir string, inbox *UtilityInbox, now func() time.Time) *utilityFS {
	return &utilityFS{dir: dir, inbox: inbox, now: now, files: make(map[string]*utilityMemFile)}
}

// handlers returns the request-server handlers for one session; drop, when
// set, is asked at each file opened for writing whether to cut the session
// once half of the first write has landed.
func (fs *utilityFS) handlers(drop func() bool, cut func()) sftp.Handlers {
	put := sftp.FileWriter(fs)
	if drop != nil {
		put = utilityDroppingWriter{fs: fs, drop: drop, cut: cut}
	}
	return sftp.Handlers{FileGet: fs, FilePut: put, FileCmd: fs, FileList: fs}
}

// utilityDroppingWriter opens files like the file system does, but a doomed
// upload loses its connection part-way, the way a flaky link does.
type utilityDroppingWriter struct {
	fs   *utilityFS
	drop func() bool
	cut  func()
}

func (d utilityDroppingWriter) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	w, err := d.fs.Filewrite(r)
	if err != nil || !d.drop() {
		return w, err
	}
	return &utilityCutWriter{w: w.(*utilityWriter), cut: d.cut}, nil
}

// utilityCutWriter keeps half of the first write, then cuts the session.
type utilityCutWriter struct {
	w   *utilityWriter
	cut func()
}

func (c *utilityCutWriter) WriteAt(b []byte, off int64) (int, error) {
	n, _ := c.w.WriteAt(b[:len(b)/2], off)
	c.cut()
	return n, io.ErrUnexpectedEOF
}

// Close leaves the partial file where it is; a visible one is still
// imported, as a real importer would try.
func (c *utilityCutWriter) Close() error { return c.w.Close() }

// inDir reports whether p names a file directly in the drop directory.
func (fs *utilityFS) inDir(p string) bool {
	return path.Dir(path.Clean(p)) == fs.dir && path.Base(p) != "" && !strings.HasSuffix(p, "/")
}

// Fileread serves downloads of files in the drop directory.
func (fs *utilityFS) Fileread(r *sftp.Request) (io.ReaderAt, error) {
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

// Filewrite opens a file in the drop directory for writing. A visible name
// being written is a partial file the utility's importer could pick up.
func (fs *utilityFS) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	p := path.Clean(r.Filepath)
	if !fs.inDir(p) {
		return nil, os.ErrPermission
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
		f = &utilityMemFile{modTime: fs.now()}
		fs.files[p] = f
	}
	fs.mu.Unlock()
	if flags.Trunc {
		f.mu.Lock()
		f.data = nil
		f.mu.Unlock()
	}
	if UtilityVisible(p) {
		fs.inbox.utilitySawPartial(path.Base(p))
	}
	return &utilityWriter{fs: fs, path: p, f: f}, nil
}

// utilityWriter writes into a memory file; closing a visible file hands it
// to the inbox.
type utilityWriter struct {
	fs   *utilityFS
	path string
	f    *utilityMemFile
}

func (w *utilityWriter) WriteAt(b []byte, off int64) (int, error) {
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	if end := off + int64(len(b)); end > int64(len(w.f.data)) {
		w.f.data = slices.Grow(w.f.data, int(end)-len(w.f.data))[:end]
	}
	copy(w.f.data[off:], b)
	w.f.modTime = w.fs.now()
	return len(b), nil
}

func (w *utilityWriter) Close() error {
	if UtilityVisible(w.path) {
		w.f.mu.Lock()
		data := slices.Clone(w.f.data)
		w.f.mu.Unlock()
		w.fs.inbox.utilityTake(w.path, data, "sftp")
	}
	return nil
}

// Filecmd serves rename, remove and the attribute calls; creating or
// removing directories is not allowed in the drop.
func (fs *utilityFS) Filecmd(r *sftp.Request) error {
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
func (fs *utilityFS) PosixRename(r *sftp.Request) error {
	return fs.rename(r.Filepath, r.Target, true)
}

// rename moves a file inside the drop directory; without replace an
// existing target is an error, as SFTP v3 rename specifies.
func (fs *utilityFS) rename(from, to string, replace bool) error {
	from, to = path.Clean(from), path.Clean(to)
	if !fs.inDir(to) {
		return os.ErrPermission
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
	if UtilityVisible(to) {
		f.mu.Lock()
		data := slices.Clone(f.data)
		f.mu.Unlock()
		fs.inbox.utilityTake(to, data, "sftp")
	}
	return nil
}

// Filelist serves List and Stat of the root, the drop directory and its
// files.
func (fs *utilityFS) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	p := path.Clean(r.Filepath)
	switch r.Method {
	case "List":
		if p != fs.dir {
			if p == "/" {
				return utilityLister{utilityDirInfo(path.Base(fs.dir), fs.now())}, nil
			}
			return nil, os.ErrNotExist
		}
		fs.mu.Lock()
		defer fs.mu.Unlock()
		var out utilityLister
		for fp, f := range fs.files {
			out = append(out, f.info(path.Base(fp)))
		}
		slices.SortFunc(out, func(a, b os.FileInfo) int { return strings.Compare(a.Name(), b.Name()) })
		return out, nil
	case "Stat":
		if p == "/" || p == fs.dir {
			return utilityLister{utilityDirInfo(path.Base(p), fs.now())}, nil
		}
		fs.mu.Lock()
		f, ok := fs.files[p]
		fs.mu.Unlock()
		if !ok {
			return nil, os.ErrNotExist
		}
		return utilityLister{f.info(path.Base(p))}, nil
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}

// utilityLister serves a fixed listing.
type utilityLister []os.FileInfo

func (l utilityLister) ListAt(out []os.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(out, l[off:])
	if off+int64(n) >= int64(len(l)) {
		return n, io.EOF
	}
	return n, nil
}

// utilityFileInfo is an os.FileInfo for the memory file system.
type utilityFileInfo struct {
	name    string
	size    int64
	mode    os.FileMode
	modTime time.Time
}

func (i utilityFileInfo) Name() string       { return i.name }
func (i utilityFileInfo) Size() int64        { return i.size }
func (i utilityFileInfo) Mode() os.FileMode  { return i.mode }
func (i utilityFileInfo) ModTime() time.Time { return i.modTime }
func (i utilityFileInfo) IsDir() bool        { return i.mode.IsDir() }
func (i utilityFileInfo) Sys() any           { return nil }

func utilityDirInfo(name string, t time.Time) os.FileInfo {
	return utilityFileInfo{name: name, mode: os.ModeDir | 0o755, modTime: t}
}

func (f *utilityMemFile) info(name string) os.FileInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return utilityFileInfo{name: name, size: int64(len(f.data)), mode: 0o644, modTime: f.modTime}
}
