package citysim

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strings"
	"time"
)

// open311Format is the response format chosen by the resource's extension.
type open311Format string

const (
	open311JSON open311Format = "json"
	open311XML  open311Format = "xml"
)

// open311SplitFormat splits "services.json" into "services" and its format.
// A name without a known extension is reported as not ok.
func open311SplitFormat(name string) (string, open311Format, bool) {
	switch {
	case strings.HasSuffix(name, ".json"):
		return strings.TrimSuffix(name, ".json"), open311JSON, true
	case strings.HasSuffix(name, ".xml"):
		return strings.TrimSuffix(name, ".xml"), open311XML, true
	}
	return name, "", false
}

// open311Error is one entry of the spec's error array.
type open311Error struct {
	XMLName     xml.Name `json:"-" xml:"error"`
	Code        int      `json:"code" xml:"code"`
	Description string   `json:"description" xml:"description"`
}

// open311Errors is the XML document wrapping an error array.
type open311Errors struct {
	XMLName xml.Name       `xml:"errors"`
	Errors  []open311Error `xml:"error"`
}

// open311WriteError answers status with a one-entry error array whose code is
// the HTTP status, as the GeoReport v2 examples do.
func open311WriteError(w http.ResponseWriter, f open311Format, status int, description string) {
	errs := []open311Error{{Code: status, Description: description}}
	if f == open311XML {
		open311WriteXML(w, status, open311Errors{Errors: errs})
		return
	}
	open311WriteJSON(w, status, errs)
}

// open311Write answers 200 with v in the requested format; x is the XML
// document for the same content.
func open311Write(w http.ResponseWriter, f open311Format, v, x any) {
	if f == open311XML {
		open311WriteXML(w, http.StatusOK, x)
		return
	}
	open311WriteJSON(w, http.StatusOK, v)
}

func open311WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func open311WriteXML(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(v)
}

// open311Time formats t as the spec's ISO 8601 subset, or "" for the zero time.
func open311Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// open311ServiceView is one service in services.json/.xml.
type open311ServiceView struct {
	XMLName     xml.Name `json:"-" xml:"service"`
	ServiceCode string   `json:"service_code" xml:"service_code"`
	ServiceName string   `json:"service_name" xml:"service_name"`
	Description string   `json:"description" xml:"description"`
	Metadata    bool     `json:"metadata" xml:"metadata"`
	Type        string   `json:"type" xml:"type"`
	Keywords    string   `json:"keywords" xml:"keywords"`
	Group       string   `json:"group" xml:"group"`
}

type open311ServicesXML struct {
	XMLName  xml.Name             `xml:"services"`
	Services []open311ServiceView `xml:"service"`
}

// open311DefinitionView is services/{code}.json.
type open311DefinitionView struct {
	XMLName     xml.Name               `json:"-" xml:"service_definition"`
	ServiceCode string                 `json:"service_code" xml:"service_code"`
	Attributes  []open311AttributeView `json:"attributes" xml:"attributes>attribute"`
}

type open311AttributeView struct {
	Variable            bool                   `json:"variable" xml:"variable"`
	Code                string                 `json:"code" xml:"code"`
	Datatype            string                 `json:"datatype" xml:"datatype"`
	Required            bool                   `json:"required" xml:"required"`
	DatatypeDescription string                 `json:"datatype_description" xml:"datatype_description"`
	Order               int                    `json:"order" xml:"order"`
	Description         string                 `json:"description" xml:"description"`
	Values              []open311AttrValueView `json:"values,omitempty" xml:"values>value,omitempty"`
}

type open311AttrValueView struct {
	Key  string `json:"key" xml:"key"`
	Name string `json:"name" xml:"name"`
}

func open311ServiceViewOf(s *open311Service) open311ServiceView {
	return open311ServiceView{
		ServiceCode: s.Code, ServiceName: s.Name, Description: s.Description,
		Metadata: len(s.Attributes) > 0, Type: s.Type, Keywords: s.Keywords, Group: s.Group,
	}
}

func open311DefinitionViewOf(s *open311Service) open311DefinitionView {
	d := open311DefinitionView{ServiceCode: s.Code}
	for _, a := range s.Attributes {
		av := open311AttributeView{
			Variable: a.Variable, Code: a.Code, Datatype: a.Datatype, Required: a.Required,
			DatatypeDescription: a.DatatypeDoc, Order: a.Order, Description: a.Description,
		}
		for _, v := range a.Values {
			av.Values = append(av.Values, open311AttrValueView(v))
		}
		d.Attributes = append(d.Attributes, av)
	}
	return d
}

// open311RequestView is one service request as GET requests.json shows it.
// Fields the spec allows to be empty are written as empty strings, lat and
// long as numbers.
type open311RequestView struct {
	XMLName           xml.Name `json:"-" xml:"request"`
	ServiceRequestID  string   `json:"service_request_id" xml:"service_request_id"`
	Status            string   `json:"status" xml:"status"`
	StatusNotes       string   `json:"status_notes" xml:"status_notes"`
	ServiceName       string   `json:"service_name" xml:"service_name"`
	ServiceCode       string   `json:"service_code" xml:"service_code"`
	Description       string   `json:"description" xml:"description"`
	AgencyResponsible string   `json:"agency_responsible" xml:"agency_responsible"`
	ServiceNotice     string   `json:"service_notice" xml:"service_notice"`
	RequestedDatetime string   `json:"requested_datetime" xml:"requested_datetime"`
	UpdatedDatetime   string   `json:"updated_datetime" xml:"updated_datetime"`
	ExpectedDatetime  string   `json:"expected_datetime" xml:"expected_datetime"`
	Address           string   `json:"address" xml:"address"`
	AddressID         string   `json:"address_id" xml:"address_id"`
	Zipcode           string   `json:"zipcode" xml:"zipcode"`
	Lat               *float64 `json:"lat" xml:"lat"`
	Long              *float64 `json:"long" xml:"long"`
	MediaURL          string   `json:"media_url" xml:"media_url"`
}

// open311PostView is one entry of the answer to POST requests.json, and of
// tokens/{token}.json.
type open311PostView struct {
	XMLName          xml.Name `json:"-" xml:"request"`
	ServiceRequestID string   `json:"service_request_id,omitempty" xml:"service_request_id,omitempty"`
	Token            string   `json:"token,omitempty" xml:"token,omitempty"`
	ServiceNotice    string   `json:"service_notice,omitempty" xml:"service_notice,omitempty"`
	AccountID        string   `json:"account_id,omitempty" xml:"account_id,omitempty"`
}

// open311RequestsXML wraps request lists (and POST answers) for XML output.
type open311RequestsXML struct {
	XMLName  xml.Name `xml:"service_requests"`
	Requests any      `xml:"request"`
}
