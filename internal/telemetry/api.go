package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// APIHandler is the telemetry-api Lambda behind an API Gateway HTTP API
// (payload format 2.0):
//
//	GET /sensors/{id}/readings?from=&to=&limit=&cursor=&order=
//	GET /sensors/{id}/latest
//
// from and to are RFC 3339 times or epoch milliseconds, [from, to); order is
// desc (default, newest first) or asc. Errors are application/problem+json.
type APIHandler struct {
	reader *Reader
	logger *slog.Logger
}

// NewAPIHandler returns an APIHandler reading through reader.
func NewAPIHandler(reader *Reader, logger *slog.Logger) *APIHandler {
	return &APIHandler{reader: reader, logger: logger}
}

// problem is an RFC 9457 problem details body.
type problem struct {
	Type     string         `json:"type"`
	Title    string         `json:"title"`
	Status   int            `json:"status"`
	Detail   string         `json:"detail,omitempty"`
	Instance string         `json:"instance,omitempty"`
	Params   []invalidParam `json:"invalid_params,omitempty"`
}

type invalidParam struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// readingsBody is the body of a readings page.
type readingsBody struct {
	SensorID   string        `json:"sensor_id"`
	Readings   []ReadingJSON `json:"readings"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// Handle serves one request.
func (h *APIHandler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	path := req.RawPath
	sensorID, action, ok := route(req)
	if !ok {
		return problemResponse(http.StatusNotFound, path, "no such resource", nil), nil
	}
	if method := req.RequestContext.HTTP.Method; method != "" && method != http.MethodGet {
		resp := problemResponse(http.StatusMethodNotAllowed, path, "only GET is supported", nil)
		resp.Headers["Allow"] = http.MethodGet
		return resp, nil
	}
	sensorID, err := validSensorID(sensorID)
	if err != nil {
		return problemResponse(http.StatusBadRequest, path, "invalid sensor id", []invalidParam{{"id", err.Error()}}), nil
	}

	switch action {
	case "latest":
		r, err := h.reader.Latest(ctx, sensorID)
		if err != nil {
			return h.errorResponse(ctx, path, sensorID, err), nil
		}
		return jsonResponse(http.StatusOK, r.JSON()), nil
	default:
		q, bad := parseRange(req.RawQueryString)
		if len(bad) > 0 {
			return problemResponse(http.StatusBadRequest, path, "invalid query parameters", bad), nil
		}
		page, err := h.reader.Readings(ctx, sensorID, q)
		if err != nil {
			return h.errorResponse(ctx, path, sensorID, err), nil
		}
		body := readingsBody{SensorID: sensorID, Readings: make([]ReadingJSON, len(page.Readings)), NextCursor: page.Next}
		for i, r := range page.Readings {
			body.Readings[i] = r.JSON()
		}
		return jsonResponse(http.StatusOK, body), nil
	}
}

func (h *APIHandler) errorResponse(ctx context.Context, path, sensorID string, err error) events.APIGatewayV2HTTPResponse {
	switch {
	case errors.Is(err, ErrUnknownSensor):
		return problemResponse(http.StatusNotFound, path, fmt.Sprintf("sensor %q has no readings", sensorID), nil)
	case errors.Is(err, ErrBadCursor):
		return problemResponse(http.StatusBadRequest, path, "invalid query parameters", []invalidParam{{"cursor", err.Error()}})
	case errors.Is(err, context.DeadlineExceeded):
		h.logger.ErrorContext(ctx, "query timed out", "sensor_id", sensorID, "error", err)
		return problemResponse(http.StatusGatewayTimeout, path, "the query timed out", nil)
	}
	h.logger.ErrorContext(ctx, "query failed", "sensor_id", sensorID, "error", err)
	return problemResponse(http.StatusInternalServerError, path, "the readings could not be read", nil)
}

// route finds the sensor id and action in a request, from the route's path
// parameters when API Gateway matched one, else from the raw path (which
// carries the stage name first on a named stage).
func route(req events.APIGatewayV2HTTPRequest) (sensorID, action string, ok bool) {
	segs := strings.Split(strings.Trim(req.RawPath, "/"), "/")
	n := len(segs)
	if n < 3 || segs[n-3] != "sensors" || (segs[n-1] != "readings" && segs[n-1] != "latest") {
		return "", "", false
	}
	id, ok := req.PathParameters["id"]
	if !ok {
		var err error
		if id, err = url.PathUnescape(segs[n-2]); err != nil {
			return "", "", false
		}
	}
	return id, segs[n-1], true
}

func validSensorID(id string) (string, error) {
	id, err := sensorID(wireReading{SensorID: rawString(id)})
	if err != nil {
		var rej *RejectError
		if errors.As(err, &rej) {
			return "", errors.New(rej.Detail)
		}
		return "", err
	}
	return id, nil
}

func rawString(s string) *json.RawMessage {
	b, _ := json.Marshal(s)
	raw := json.RawMessage(b)
	return &raw
}

// parseRange reads the readings query's parameters, reporting every bad one.
func parseRange(rawQuery string) (Range, []invalidParam) {
	var q Range
	var bad []invalidParam
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		return q, []invalidParam{{"query", "query string is malformed"}}
	}
	for name, vs := range values {
		if len(vs) > 1 {
			bad = append(bad, invalidParam{name, "given more than once"})
		}
	}
	get := values.Get
	if s := get("from"); s != "" {
		if q.From, err = parseTime(s); err != nil {
			bad = append(bad, invalidParam{"from", err.Error()})
		}
	}
	if s := get("to"); s != "" {
		if q.To, err = parseTime(s); err != nil {
			bad = append(bad, invalidParam{"to", err.Error()})
		}
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		bad = append(bad, invalidParam{"to", "must be after from"})
	}
	if s := get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			bad = append(bad, invalidParam{"limit", fmt.Sprintf("must be a whole number from 1 to %d", MaxLimit)})
		}
		q.Limit = n
	}
	switch get("order") {
	case "", "desc":
	case "asc":
		q.Ascending = true
	default:
		bad = append(bad, invalidParam{"order", "must be asc or desc"})
	}
	q.Cursor = get("cursor")
	return q, bad
}

func parseTime(s string) (time.Time, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errors.New("must be an RFC 3339 time or epoch milliseconds")
	}
	return t.UTC(), nil
}

func jsonResponse(status int, body any) events.APIGatewayV2HTTPResponse {
	b, err := json.Marshal(body)
	if err != nil {
		return problemResponse(http.StatusInternalServerError, "", "encoding the response failed", nil)
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"},
		Body:       string(b),
	}
}

func problemResponse(status int, instance, detail string, params []invalidParam) events.APIGatewayV2HTTPResponse {
	b, _ := json.Marshal(problem{
		Type: "about:blank", Title: http.StatusText(status), Status: status,
		Detail: detail, Instance: instance, Params: params,
	})
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/problem+json", "Cache-Control": "no-store"},
		Body:       string(b),
	}
}
