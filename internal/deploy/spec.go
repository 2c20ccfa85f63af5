package deploy

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// SpecPackage is the pinned npm package that carries AWS's resource
// specification (package.json beside this file); its db.json.gz is the
// specification compiled from the CloudFormation registry schemas, SAM's
// resource specification included.
const SpecPackage = "@aws-cdk/aws-service-spec"

// Spec is AWS's CloudFormation resource specification: every resource
// type, its properties with their types, and its attributes.
type Spec struct {
	resources map[string]*resourceSpec
	types     map[string]*typeDef
}

type resourceSpec struct {
	Type       string              `json:"cloudFormationType"`
	Properties map[string]propSpec `json:"properties"`
	Attributes map[string]any      `json:"attributes"`
}

type typeDef struct {
	ID         string              `json:"$id"`
	Name       string              `json:"name"`
	Properties map[string]propSpec `json:"properties"`
}

type propSpec struct {
	Type          typeSpec   `json:"type"`
	PreviousTypes []typeSpec `json:"previousTypes"`
	Required      bool       `json:"required"`
}

// typeSpec is one of the specification's types: string, number, integer,
// boolean, json, date-time, null, tag, array and map (of Element), union
// (of Types) and ref (a property type, by id).
type typeSpec struct {
	Type      string     `json:"type"`
	Element   *typeSpec  `json:"element"`
	Types     []typeSpec `json:"types"`
	Reference struct {
		Ref string `json:"$ref"`
	} `json:"reference"`
}

// samPassThrough lists the AWS::Serverless::Function properties that SAM
// documents but the SAM resource specification in SpecPackage predates
// (it was last regenerated before SAM 1.82). SAM passes each, unchanged, to
// the AWS::Lambda::Function it generates (SAM's AWS::Serverless::Function
// reference: "passed directly to the LoggingConfig property of an
// AWS::Lambda::Function resource", and likewise for the others), so each is
// checked against that Lambda property's type in the current specification.
var samPassThrough = map[string]map[string]string{
	"AWS::Serverless::Function": {
		"LoggingConfig":           "AWS::Lambda::Function",
		"RecursiveLoop":           "AWS::Lambda::Function",
		"RuntimeManagementConfig": "AWS::Lambda::Function",
		"SnapStart":               "AWS::Lambda::Function",
	},
}

// DefaultSpecPath is where `make deps` installs the specification, beside
// this package's source.
func DefaultSpecPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "node_modules", SpecPackage, "db.json.gz")
}

// LoadSpec reads the specification database at path (db.json.gz).
func LoadSpec(path string) (*Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening the resource specification (run `make deps`, which runs npm ci in internal/deploy): %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var db struct {
		Schema struct {
			Resource struct {
				Entities []*resourceSpec `json:"entities"`
			} `json:"resource"`
			TypeDefinition struct {
				Entities []*typeDef `json:"entities"`
			} `json:"typeDefinition"`
		} `json:"schema"`
	}
	if err := json.NewDecoder(zr).Decode(&db); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", path, err)
	}
	s := &Spec{resources: map[string]*resourceSpec{}, types: map[string]*typeDef{}}
	for _, r := range db.Schema.Resource.Entities {
		s.resources[r.Type] = r
	}
	for _, t := range db.Schema.TypeDefinition.Entities {
		s.types[t.ID] = t
	}
	if len(s.resources) < 1000 || s.resources["AWS::Lambda::Function"] == nil || s.resources["AWS::Serverless::Function"] == nil {
		return nil, fmt.Errorf("%s holds %d resource types, not AWS's specification with SAM's", path, len(s.resources))
	}
	return s, nil
}

// ResourceTypes returns how many resource types the specification knows.
func (s *Spec) ResourceTypes() int { return len(s.resources) }

// resourceAttrs are the keys a resource may have beside Type and Properties.
var resourceAttrs = map[string]bool{"DependsOn": true, "Condition": true, "Metadata": true, "DeletionPolicy": true,
	"UpdateReplacePolicy": true, "UpdatePolicy": true, "CreationPolicy": true}

// Check holds every resource of t to the specification: its type exists,
// every property it sets is one its type has, with a value of the
// property's type (intrinsic functions stand for any type), and every
// required property is set. A SAM function is checked with the template's
// Globals.Function merged in, and Globals.Function itself is checked too.
func (s *Spec) Check(t *Template) []error {
	var errs []error
	for _, name := range sortedKeys(t.Resources) {
		r := t.Resources[name]
		path := "Resources." + name
		for k := range r.Attrs {
			if !resourceAttrs[k] {
				errs = append(errs, fmt.Errorf("%s: unknown resource attribute %s", path, k))
			}
		}
		if strings.HasPrefix(r.Type, "Custom::") || r.Type == "AWS::CloudFormation::CustomResource" {
			if r.Properties["ServiceToken"] == nil {
				errs = append(errs, fmt.Errorf("%s: custom resource without ServiceToken", path))
			}
			continue
		}
		rs, ok := s.resources[r.Type]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: unknown resource type %s", path, r.Type))
			continue
		}
		props := r.Properties
		if g, ok := t.Globals[globalsSection(r.Type)]; ok && t.IsSAM() {
			props = map[string]any{}
			for k, v := range g {
				props[k] = v
			}
			for k, v := range r.Properties {
				props[k] = v
			}
		}
		errs = append(errs, s.checkProps(path+".Properties", r.Type, rs.Properties, props)...)
	}
	if t.IsSAM() {
		for _, sec := range sortedKeys(t.Globals) {
			typ := "AWS::Serverless::" + sec
			rs, ok := s.resources[typ]
			if !ok {
				errs = append(errs, fmt.Errorf("section %s of Globals: no SAM resource type %s", sec, typ))
				continue
			}
			for _, k := range sortedKeys(t.Globals[sec]) {
				errs = append(errs, s.checkProp("Globals."+sec+"."+k, typ, rs.Properties, k, t.Globals[sec][k])...)
			}
		}
	}
	return errs
}

func globalsSection(resourceType string) string {
	return strings.TrimPrefix(resourceType, "AWS::Serverless::")
}

func (s *Spec) checkProps(path, typ string, spec map[string]propSpec, props map[string]any) []error {
	var errs []error
	for _, k := range sortedKeys(props) {
		errs = append(errs, s.checkProp(path+"."+k, typ, spec, k, props[k])...)
	}
	for _, k := range sortedKeys(spec) {
		if _, set := props[k]; spec[k].Required && !set {
			errs = append(errs, fmt.Errorf("%s: required property %s is missing", path, k))
		}
	}
	return errs
}

func (s *Spec) checkProp(path, typ string, spec map[string]propSpec, name string, v any) []error {
	p, ok := spec[name]
	if !ok {
		if owner, pass := samPassThrough[typ][name]; pass {
			p, ok = s.resources[owner].Properties[name]
		}
	}
	if !ok {
		return []error{fmt.Errorf("%s: %s has no property %s", path, typ, name)}
	}
	errs := s.checkValue(path, v, p.Type)
	for _, prev := range p.PreviousTypes {
		if len(errs) == 0 {
			break
		}
		if len(s.checkValue(path, v, prev)) == 0 {
			errs = nil
		}
	}
	return errs
}

func (s *Spec) checkValue(path string, v any, ts typeSpec) []error {
	if _, _, ok := Intrinsic(v); ok {
		return nil
	}
	bad := func(want string) []error {
		return []error{fmt.Errorf("%s: %v (%T) is not %s", path, v, v, want)}
	}
	switch ts.Type {
	case "json":
		return nil
	case "string", "date-time":
		switch v.(type) {
		case string, int64, float64, bool:
			return nil
		}
		return bad("a string")
	case "integer":
		switch x := v.(type) {
		case int64:
			return nil
		case string:
			if _, err := strconv.ParseInt(x, 10, 64); err == nil {
				return nil
			}
		}
		return bad("an integer")
	case "number":
		switch x := v.(type) {
		case int64, float64:
			return nil
		case string:
			if _, err := strconv.ParseFloat(x, 64); err == nil {
				return nil
			}
		}
		return bad("a number")
	case "boolean":
		switch x := v.(type) {
		case bool:
			return nil
		case string:
			if x == "true" || x == "false" {
				return nil
			}
		}
		return bad("a boolean")
	case "null":
		if v == nil {
			return nil
		}
		return bad("null")
	case "tag":
		m, ok := v.(map[string]any)
		if !ok || m["Key"] == nil || len(m) != 2 || m["Value"] == nil {
			return bad("a tag {Key, Value}")
		}
		return nil
	case "array":
		l, ok := v.([]any)
		if !ok {
			return bad("a list")
		}
		var errs []error
		for i, e := range l {
			errs = append(errs, s.checkValue(path+"["+strconv.Itoa(i)+"]", e, *ts.Element)...)
		}
		return errs
	case "map":
		m, ok := v.(map[string]any)
		if !ok {
			return bad("a map")
		}
		var errs []error
		for _, k := range sortedKeys(m) {
			errs = append(errs, s.checkValue(path+"."+k, m[k], *ts.Element)...)
		}
		return errs
	case "ref":
		td, ok := s.types[ts.Reference.Ref]
		if !ok {
			return []error{fmt.Errorf("%s: the specification has no type %s", path, ts.Reference.Ref)}
		}
		m, ok := v.(map[string]any)
		if !ok {
			return bad("a " + td.Name)
		}
		return s.checkProps(path, td.Name, td.Properties, m)
	case "union":
		var first []error
		for _, alt := range ts.Types {
			errs := s.checkValue(path, v, alt)
			if len(errs) == 0 {
				return nil
			}
			if first == nil {
				first = errs
			}
		}
		return first
	}
	return []error{fmt.Errorf("%s: the specification's type %q is not understood", path, ts.Type)}
}

// Attributes returns the attributes Fn::GetAtt may read from a resource of
// type typ, and whether the type is known. A SAM function's are those of the
// Lambda function it becomes.
func (s *Spec) Attributes(typ string) (map[string]any, bool) {
	if typ == "AWS::Serverless::Function" {
		typ = "AWS::Lambda::Function"
	}
	r, ok := s.resources[typ]
	if !ok {
		return nil, false
	}
	return r.Attributes, true
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
