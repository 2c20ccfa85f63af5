package telemetrydev

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/citylink/citylink/internal/telemetry"
)

// writeProblemWith writes an application/problem+json answer whose members
// are those of an RFC 9457 problem and, as extension members, those of
// extra (a struct or map encoding to a JSON object; nil for none).
func writeProblemWith(w http.ResponseWriter, r *http.Request, status int, detail string, extra any) {
	body := map[string]any{}
	if extra != nil {
		b, err := json.Marshal(extra)
		if err == nil {
			_ = json.Unmarshal(b, &body)
		}
	}
	body["type"] = "about:blank"
	body["title"] = http.StatusText(status)
	body["status"] = status
	body["detail"] = detail
	body["instance"] = r.URL.Path
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// MethodNotAllowed answers 405 as every dev endpoint does: a problem with
// an Allow header listing methods.
func MethodNotAllowed(w http.ResponseWriter, r *http.Request, methods ...string) {
	w.Header().Set("Allow", strings.Join(methods, ", "))
	telemetry.WriteProblem(w, r, http.StatusMethodNotAllowed, r.Method+" is not allowed here; allowed: "+strings.Join(methods, ", "))
}
