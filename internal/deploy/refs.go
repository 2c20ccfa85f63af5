package deploy

import (
	"fmt"
	"regexp"
	"strings"
)

// pseudoParameters are the parameters CloudFormation defines in every stack.
var pseudoParameters = map[string]bool{"AWS::AccountId": true, "AWS::NotificationARNs": true, "AWS::NoValue": true,
	"AWS::Partition": true, "AWS::Region": true, "AWS::StackId": true, "AWS::StackName": true, "AWS::URLSuffix": true}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

// References checks that every Ref, Fn::GetAtt, Fn::Sub variable,
// DependsOn, Condition and Fn::If names something t declares: a parameter,
// a pseudo parameter, a resource (with an attribute its type has), a
// condition. SAM's generated references <Function>.Version and
// <Function>.Alias are allowed for functions with AutoPublishAlias.
func (s *Spec) References(t *Template) []error {
	var errs []error
	add := func(path, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{path}, a...)...))
	}
	isRes := func(n string) bool { _, ok := t.Resources[n]; return ok }
	isParam := func(n string) bool { _, ok := t.Parameters[n]; return ok }
	isCond := func(n string) bool { _, ok := t.Conditions[n]; return ok }
	samGenerated := func(n string) bool {
		fn, suffix, ok := strings.Cut(n, ".")
		r := t.Resources[fn]
		return ok && (suffix == "Version" || suffix == "Alias") && r != nil &&
			r.Type == "AWS::Serverless::Function" && r.Properties["AutoPublishAlias"] != nil
	}
	ref := func(path, n string) {
		if !isRes(n) && !isParam(n) && !pseudoParameters[n] && !samGenerated(n) {
			add(path, "Ref %s names no parameter or resource", n)
		}
	}
	getAtt := func(path, res, attr string) {
		r, ok := t.Resources[res]
		if !ok {
			add(path, "Fn::GetAtt %s.%s names no resource", res, attr)
			return
		}
		if strings.HasPrefix(r.Type, "Custom::") || r.Type == "AWS::CloudFormation::CustomResource" {
			return
		}
		attrs, ok := s.Attributes(r.Type)
		if !ok {
			return // Check reports the unknown type
		}
		if _, ok := attrs[attr]; !ok {
			add(path, "Fn::GetAtt %s.%s: %s has no attribute %s", res, attr, r.Type, attr)
		}
	}
	visit := func(path string, v any) {
		fn, arg, ok := Intrinsic(v)
		if !ok {
			return
		}
		switch fn {
		case "Ref":
			n, ok := arg.(string)
			if !ok {
				add(path, "Ref takes a name, not %v", arg)
				return
			}
			ref(path, n)
		case "Condition":
			if n, _ := arg.(string); !isCond(n) {
				add(path, "Condition %v names no condition", arg)
			}
		case "Fn::If":
			l, _ := arg.([]any)
			if len(l) != 3 {
				add(path, "Fn::If takes [condition, then, else]")
				return
			}
			if n, _ := l[0].(string); !isCond(n) {
				add(path, "Fn::If %v names no condition", l[0])
			}
		case "Fn::GetAtt":
			var res, attr string
			switch a := arg.(type) {
			case string:
				res, attr, _ = strings.Cut(a, ".")
			case []any:
				if len(a) == 2 {
					res, _ = a[0].(string)
					attr, _ = a[1].(string)
				}
			}
			if res == "" || attr == "" {
				add(path, "Fn::GetAtt takes [resource, attribute], not %v", arg)
				return
			}
			getAtt(path, res, attr)
		case "Fn::Sub":
			var str string
			vars := map[string]any{}
			switch a := arg.(type) {
			case string:
				str = a
			case []any:
				if len(a) == 2 {
					str, _ = a[0].(string)
					vars, _ = a[1].(map[string]any)
				}
			}
			if str == "" {
				add(path, "Fn::Sub takes a string or [string, variables]")
				return
			}
			for _, m := range subVar.FindAllStringSubmatch(str, -1) {
				n := m[1]
				if strings.HasPrefix(n, "!") {
					continue // ${!Literal}
				}
				if _, ok := vars[n]; ok {
					continue
				}
				if res, attr, dotted := strings.Cut(n, "."); dotted && !pseudoParameters[n] {
					getAtt(path, res, attr)
					continue
				}
				ref(path, n)
			}
		}
	}
	for _, name := range sortedKeys(t.Resources) {
		r := t.Resources[name]
		path := "Resources." + name
		Walk(path+".Properties", r.Properties, visit)
		for k, v := range r.Attrs {
			switch k {
			case "DependsOn":
				deps := []any{v}
				if l, ok := v.([]any); ok {
					deps = l
				}
				for _, d := range deps {
					if n, _ := d.(string); !isRes(n) {
						add(path, "DependsOn %v names no resource", d)
					}
				}
			case "Condition":
				if n, _ := v.(string); !isCond(n) {
					add(path, "Condition %v names no condition", v)
				}
			case "Metadata":
			default:
				Walk(path+"."+k, v, visit)
			}
		}
	}
	for name, o := range t.Outputs {
		Walk("Outputs."+name, o, visit)
		if c, ok := o["Condition"]; ok {
			if n, _ := c.(string); !isCond(n) {
				add("Outputs."+name, "Condition %v names no condition", c)
			}
		}
	}
	for name, c := range t.Conditions {
		Walk("Conditions."+name, c, visit)
	}
	for name, g := range t.Globals {
		Walk("Globals."+name, g, visit)
	}
	return errs
}
