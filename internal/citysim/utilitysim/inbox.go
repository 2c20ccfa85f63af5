package utilitysim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// File is one inventory file the simulated utility has taken in.
type File struct {
	Name     string
	Data     []byte
	Size     int64
	SHA256   string // hex
	Received time.Time
	Via      string // sftp or https
	// Rows is the number of changes in a valid file; Err says why the
	// utility's import rejected an invalid one.
	Rows int
	Err  string
}

// Inbox is the simulated utility's drop box, shared by its SFTP and
// HTTPS endpoints. The utility imports a file as soon as it appears under a
// visible name (*.csv, not starting with a dot), validating it with the
// inventory parser; tests inspect what arrived. It is safe for concurrent use.
type Inbox struct {
	now     func() time.Time
	mu      sync.Mutex
	files   map[string]*File
	partial []string
}

// NewInbox returns an empty drop box; now is its clock (time.Now when
// nil).
func NewInbox(now func() time.Time) *Inbox {
	if now == nil {
		now = time.Now
	}
	return &Inbox{now: now, files: make(map[string]*File)}
}

// Visible reports whether the utility's importer picks up a file of
// this name: a .csv that is not hidden.
func Visible(name string) bool {
	base := path.Base(name)
	return strings.HasSuffix(strings.ToLower(base), ".csv") && !strings.HasPrefix(base, ".")
}

// PlainName reports whether name is a file name the drop stores: valid
// UTF-8 of at most 255 bytes with no path separator and no control
// character (a%0Ab.csv is "a\nb.csv", which no importer, log line or
// listing shows faithfully).
func PlainName(name string) bool {
	if name == "" || len(name) > 255 || !utf8.ValidString(name) || strings.ContainsAny(name, `/\`) {
		return false
	}
	return !strings.ContainsFunc(name, unicode.IsControl)
}

// Files returns every file taken in, by name.
func (in *Inbox) Files() []File {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]File, 0, len(in.files))
	for _, f := range in.files {
		c := *f
		c.Data = bytes.Clone(f.Data)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// File returns the file taken in under name.
func (in *Inbox) File(name string) (File, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	f, ok := in.files[name]
	if !ok {
		return File{}, false
	}
	c := *f
	c.Data = bytes.Clone(f.Data)
	return c, true
}

// PartialReads lists the visible names the utility saw while they were still
// being written: a sender that uploads in place instead of renaming a
// finished temporary file shows up here.
func (in *Inbox) PartialReads() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.partial)
}

// sawPartial records that name was visible before it was complete.
func (in *Inbox) sawPartial(name string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.partial = append(in.partial, name)
}

// take imports a complete file under name (its base name), replacing
// any earlier one, and returns what was recorded.
func (in *Inbox) take(name string, data []byte, via string) File {
	sum := sha256.Sum256(data)
	f := &File{
		Name: path.Base(name), Data: bytes.Clone(data), Size: int64(len(data)),
		SHA256: hex.EncodeToString(sum[:]), Via: via,
	}
	rows, err := checkInventory(data)
	if err != nil {
		f.Err = err.Error()
	} else {
		f.Rows = rows
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	f.Received = in.now()
	in.files[f.Name] = f
	c := *f
	c.Data = nil
	return c
}

// lookup returns the recorded file's checksum and whether it exists.
func (in *Inbox) lookup(name string) (File, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	f, ok := in.files[name]
	if !ok {
		return File{}, false
	}
	c := *f
	c.Data = nil
	return c, true
}
