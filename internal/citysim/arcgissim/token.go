package citysim

import (
	"cmp"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ArcGISAuth turns on token security for a simulated ArcGIS server. With no
// users the services are public and ignore tokens.
type ArcGISAuth struct {
	// Users maps user names to passwords accepted by generateToken.
	Users map[string]string
	// TokenTTL is the longest a token lives; generateToken's expiration
	// parameter (minutes) may ask for less. It defaults to 60 minutes.
	TokenTTL time.Duration
	// ExpireAfterUses, when positive, expires every token after that many
	// authenticated requests, so tests can force a 498 mid-run.
	ExpireAfterUses int
}

// arcgisTokenState is what the server remembers about an issued token.
type arcgisTokenState struct {
	user    string
	expires time.Time
	uses    int
}

// arcgisTokens issues and checks tokens.
type arcgisTokens struct {
	auth  ArcGISAuth
	clock func() time.Time

	mu     sync.Mutex
	rng    *rand.Rand
	tokens map[string]*arcgisTokenState
	issued int
}

func newArcGISTokens(auth ArcGISAuth, seed uint64, clock func() time.Time) *arcgisTokens {
	auth.TokenTTL = cmp.Or(auth.TokenTTL, time.Hour)
	return &arcgisTokens{auth: auth, clock: clock, rng: rand.New(rand.NewPCG(seed, seed^0xa5a5a5a5)), tokens: map[string]*arcgisTokenState{}}
}

func (t *arcgisTokens) enabled() bool { return len(t.auth.Users) > 0 }

// count reports how many tokens the server has handed out.
func (t *arcgisTokens) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.issued
}

// generate serves generateToken: username and password in a POSTed form,
// an optional expiration in minutes, and {token, expires, ssl} back.
func (t *arcgisTokens) generate(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		arcgisWriteError(w, 405, "Method not supported.", "generateToken is only supported via POST.")
		return
	}
	user, pass := r.PostForm.Get("username"), r.PostForm.Get("password")
	want, ok := t.auth.Users[user]
	if user == "" || !ok || want != pass {
		arcgisWriteError(w, 400, "Unable to generate token.", "Invalid username or password.")
		return
	}
	ttl := t.auth.TokenTTL
	if v := r.PostForm.Get("expiration"); v != "" {
		minutes, err := strconv.Atoi(v)
		if err != nil || minutes <= 0 {
			arcgisWriteError(w, 400, "Unable to generate token.", "Invalid expiration.")
			return
		}
		ttl = min(ttl, time.Duration(minutes)*time.Minute)
	}
	now := t.clock()
	t.mu.Lock()
	var b [24]byte
	for i := range b {
		b[i] = byte(t.rng.Uint32())
	}
	tok := hex.EncodeToString(b[:])
	t.tokens[tok] = &arcgisTokenState{user: user, expires: now.Add(ttl)}
	t.issued++
	t.mu.Unlock()
	arcgisWriteJSON(w, map[string]any{"token": tok, "expires": now.Add(ttl).UnixMilli(), "ssl": false})
}

// check authenticates a request, returning the user name or the ArcGIS
// error the request must be answered with: 499 without a token, 498 for an
// unknown or expired one.
func (t *arcgisTokens) check(r *http.Request) (string, *arcgisAPIError) {
	if !t.enabled() {
		return "", nil
	}
	tok := r.Form.Get("token")
	for _, h := range []string{"X-Esri-Authorization", "Authorization"} {
		if v, ok := strings.CutPrefix(r.Header.Get(h), "Bearer "); ok && tok == "" {
			tok = strings.TrimSpace(v)
		}
	}
	if tok == "" {
		return "", &arcgisAPIError{Code: 499, Message: "Token Required", Details: []string{}}
	}
	now := t.clock()
	t.mu.Lock()
	defer t.mu.Unlock()
	st, ok := t.tokens[tok]
	if !ok {
		return "", &arcgisAPIError{Code: 498, Message: "Invalid Token", Details: []string{}}
	}
	st.uses++
	if !now.Before(st.expires) || (t.auth.ExpireAfterUses > 0 && st.uses > t.auth.ExpireAfterUses) {
		return "", &arcgisAPIError{Code: 498, Message: "Invalid Token", Details: []string{"Token has expired."}}
	}
	return st.user, nil
}
