package open311

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Format is the representation the client asks the server for. GeoReport v2
// makes XML mandatory and JSON optional; a server's discovery document lists
// which it serves.
type Format string

// The formats of GeoReport v2.
const (
	JSON Format = "json"
	XML  Format = "xml"
)

func (f Format) accept() string {
	if f == XML {
		return "text/xml"
	}
	return "application/json"
}

// maxBody bounds what is read of one answer; 1,000 requests are well under it.
const maxBody = 32 << 20

// get GETs resource (its name without the format extension) and returns the
// body of a 2xx answer; anything else is an *APIError.
func (c *Client) get(ctx context.Context, resource string, q url.Values) ([]byte, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.resource(resource+"."+string(c.cfg.Format), q), nil)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Accept", c.cfg.Format.accept())
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return readAnswer(resp)
}

// readAnswer reads resp's body and turns non-2xx answers, and 2xx answers
// that are nothing but an error document, into *APIError.
func readAnswer(resp *http.Response) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("reading answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, readAPIError(resp, body)
	}
	if entries, ok := errorDocument(body); ok {
		return nil, &APIError{Status: resp.StatusCode, Errors: entries}
	}
	return body, nil
}

// decodeList reads a list answer: a JSON array, or the XML elements named
// elem under the document's root.
func decodeList[T any](f Format, body []byte, elem string) ([]T, error) {
	var out []T
	if f != XML {
		if err := json.Unmarshal(body, &out); err != nil {
			return nil, fmt.Errorf("decoding answer: %w", err)
		}
		return out, nil
	}
	dec := xml.NewDecoder(bytes.NewReader(body))
	depth := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("decoding answer: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 1 && t.Name.Local == elem {
				var v T
				if err := dec.DecodeElement(&v, &t); err != nil {
					return nil, fmt.Errorf("decoding answer: %w", err)
				}
				out = append(out, v)
				continue
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
}

// decodeOne reads a single-object answer.
func decodeOne[T any](f Format, body []byte) (T, error) {
	var v T
	var err error
	if f == XML {
		err = xml.Unmarshal(body, &v)
	} else {
		err = json.Unmarshal(body, &v)
	}
	if err != nil {
		return v, fmt.Errorf("decoding answer: %w", err)
	}
	return v, nil
}

// errorDocument recognises a 2xx answer that is only an error document: an
// XML <errors> root, or a JSON array whose every entry has just a code and a
// description (a service request has no "code").
func errorDocument(body []byte) ([]ErrorEntry, bool) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, false
	}
	if body[0] == '<' {
		if entries, ok := parseXMLErrors(body); ok {
			return entries, true
		}
		return nil, false
	}
	if body[0] != '[' {
		return nil, false
	}
	var raw []map[string]json.RawMessage
	if json.Unmarshal(body, &raw) != nil || len(raw) == 0 {
		return nil, false
	}
	for _, m := range raw {
		_, code := m["code"]
		_, desc := m["description"]
		if !code || !desc || len(m) != 2 {
			return nil, false
		}
	}
	return parseErrorArray(body)
}

// parseXMLErrors reads <errors><error><code/><description/></error></errors>.
func parseXMLErrors(body []byte) ([]ErrorEntry, bool) {
	var doc struct {
		XMLName xml.Name    `xml:"errors"`
		Errors  []wireError `xml:"error"`
	}
	if xml.Unmarshal(body, &doc) != nil || len(doc.Errors) == 0 {
		return nil, false
	}
	out := make([]ErrorEntry, 0, len(doc.Errors))
	for _, e := range doc.Errors {
		out = append(out, ErrorEntry{Code: string(e.Code), Description: e.Description})
	}
	return out, true
}
