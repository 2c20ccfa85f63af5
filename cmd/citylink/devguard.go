package main

import (
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"strings"
)

// guardConsole protects the dev console, which runs beside the developer's
// browser, from the other pages that browser has open:
//
//   - Host must name this machine: an IP literal, localhost, or a name
//     given with --allow-host. A page on another name that resolves to
//     127.0.0.1 (DNS rebinding) is answered 421 and never reaches a handler.
//   - A POST (any method but GET, HEAD and OPTIONS) must come from the
//     console's own origin when the browser says where it comes from
//     (Origin, Sec-Fetch-Site), and must be application/json, which a
//     cross-site form cannot send without a CORS preflight the console
//     never grants.
//   - Every answer carries the usual security headers, and the plain-text
//     404 and 405 answers of http.ServeMux are turned into problem+json
//     (keeping the mux's Allow header), so every error has one shape.
func guardConsole(next http.Handler, allowHosts []string) http.Handler {
	allowed := map[string]bool{}
	for _, h := range allowHosts {
		allowed[strings.ToLower(h)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'")

		host := hostOnly(r.Host)
		if !localHost(host) && !allowed[host] {
			consoleProblem(w, r, http.StatusMisdirectedRequest, fmt.Sprintf(
				"host %q is not this console: open it at http://127.0.0.1 or http://localhost (a name that resolves here from another site is refused against DNS rebinding; --allow-host adds a name)", r.Host))
			return
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			if origin := r.Header.Get("Origin"); origin != "" && !sameOrigin(origin, r.Host) {
				consoleProblem(w, r, http.StatusForbidden, fmt.Sprintf("a %s from origin %q is refused: only the console's own pages may change things", r.Method, origin))
				return
			}
			if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
				consoleProblem(w, r, http.StatusForbidden, fmt.Sprintf("a %s from a %s page is refused: only the console's own pages may change things", r.Method, site))
				return
			}
			if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
				consoleProblem(w, r, http.StatusUnsupportedMediaType, r.Method+" bodies must be application/json")
				return
			}
		}
		next.ServeHTTP(&problemWriter{ResponseWriter: w, r: r}, r)
	})
}

// hostOnly returns the lower-case host of a Host header, without port or
// IPv6 brackets.
func hostOnly(hostport string) string {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	return strings.ToLower(strings.Trim(host, "[]"))
}

// localHost reports whether host cannot be another site's name: an IP
// literal (DNS rebinding needs a name) or localhost, which browsers resolve
// to loopback themselves.
func localHost(host string) bool {
	return net.ParseIP(host) != nil || host == "localhost" || strings.HasSuffix(host, ".localhost")
}

func sameOrigin(origin, host string) bool {
	return strings.EqualFold(origin, "http://"+host)
}

// consoleProblem writes an application/problem+json answer.
func consoleProblem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	b, _ := json.Marshal(map[string]any{
		"type": "about:blank", "title": http.StatusText(status), "status": status, "detail": detail, "instance": r.URL.Path,
	})
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// problemWriter turns the plain-text 404 and 405 answers http.ServeMux
// writes itself into problem+json; answers a handler wrote in another shape
// pass through.
type problemWriter struct {
	http.ResponseWriter
	r        *http.Request
	replaced bool
}

func (p *problemWriter) WriteHeader(status int) {
	ct := p.Header().Get("Content-Type")
	if (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) && strings.HasPrefix(ct, "text/plain") {
		p.replaced = true
		p.Header().Del("Content-Length")
		detail := "no such resource"
		if status == http.StatusMethodNotAllowed {
			detail = p.r.Method + " is not allowed here; allowed: " + p.Header().Get("Allow")
		}
		consoleProblem(p.ResponseWriter, p.r, status, detail)
		return
	}
	p.ResponseWriter.WriteHeader(status)
}

func (p *problemWriter) Write(b []byte) (int, error) {
	if p.replaced {
		return len(b), nil // the mux's text, already answered as a problem
	}
	return p.ResponseWriter.Write(b)
}

// Flush lets streaming handlers (server-sent events) flush through.
func (p *problemWriter) Flush() {
	if f, ok := p.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (p *problemWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }

// listenConsole listens on the console's address, or says which flag
// changes it.
func listenConsole(addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("the console cannot listen on %s: %w (choose another address with --addr, e.g. make run ARGS='--addr 127.0.0.1:9090')", addr, err)
	}
	return l, nil
}
