package utilitysim

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

const testCSV = "change_type,effective_date,account_id,asset_id,pole_id,address,latitude,longitude,lamp_type,nominal_watts,input_watts,rate_schedule,annual_burn_hours,monthly_kwh\r\n" +
	"ADD,2026-11-22,SL-ACCT-0042,SL-0012345,P-884120,1200 W MADISON ST,41.881620,-87.658070,LED,90,96,LS-2 LED,4100,32.80\r\n"

func putFile(t *testing.T, url, token, body string, hdr map[string]string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out, resp.Header
}

func TestHTTPSDrop(t *testing.T) {
	t.Parallel()
	drop := NewHTTPS(HTTPSOptions{})
	srv := httptest.NewServer(drop)
	defer srv.Close()
	tok := DefaultToken
	md := md5.Sum([]byte(testCSV))
	goodMD5 := base64.StdEncoding.EncodeToString(md[:])

	if st, _, h := putFile(t, srv.URL+"/inbox/a.csv", "", testCSV, nil); st != 401 || h.Get("WWW-Authenticate") == "" {
		t.Errorf("no token: %d", st)
	}
	if st, _, _ := putFile(t, srv.URL+"/inbox/a.csv", tok, testCSV, map[string]string{"Content-MD5": "AAAAAAAAAAAAAAAAAAAAAA=="}); st != 400 {
		t.Errorf("bad Content-MD5: %d", st)
	}
	if st, _, _ := putFile(t, srv.URL+"/inbox/a.csv", tok, testCSV, map[string]string{"Content-Digest": "sha-256=:AAAA:"}); st != 400 {
		t.Errorf("bad Content-Digest: %d", st)
	}
	if st, _, _ := putFile(t, srv.URL+"/inbox/.hidden.csv", tok, testCSV, nil); st != 400 {
		t.Errorf("hidden name: %d", st)
	}
	st, rc, _ := putFile(t, srv.URL+"/inbox/a.csv", tok, testCSV, map[string]string{"Content-MD5": goodMD5})
	if st != 201 || rc["status"] != "accepted" || rc["rows"] != 1.0 || rc["size"] != float64(len(testCSV)) {
		t.Errorf("good file: %d %v", st, rc)
	}
	if st, _, _ := putFile(t, srv.URL+"/inbox/a.csv", tok, testCSV, nil); st != 200 {
		t.Errorf("identical again: %d, want 200", st)
	}
	if st, _, _ := putFile(t, srv.URL+"/inbox/a.csv", tok, testCSV+"x", nil); st != 409 {
		t.Errorf("different content: %d, want 409", st)
	}
	st, rc, _ = putFile(t, srv.URL+"/inbox/b.csv", tok, "garbage\r\n", nil)
	if st != 422 || rc["status"] != "rejected" || rc["error"] == "" {
		t.Errorf("invalid file: %d %v", st, rc)
	}
	if st, _, _ := putFile(t, srv.URL+"/inbox/b.csv", tok, testCSV, nil); st != 201 {
		t.Errorf("replacing a rejected file: %d, want 201", st)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/inbox", nil)
	req.Header.Set("X-API-Key", tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var list []Receipt
	_ = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list) != 2 || list[0].Name != "a.csv" || list[1].Status != "accepted" {
		t.Errorf("listing: %+v", list)
	}
}

func sftpClient(t *testing.T) (*SFTP, *sftp.Client) {
	t.Helper()
	key := KeyFromSeed(42)
	srv, err := NewSFTP(SFTPOptions{Seed: 9, AuthorizedKeys: []ssh.PublicKey{key.PublicKey()}})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := srv.Listen("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	conn, err := ssh.Dial("tcp", addr.String(), &ssh.ClientConfig{
		User: "citylink", Auth: []ssh.AuthMethod{ssh.PublicKeys(key)}, HostKeyCallback: ssh.FixedHostKey(srv.HostKey()),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c, err := sftp.NewClient(conn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return srv, c
}

func TestSFTPDrop(t *testing.T) {
	t.Parallel()
	srv, c := sftpClient(t)
	// A naive sender writing in place: the utility may see it half written.
	f, err := c.Create("/inbox/direct.csv")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.Write([]byte(testCSV))
	f.Close()
	if p := srv.Inbox().PartialReads(); len(p) != 1 || p[0] != "direct.csv" {
		t.Errorf("partial reads: %v", p)
	}
	if got, ok := srv.Inbox().File("direct.csv"); !ok || got.Rows != 1 {
		t.Errorf("direct upload imported: %v %+v", ok, got)
	}
	// Temp name, then rename: imported on rename, never partial.
	f, err = c.OpenFile("/inbox/.x.part", os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.Write([]byte(testCSV))
	f.Close()
	if _, ok := srv.Inbox().File(".x.part"); ok {
		t.Error("a hidden temporary file was imported")
	}
	if err := c.Rename("/inbox/.x.part", "/inbox/direct.csv"); err == nil {
		t.Error("plain rename replaced an existing file")
	}
	if err := c.PosixRename("/inbox/.x.part", "/inbox/renamed.csv"); err != nil {
		t.Fatal(err)
	}
	if got, ok := srv.Inbox().File("renamed.csv"); !ok || !bytes.Equal(got.Data, []byte(testCSV)) {
		t.Errorf("renamed file: %v", ok)
	}
	if len(srv.Inbox().PartialReads()) != 1 {
		t.Errorf("rename counted as a partial read: %v", srv.Inbox().PartialReads())
	}
	if _, err := c.Create("/etc/passwd"); err == nil {
		t.Error("wrote outside the drop directory")
	}
	entries, err := c.ReadDir("/inbox")
	if err != nil || len(entries) != 2 || entries[0].Name() != "direct.csv" || entries[1].Size() != int64(len(testCSV)) {
		t.Errorf("listing: %v %v", entries, err)
	}
}

func TestKeyPEMMatchesSigner(t *testing.T) {
	t.Parallel()
	signer, err := ssh.ParsePrivateKey(KeyPEM(77))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(signer.PublicKey().Marshal(), KeyFromSeed(77).PublicKey().Marshal()) {
		t.Error("the PEM key is not the seeded key")
	}
	if bytes.Equal(KeyFromSeed(77).PublicKey().Marshal(), KeyFromSeed(78).PublicKey().Marshal()) {
		t.Error("two seeds gave one key")
	}
}

func TestDropRefusesControlCharactersInNames(t *testing.T) {
	t.Parallel()
	// a%0Ab.csv is "a\nb.csv": a name no importer, log line or listing
	// can show faithfully. Refused over HTTPS and SFTP alike.
	drop := NewHTTPS(HTTPSOptions{})
	srv := httptest.NewServer(drop)
	defer srv.Close()
	for _, name := range []string{"a%0Ab.csv", "a%0Db.csv", "a%00b.csv", "a%7Fb.csv", "a%1Bb.csv", "a%C2%85b.csv", "a%FFb.csv"} {
		if st, _, _ := putFile(t, srv.URL+"/inbox/"+name, DefaultToken, testCSV, nil); st != 400 {
			t.Errorf("PUT %s: %d, want 400", name, st)
		}
	}
	for _, f := range drop.Inbox().Files() {
		t.Errorf("file taken in over HTTPS: %q", f.Name)
	}
	sim, c := sftpClient(t)
	if f, err := c.Create("/inbox/a\nb.csv"); err == nil {
		f.Close()
		t.Error("SFTP created a file named a\\nb.csv")
	}
	f, err := c.OpenFile("/inbox/.tmp.part", os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.Write([]byte(testCSV))
	f.Close()
	if err := c.PosixRename("/inbox/.tmp.part", "/inbox/a\tb.csv"); err == nil {
		t.Error("SFTP renamed a file to a\\tb.csv")
	}
	for _, f := range sim.Inbox().Files() {
		t.Errorf("file taken in over SFTP: %q", f.Name)
	}
}
