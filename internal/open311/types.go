package open311

import "time"

// Service is one entry of the server's service list (GET services).
type Service struct {
	Code, Name, Description string
	// Metadata says whether the service has a definition with attributes.
	Metadata bool
	// Type is realtime, batch or blackbox: batch services answer a POST with
	// a token that later resolves to a service request id.
	Type            string
	Keywords, Group string
}

// ServiceDefinition lists the attributes a service takes (GET service
// definition).
type ServiceDefinition struct {
	ServiceCode string
	Attributes  []Attribute
}

// Attribute is one question a service asks; values are sent as
// attribute[Code] (or attribute[Code][] for a multivaluelist).
type Attribute struct {
	// Variable is false for informational attributes that take no answer.
	Variable bool
	Code     string
	// Datatype is string, number, datetime, text, singlevaluelist or
	// multivaluelist.
	Datatype            string
	Required            bool
	DatatypeDescription string
	Order               int
	Description         string
	Values              []AttributeValue
}

// AttributeValue is one allowed answer of a list attribute.
type AttributeValue struct{ Key, Name string }

// Status values of a service request.
const (
	StatusOpen   = "open"
	StatusClosed = "closed"
)

// ServiceRequest is one service request as GET requests returns it.
type ServiceRequest struct {
	ID                string
	Status            string
	StatusNotes       string
	ServiceName       string
	ServiceCode       string
	Description       string
	AgencyResponsible string
	ServiceNotice     string
	Requested         time.Time
	Updated           time.Time
	Expected          time.Time
	Address           string
	AddressID         string
	Zipcode           string
	// Lat and Long are WGS84 degrees; HasLocation is false when the server
	// gave none.
	Lat, Long   float64
	HasLocation bool
	MediaURL    string
	// Unreadable maps the name of each datetime the server sent in a form
	// no W3C or ISO 8601 reading fits (e.g. "updated_datetime") to its
	// text; that time is left zero rather than losing the request.
	Unreadable map[string]string
}

// Closed reports whether the request is closed.
func (r ServiceRequest) Closed() bool { return r.Status == StatusClosed }

// NewRequest is a service request to file with POST requests. A location is
// required: Lat and Long (with HasLocation), AddressString or AddressID.
type NewRequest struct {
	ServiceCode string
	Lat, Long   float64
	// HasLocation says Lat and Long are set (0,0 is a place too).
	HasLocation   bool
	AddressString string
	AddressID     string
	Email         string
	DeviceID      string
	AccountID     string
	FirstName     string
	LastName      string
	Phone         string
	Description   string
	MediaURL      string
	// Attributes are the service definition's answers by attribute code;
	// several values are sent as a multivaluelist, attribute[code][].
	Attributes map[string][]string
}

// Created is the server's answer to POST requests: a realtime service gives
// the ID, a batch service a Token to resolve later, a blackbox service
// neither (the request is filed but cannot be followed).
type Created struct {
	ID            string
	Token         string
	ServiceNotice string
	AccountID     string
}

// Query filters GET requests. Zero fields are left out; the server then
// applies its defaults (commonly the last 90 days and at most 1,000
// requests).
type Query struct {
	ServiceCodes []string
	Statuses     []string
	Start, End   time.Time
}
