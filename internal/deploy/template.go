package deploy

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Template is a CloudFormation (or SAM) template as written. Values are the
// generic JSON shapes: map[string]any, []any, string, int64, float64, bool
// and nil; an intrinsic function is a one-key map in its long form
// ({"Ref": "X"}, {"Fn::GetAtt": ["R", "A"]}), whichever form the YAML used.
type Template struct {
	Path       string
	Raw        map[string]any
	Parameters map[string]map[string]any
	Conditions map[string]any
	Globals    map[string]map[string]any
	Resources  map[string]*Resource
	Outputs    map[string]map[string]any
}

// Resource is one entry of a template's Resources.
type Resource struct {
	Name       string
	Type       string
	Properties map[string]any
	// Attrs holds the resource's other keys: DependsOn, Condition,
	// Metadata, DeletionPolicy and the like.
	Attrs map[string]any
}

// IsSAM reports whether the template uses the SAM transform.
func (t *Template) IsSAM() bool {
	switch tr := t.Raw["Transform"].(type) {
	case string:
		return tr == "AWS::Serverless-2016-10-31"
	case []any:
		for _, x := range tr {
			if x == "AWS::Serverless-2016-10-31" {
				return true
			}
		}
	}
	return false
}

// ParseFile reads and parses the template at path.
func ParseFile(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t.Path = path
	return t, nil
}

// Parse reads a YAML (or JSON) template.
func Parse(b []byte) (*Template, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parsing yaml: %w", err)
	}
	if len(doc.Content) != 1 {
		return nil, errors.New("template is empty")
	}
	v, err := value(doc.Content[0])
	if err != nil {
		return nil, err
	}
	raw, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("template is not a mapping")
	}
	t := &Template{Raw: raw, Parameters: map[string]map[string]any{}, Globals: map[string]map[string]any{},
		Resources: map[string]*Resource{}, Outputs: map[string]map[string]any{}}
	known := map[string]bool{"AWSTemplateFormatVersion": true, "Description": true, "Transform": true, "Metadata": true,
		"Parameters": true, "Rules": true, "Mappings": true, "Conditions": true, "Globals": true, "Resources": true, "Outputs": true}
	for k := range raw {
		if !known[k] {
			return nil, fmt.Errorf("unknown template section %q", k)
		}
	}
	if err := section(raw, "Parameters", t.Parameters); err != nil {
		return nil, err
	}
	if err := section(raw, "Outputs", t.Outputs); err != nil {
		return nil, err
	}
	if err := section(raw, "Globals", t.Globals); err != nil {
		return nil, err
	}
	t.Conditions, _ = raw["Conditions"].(map[string]any)
	res, ok := raw["Resources"].(map[string]any)
	if !ok || len(res) == 0 {
		return nil, errors.New("template has no Resources")
	}
	for name, rv := range res {
		m, ok := rv.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("resource %s is not a mapping", name)
		}
		r := &Resource{Name: name, Attrs: map[string]any{}}
		for k, v := range m {
			switch k {
			case "Type":
				r.Type, _ = v.(string)
			case "Properties":
				if r.Properties, ok = v.(map[string]any); !ok {
					return nil, fmt.Errorf("resource %s: Properties is not a mapping", name)
				}
			default:
				r.Attrs[k] = v
			}
		}
		if r.Type == "" {
			return nil, fmt.Errorf("resource %s has no Type", name)
		}
		if r.Properties == nil {
			r.Properties = map[string]any{}
		}
		t.Resources[name] = r
	}
	return t, nil
}

func section(raw map[string]any, name string, dst map[string]map[string]any) error {
	s, ok := raw[name]
	if !ok {
		return nil
	}
	m, ok := s.(map[string]any)
	if !ok {
		return fmt.Errorf("%s is not a mapping", name)
	}
	for k, v := range m {
		vm, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s.%s is not a mapping", name, k)
		}
		dst[k] = vm
	}
	return nil
}

// shortForms maps YAML's short-form tags to the functions' long names.
var shortForms = map[string]string{
	"!Ref": "Ref", "!Condition": "Condition", "!GetAtt": "Fn::GetAtt", "!Sub": "Fn::Sub",
	"!Join": "Fn::Join", "!Select": "Fn::Select", "!Split": "Fn::Split", "!If": "Fn::If",
	"!Equals": "Fn::Equals", "!Not": "Fn::Not", "!And": "Fn::And", "!Or": "Fn::Or",
	"!FindInMap": "Fn::FindInMap", "!ImportValue": "Fn::ImportValue", "!Base64": "Fn::Base64",
	"!GetAZs": "Fn::GetAZs", "!Cidr": "Fn::Cidr", "!Transform": "Fn::Transform", "!ToJsonString": "Fn::ToJsonString",
	"!Length": "Fn::Length",
}

func value(n *yaml.Node) (any, error) {
	if n.Kind == yaml.AliasNode {
		return value(n.Alias)
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		fn, ok := shortForms[n.Tag]
		if !ok {
			return nil, fmt.Errorf("line %d: unknown tag %s", n.Line, n.Tag)
		}
		inner := *n
		inner.Tag = ""
		switch n.Kind {
		case yaml.ScalarNode:
			inner.Tag = "!!str"
		case yaml.SequenceNode:
			inner.Tag = "!!seq"
		case yaml.MappingNode:
			inner.Tag = "!!map"
		}
		v, err := value(&inner)
		if err != nil {
			return nil, err
		}
		if fn == "Fn::GetAtt" {
			// !GetAtt R.A is the list [R, A] in long form; the attribute
			// may itself hold dots (Endpoint.Address).
			if s, ok := v.(string); ok {
				r, a, _ := strings.Cut(s, ".")
				v = []any{r, a}
			}
		}
		return map[string]any{fn: v}, nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("line %d: key %q twice", n.Content[i].Line, k)
			}
			v, err := value(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k] = v
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := value(c)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!int":
			i, err := strconv.ParseInt(n.Value, 0, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n.Line, err)
			}
			return i, nil
		case "!!float":
			f, err := strconv.ParseFloat(n.Value, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n.Line, err)
			}
			return f, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, fmt.Errorf("line %d: %w", n.Line, err)
			}
			return b, nil
		case "!!null":
			return nil, nil
		}
		return n.Value, nil
	}
	return nil, fmt.Errorf("line %d: unexpected yaml node", n.Line)
}

// Intrinsic returns the function name and argument of v if v is an
// intrinsic function (a one-key map whose key is Ref, Condition or Fn::*).
func Intrinsic(v any) (string, any, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return "", nil, false
	}
	for k, a := range m {
		if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
			return k, a, true
		}
	}
	return "", nil, false
}

// Walk calls fn for v and everything inside it, depth first, with a path
// such as Resources.Database.Properties.MultiAZ.
func Walk(path string, v any, fn func(path string, v any)) {
	fn(path, v)
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			Walk(path+"."+k, c, fn)
		}
	case []any:
		for i, c := range x {
			Walk(path+"["+strconv.Itoa(i)+"]", c, fn)
		}
	}
}
