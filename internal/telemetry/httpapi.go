package telemetry

import (
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// ServeHTTP serves the history API over plain HTTP for `citylink dev` and
// the local test page, by translating the request into the API Gateway
// payload the Lambda receives, so both paths run the same code.
func (h *APIHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       "$default",
		RawPath:        r.URL.EscapedPath(),
		RawQueryString: r.URL.RawQuery,
		Headers:        map[string]string{},
	}
	for k, vs := range r.Header {
		req.Headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	req.RequestContext.HTTP = events.APIGatewayV2HTTPRequestContextHTTPDescription{
		Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, SourceIP: r.RemoteAddr, UserAgent: r.UserAgent(),
	}
	req.RequestContext.TimeEpoch = time.Now().UnixMilli()
	resp, err := h.Handle(r.Context(), req)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write([]byte(resp.Body))
}

// WriteProblem writes an application/problem+json answer (RFC 9457) of
// status with detail, the shape of every error the telemetry API gives.
func WriteProblem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	resp := problemResponse(status, r.URL.Path, detail, nil)
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, resp.Body)
}
