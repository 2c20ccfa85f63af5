package open311sim

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// format is the response format chosen by the resource's extension.
type format string

const (
	formatJSON format = "json"
	formatXML  format = "xml"
)

// splitFormat splits "services.json" into "services" and its format.
// A name without a known extension is reported as not ok.
func splitFormat(name string) (string, format, bool) {
	switch {
	case strings.HasSuffix(name, ".json"):
		return strings.TrimSuffix(name, ".json"), formatJSON, true
	case strings.HasSuffix(name, ".xml"):
		return strings.TrimSuffix(name, ".xml"), formatXML, true
	}
	return name, "", false
}

// apiError is one entry of the spec's error array.
type apiError struct {
	XMLName     xml.Name `json:"-" xml:"error"`
	Code        int      `json:"code" xml:"code"`
	Description string   `json:"description" xml:"description"`
}

// errors is the XML document wrapping an error array.
type errors struct {
	XMLName xml.Name   `xml:"errors"`
	Errors  []apiError `xml:"error"`
}

// writeError answers status with a one-entry error array whose code is
// the HTTP status, as the GeoReport v2 examples do.
func writeError(w http.ResponseWriter, f format, status int, description string) {
	errs := []apiError{{Code: status, Description: description}}
	if f == formatXML {
		writeXML(w, status, errors{Errors: errs})
		return
	}
	writeJSON(w, status, errs)
}

// write answers 200 with v in the requested format; x is the XML
// document for the same content.
func write(w http.ResponseWriter, f format, v, x any) {
	if f == formatXML {
		writeXML(w, http.StatusOK, x)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// writeJSON encodes v before anything is sent, so that a value no encoder
// can write (a NaN, say) becomes a 500 error document rather than a 200
// with an empty body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeEncodingFailure(w, formatJSON, err)
		return
	}
	send(w, "application/json; charset=utf-8", status, append(body, '\n'))
}

// writeXML is writeJSON's XML twin.
func writeXML(w http.ResponseWriter, status int, v any) {
	body, err := xml.Marshal(v)
	if err != nil {
		writeEncodingFailure(w, formatXML, err)
		return
	}
	send(w, "text/xml; charset=utf-8", status, append([]byte(xml.Header), body...))
}

func send(w http.ResponseWriter, contentType string, status int, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeEncodingFailure answers 500 with the spec's error document when an
// answer could not be encoded; the error document itself always encodes.
func writeEncodingFailure(w http.ResponseWriter, f format, err error) {
	errs := []apiError{{Code: http.StatusInternalServerError, Description: "the answer could not be encoded: " + err.Error()}}
	if f == formatXML {
		body, _ := xml.Marshal(errors{Errors: errs})
		send(w, "text/xml; charset=utf-8", http.StatusInternalServerError, append([]byte(xml.Header), body...))
		return
	}
	body, _ := json.Marshal(errs)
	send(w, "application/json; charset=utf-8", http.StatusInternalServerError, append(body, '\n'))
}

// formatTime formats t as the spec's ISO 8601 subset, or "" for the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// serviceView is one service in services.json/.xml.
type serviceView struct {
	XMLName     xml.Name `json:"-" xml:"service"`
	ServiceCode string   `json:"service_code" xml:"service_code"`
	ServiceName string   `json:"service_name" xml:"service_name"`
	Description string   `json:"description" xml:"description"`
	Metadata    bool     `json:"metadata" xml:"metadata"`
	Type        string   `json:"type" xml:"type"`
	Keywords    string   `json:"keywords" xml:"keywords"`
	Group       string   `json:"group" xml:"group"`
}

type servicesXML struct {
	XMLName  xml.Name      `xml:"services"`
	Services []serviceView `xml:"service"`
}

// definitionView is services/{code}.json.
type definitionView struct {
	XMLName     xml.Name        `json:"-" xml:"service_definition"`
	ServiceCode string          `json:"service_code" xml:"service_code"`
	Attributes  []attributeView `json:"attributes" xml:"attributes>attribute"`
}

type attributeView struct {
	Variable            bool            `json:"variable" xml:"variable"`
	Code                string          `json:"code" xml:"code"`
	Datatype            string          `json:"datatype" xml:"datatype"`
	Required            bool            `json:"required" xml:"required"`
	DatatypeDescription string          `json:"datatype_description" xml:"datatype_description"`
	Order               int             `json:"order" xml:"order"`
	Description         string          `json:"description" xml:"description"`
	Values              []attrValueView `json:"values,omitempty" xml:"values>value,omitempty"`
}

type attrValueView struct {
	Key  string `json:"key" xml:"key"`
	Name string `json:"name" xml:"name"`
}

func serviceViewOf(s *service) serviceView {
	return serviceView{
		ServiceCode: s.Code, ServiceName: s.Name, Description: s.Description,
		Metadata: len(s.Attributes) > 0, Type: s.Type, Keywords: s.Keywords, Group: s.Group,
	}
}

func definitionViewOf(s *service) definitionView {
	d := definitionView{ServiceCode: s.Code}
	for _, a := range s.Attributes {
		av := attributeView{
			Variable: a.Variable, Code: a.Code, Datatype: a.Datatype, Required: a.Required,
			DatatypeDescription: a.DatatypeDoc, Order: a.Order, Description: a.Description,
		}
		for _, v := range a.Values {
			av.Values = append(av.Values, attrValueView(v))
		}
		d.Attributes = append(d.Attributes, av)
	}
	return d
}

// requestView is one service request as GET requests.json shows it.
// Optional fields that are empty are left out, as the spec's examples do
// (a URI-typed media_url is never ""); lat and long are numbers, or null.
type requestView struct {
	XMLName           xml.Name `json:"-" xml:"request"`
	ServiceRequestID  string   `json:"service_request_id" xml:"service_request_id"`
	Status            string   `json:"status" xml:"status"`
	StatusNotes       string   `json:"status_notes,omitempty" xml:"status_notes,omitempty"`
	ServiceName       string   `json:"service_name" xml:"service_name"`
	ServiceCode       string   `json:"service_code" xml:"service_code"`
	Description       string   `json:"description,omitempty" xml:"description,omitempty"`
	AgencyResponsible string   `json:"agency_responsible,omitempty" xml:"agency_responsible,omitempty"`
	ServiceNotice     string   `json:"service_notice,omitempty" xml:"service_notice,omitempty"`
	RequestedDatetime string   `json:"requested_datetime" xml:"requested_datetime"`
	UpdatedDatetime   string   `json:"updated_datetime" xml:"updated_datetime"`
	ExpectedDatetime  string   `json:"expected_datetime,omitempty" xml:"expected_datetime,omitempty"`
	Address           string   `json:"address,omitempty" xml:"address,omitempty"`
	AddressID         string   `json:"address_id,omitempty" xml:"address_id,omitempty"`
	Zipcode           string   `json:"zipcode,omitempty" xml:"zipcode,omitempty"`
	Lat               *float64 `json:"lat" xml:"lat"`
	Long              *float64 `json:"long" xml:"long"`
	MediaURL          string   `json:"media_url,omitempty" xml:"media_url,omitempty"`
}

// postView is one entry of the answer to POST requests.json, and of
// tokens/{token}.json.
type postView struct {
	XMLName          xml.Name `json:"-" xml:"request"`
	ServiceRequestID string   `json:"service_request_id,omitempty" xml:"service_request_id,omitempty"`
	Token            string   `json:"token,omitempty" xml:"token,omitempty"`
	ServiceNotice    string   `json:"service_notice,omitempty" xml:"service_notice,omitempty"`
	AccountID        string   `json:"account_id,omitempty" xml:"account_id,omitempty"`
}

// requestsXML wraps request lists (and POST answers) for XML output.
type requestsXML struct {
	XMLName  xml.Name `xml:"service_requests"`
	Requests any      `xml:"request"`
}
