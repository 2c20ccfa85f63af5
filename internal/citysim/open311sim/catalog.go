package open311sim

import "time"

// Streetlight service codes offered by the simulated Open311 server. They are
// what the city's 311 call centre would publish for streetlight problems; the
// alarm-311 workflow maps CMS alarms onto them.
const (
	ServiceLightOut   = "SLOUT" // one light out
	ServiceDayBurner  = "SLDAY" // light on during the day
	ServiceCycling    = "SLCYC" // light flickering or cycling on and off
	ServiceKnockdown  = "SLKNK" // pole knocked down or leaning
	ServiceWiring     = "SLWIR" // exposed wiring or open hand hole
	ServiceAreaOutage = "SLPWR" // several lights out on a circuit; a batch service
)

// Open311 attribute codes used by every streetlight service.
const (
	AttrAssetID  = "ASSET_ID"
	AttrPoleID   = "POLE_ID"
	AttrLampType = "LAMP_TYPE"
	AttrHazard   = "HAZARD"
	AttrObserved = "OBSERVED_AT"
)

// service is one entry of services.json together with its definition
// and how the simulated crews work it.
type service struct {
	Code, Name, Description, Group, Keywords string
	Type                                     string // realtime, batch or blackbox
	Notice                                   string
	Attributes                               []attribute
	Target                                   time.Duration // service level: requested to expected
	CloseNotes                               []string      // what crews write when they close one
}

// attribute is one attribute of a service definition.
type attribute struct {
	Variable    bool
	Code        string
	Datatype    string // string, number, datetime, text, singlevaluelist, multivaluelist
	Required    bool
	DatatypeDoc string
	Order       int
	Description string
	Values      []attrValue
}

// attrValue is one allowed value of a list attribute.
type attrValue struct{ Key, Name string }

// catalog returns the simulated city's streetlight services, in the
// order services.json lists them. SLPWR is always a batch service; batch
// names further codes served as batch services (answered with a token rather
// than a service_request_id), blackbox those answered with neither.
func catalog(batch, blackbox map[string]bool) []service {
	lampTypes := []attrValue{
		{"LED", "LED"}, {"HPS", "High pressure sodium"}, {"LPS", "Low pressure sodium"}, {"MH", "Metal halide"},
	}
	hazards := []attrValue{
		{"wires", "Wires down or exposed"}, {"traffic", "Blocking traffic"},
		{"leaning", "Pole leaning"}, {"glass", "Broken glass"},
	}
	common := func(extra ...attribute) []attribute {
		attrs := []attribute{
			{Variable: true, Code: AttrAssetID, Datatype: "string", Required: true, Order: 1,
				DatatypeDoc: "Streetlight asset id as printed on the pole tag, e.g. SL-0012345.",
				Description: "Which streetlight is affected?"},
			{Variable: true, Code: AttrPoleID, Datatype: "string", Order: 2,
				Description: "Pole number, if known."},
			{Variable: true, Code: AttrLampType, Datatype: "singlevaluelist", Order: 3,
				Description: "Lamp type, if known.", Values: lampTypes},
			{Variable: true, Code: AttrObserved, Datatype: "datetime", Order: 4,
				DatatypeDoc: "ISO 8601 date and time with a time zone.",
				Description: "When was the problem first observed?"},
		}
		return append(attrs, extra...)
	}
	services := []service{
		{Code: ServiceLightOut, Name: "Street Light Out", Group: "Street Lights",
			Keywords: "streetlight,light,out,dark", Description: "A single street light is completely out.",
			Notice: "Thank you. Street light outages are usually repaired within 3 business days.",
			Target: 72 * time.Hour, Attributes: common(),
			CloseNotes: []string{"Lamp replaced.", "Photocell replaced.", "Driver replaced.", "Fuse replaced; light restored."}},
		{Code: ServiceDayBurner, Name: "Street Light On During Day", Group: "Street Lights",
			Keywords: "streetlight,day burner,on", Description: "A street light stays on in daylight.",
			Notice: "Thank you. Day burners are usually repaired within 5 business days.",
			Target: 120 * time.Hour, Attributes: common(),
			CloseNotes: []string{"Photocell replaced.", "Controller schedule corrected.", "Relay replaced."}},
		{Code: ServiceCycling, Name: "Street Light Flickering or Cycling", Group: "Street Lights",
			Keywords: "streetlight,flicker,cycling", Description: "A street light flickers or turns on and off repeatedly.",
			Notice: "Thank you. Cycling lights are usually repaired within 5 business days.",
			Target: 120 * time.Hour, Attributes: common(),
			CloseNotes: []string{"Lamp replaced.", "Ballast replaced.", "Loose connection repaired."}},
		{Code: ServiceKnockdown, Name: "Street Light Pole Knocked Down", Group: "Street Lights",
			Keywords: "pole,knockdown,damage,leaning", Description: "A street light pole is knocked down, leaning or damaged.",
			Notice: "Thank you. Knocked-down poles are made safe within 24 hours.",
			Target: 24 * time.Hour,
			Attributes: common(attribute{Variable: true, Code: AttrHazard, Datatype: "multivaluelist", Order: 5,
				Description: "Which hazards are present?", Values: hazards}),
			CloseNotes: []string{"Pole made safe and replaced.", "Pole straightened and inspected."}},
		{Code: ServiceWiring, Name: "Exposed Street Light Wiring", Group: "Street Lights",
			Keywords: "wiring,hand hole,electrical", Description: "Wiring is exposed or a hand hole cover is missing.",
			Notice: "Thank you. Electrical hazards are made safe within 24 hours.",
			Target: 24 * time.Hour, Attributes: common(),
			CloseNotes: []string{"Hand hole cover replaced.", "Wiring secured."}},
		{Code: ServiceAreaOutage, Name: "Several Street Lights Out", Group: "Street Lights",
			Keywords: "outage,circuit,several lights", Description: "Several street lights in a row are out, usually a circuit fault.",
			Notice: "Thank you. Circuit outages are referred to the electrical crew.",
			Target: 96 * time.Hour, Type: "batch", Attributes: common(),
			CloseNotes: []string{"Circuit breaker reset.", "Underground cable fault repaired.", "Utility feed restored."}},
	}
	for i := range services {
		switch {
		case blackbox[services[i].Code]:
			services[i].Type = "blackbox"
		case batch[services[i].Code]:
			services[i].Type = "batch"
		case services[i].Type == "":
			services[i].Type = "realtime"
		}
	}
	return services
}

// attr returns the attribute with the given code, or false.
func (s *service) attr(code string) (attribute, bool) {
	for _, a := range s.Attributes {
		if a.Code == code {
			return a, true
		}
	}
	return attribute{}, false
}

// hasKey reports whether key is one of the list attribute's allowed values.
func (a attribute) hasKey(key string) bool {
	for _, v := range a.Values {
		if v.Key == key {
			return true
		}
	}
	return false
}
