package open311

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Real GeoReport v2 servers disagree on JSON types the spec leaves loose: ids
// come as numbers or strings, lat/long as numbers or strings, booleans as
// true or "true", empty values as "" or null. The flex types read all of them.

// flexString reads a JSON string, number or null as a string.
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*s = ""
	case len(b) > 0 && b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		*s = flexString(b)
	default:
		return fmt.Errorf("want a string or number, got %s", b)
	}
	return nil
}

// flexFloat reads a JSON number, numeric string, "" or null; ok says whether
// a value was present.
type flexFloat struct {
	v  float64
	ok bool
}

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	if strings.TrimSpace(string(s)) == "" {
		*f = flexFloat{}
		return nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(s)), 64)
	if err != nil {
		return fmt.Errorf("reading number %q: %w", s, err)
	}
	*f = flexFloat{v: v, ok: true}
	return nil
}

// flexBool reads true, false, "true", "false" or null.
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	var s flexString
	if bytes.Equal(bytes.TrimSpace(b), []byte("true")) || bytes.Equal(bytes.TrimSpace(b), []byte("false")) {
		*f = flexBool(bytes.Equal(bytes.TrimSpace(b), []byte("true")))
		return nil
	}
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	switch strings.ToLower(strings.TrimSpace(string(s))) {
	case "true", "1", "yes":
		*f = true
	case "false", "0", "no", "":
		*f = false
	default:
		return fmt.Errorf("want a boolean, got %s", b)
	}
	return nil
}

// flexTime reads the spec's datetimes: W3C datetimes (the ISO 8601 profile
// at w3.org/TR/NOTE-datetime, from a year alone down to fractions of a
// second, with Z or a ±hh:mm offset), basic-format offsets (+0100) some
// servers send, and datetimes without a zone, read as UTC. "" and null are
// the zero time. A value none of these fits is kept as text in bad, the
// time left zero: one odd optional date must not lose the request.
type flexTime struct {
	t   time.Time
	bad string
}

func (t *flexTime) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		*t = flexTime{bad: string(b)}
		return nil
	}
	return t.UnmarshalText([]byte(s))
}

func (t *flexTime) UnmarshalText(b []byte) error {
	v, err := parseTime(string(b))
	if err != nil {
		*t = flexTime{bad: strings.TrimSpace(string(b))}
		return nil
	}
	*t = flexTime{t: v}
	return nil
}

// timeLayouts are the datetime forms parseTime accepts, most common first.
// A value with fractional seconds matches a layout whose seconds have none.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04Z0700",
	"2006-01-02T15:04:05Z07",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02T15:04",
	"2006-01-02",
	"2006-01",
	"2006",
}

// parseTime reads one datetime as flexTime does.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range timeLayouts {
		if v, err := time.Parse(layout, s); err == nil {
			return v, nil
		}
	}
	return time.Time{}, fmt.Errorf("reading datetime %q: not a W3C or ISO 8601 datetime", s)
}

// wireService is one entry of services.json.
type wireService struct {
	ServiceCode flexString `json:"service_code" xml:"service_code"`
	ServiceName string     `json:"service_name" xml:"service_name"`
	Description string     `json:"description" xml:"description"`
	Metadata    flexBool   `json:"metadata" xml:"metadata"`
	Type        string     `json:"type" xml:"type"`
	Keywords    string     `json:"keywords" xml:"keywords"`
	Group       string     `json:"group" xml:"group"`
}

// wireDefinition is services/{code}.json.
type wireDefinition struct {
	ServiceCode flexString `json:"service_code" xml:"service_code"`
	Attributes  []struct {
		Variable            flexBool   `json:"variable" xml:"variable"`
		Code                flexString `json:"code" xml:"code"`
		Datatype            string     `json:"datatype" xml:"datatype"`
		Required            flexBool   `json:"required" xml:"required"`
		DatatypeDescription string     `json:"datatype_description" xml:"datatype_description"`
		Order               flexFloat  `json:"order" xml:"order"`
		Description         string     `json:"description" xml:"description"`
		Values              []struct {
			Key  flexString `json:"key" xml:"key"`
			Name string     `json:"name" xml:"name"`
		} `json:"values" xml:"values>value"`
	} `json:"attributes" xml:"attributes>attribute"`
}

// wireRequest is one service request of GET requests.json.
type wireRequest struct {
	ServiceRequestID  flexString `json:"service_request_id" xml:"service_request_id"`
	Token             flexString `json:"token" xml:"token"`
	Status            string     `json:"status" xml:"status"`
	StatusNotes       string     `json:"status_notes" xml:"status_notes"`
	ServiceName       string     `json:"service_name" xml:"service_name"`
	ServiceCode       flexString `json:"service_code" xml:"service_code"`
	Description       string     `json:"description" xml:"description"`
	AgencyResponsible string     `json:"agency_responsible" xml:"agency_responsible"`
	ServiceNotice     string     `json:"service_notice" xml:"service_notice"`
	RequestedDatetime flexTime   `json:"requested_datetime" xml:"requested_datetime"`
	UpdatedDatetime   flexTime   `json:"updated_datetime" xml:"updated_datetime"`
	ExpectedDatetime  flexTime   `json:"expected_datetime" xml:"expected_datetime"`
	Address           string     `json:"address" xml:"address"`
	AddressID         flexString `json:"address_id" xml:"address_id"`
	Zipcode           flexString `json:"zipcode" xml:"zipcode"`
	Lat               flexFloat  `json:"lat" xml:"lat"`
	Long              flexFloat  `json:"long" xml:"long"`
	MediaURL          string     `json:"media_url" xml:"media_url"`
	AccountID         flexString `json:"account_id" xml:"account_id"`
}

// wireError is one entry of an error array.
type wireError struct {
	Code        flexString `json:"code" xml:"code"`
	Description string     `json:"description" xml:"description"`
}

// The flex types read XML character data too: every value is text there.

func (s *flexString) UnmarshalText(b []byte) error {
	*s = flexString(strings.TrimSpace(string(b)))
	return nil
}

func (f *flexFloat) UnmarshalText(b []byte) error {
	return f.UnmarshalJSON(strconv.AppendQuote(nil, string(b)))
}

func (f *flexBool) UnmarshalText(b []byte) error {
	return f.UnmarshalJSON(strconv.AppendQuote(nil, string(b)))
}
