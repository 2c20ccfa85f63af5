package arcgissim

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

// Auth turns on token security for a simulated ArcGIS server. With no
// users the services are public and ignore tokens.
type Auth struct {
	// Users maps user names to passwords accepted by generateToken.
	Users map[string]string
	// TokenTTL is the longest a token lives; generateToken's expiration
	// parameter (minutes) may ask for less. It defaults to 60 minutes.
	TokenTTL time.Duration
	// ExpireAfterUses, when positive, expires every token after that many
	// authenticated requests, so tests can force a 498 mid-run.
	ExpireAfterUses int
}

// tokenState is what the server remembers about an issued token.
type tokenState struct {
	user    string
	expires time.Time
	uses    int
}

// tokens issues and checks tokens.
type tokens struct {
	auth  Auth
	clock func() time.Time

	mu     sync.Mutex
	rng    *rand.Rand
	tokens map[string]*tokenState
	issued int
}

func newArcGISTokens(auth Auth, seed uint64, clock func() time.Time) *tokens {
	auth.TokenTTL = cmp.Or(auth.TokenTTL, time.Hour)
	return &tokens{auth: auth, clock: clock, rng: rand.New(rand.NewPCG(seed, seed^0xa5a5a5a5)), tokens: map[string]*tokenState{}}
}

func (t *tokens) enabled() bool { return len(t.auth.Users) > 0 }

// count reports how many tokens the server has handed out.
func (t *tokens) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.issued
}

// generate serves generateToken: username and password in a POSTed form,
// an optional expiration in minutes, and {token, expires, ssl} back.
func (t *tokens) generate(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, 405, "Method not supported.", "generateToken is only supported via POST.")
		return
	}
	user, pass := r.PostForm.Get("username"), r.PostForm.Get("password")
	want, ok := t.auth.Users[user]
	if user == "" || !ok || want != pass {
		writeError(w, 400, "Unable to generate token.", "Invalid username or password.")
		return
	}
	ttl := t.auth.TokenTTL
	if v := r.PostForm.Get("expiration"); v != "" {
		minutes, err := strconv.Atoi(v)
		if err != nil || minutes <= 0 {
			writeError(w, 400, "Unable to generate token.", "Invalid expiration.")
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
	t.tokens[tok] = &tokenState{user: user, expires: now.Add(ttl)}
	t.issued++
	t.mu.Unlock()
	writeJSON(w, map[string]any{"token": tok, "expires": now.Add(ttl).UnixMilli(), "ssl": false})
}

// check authenticates a request, returning the user name or the ArcGIS
// error the request must be answered with: 499 without a token, 498 for an
// unknown or expired one.
func (t *tokens) check(r *http.Request) (string, *apiError) {
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
		return "", &apiError{Code: 499, Message: "Token Required", Details: []string{}}
	}
	now := t.clock()
	t.mu.Lock()
	defer t.mu.Unlock()
	st, ok := t.tokens[tok]
	if !ok {
		return "", &apiError{Code: 498, Message: "Invalid Token", Details: []string{}}
	}
	st.uses++
	if !now.Before(st.expires) || (t.auth.ExpireAfterUses > 0 && st.uses > t.auth.ExpireAfterUses) {
		return "", &apiError{Code: 498, Message: "Invalid Token", Details: []string{"Token has expired."}}
	}
	return st.user, nil
}
