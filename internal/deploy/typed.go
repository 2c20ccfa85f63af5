package deploy

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// Typed parses t with goformation into its typed resources, for assertions
// on their fields. goformation is a parser, not a validator, and two of its
// habits are worked around here:
//
//   - By default it resolves intrinsic functions (a Ref to a resource
//     becomes nil). Here Ref, Fn::GetAtt, Fn::Sub and the rest are kept as
//     goformation's own encoding (cloudformation.Ref("X") compares equal),
//     except that a Ref to a parameter whose value is not a string (a
//     Number, a true/false choice, a List) becomes its default or a list, since
//     goformation's typed fields cannot hold a Ref where a number, boolean
//     or list goes, and Fn::If becomes its first branch for the same reason.
//   - Its SAM types predate SAM's LoggingConfig and refuse it, so the
//     template's Globals are left out of the typed parse; Spec.Check reads
//     them against the specification instead.
func Typed(t *Template) (*cloudformation.Template, error) {
	raw := make(map[string]any, len(t.Raw))
	for k, v := range t.Raw {
		if k != "Globals" {
			raw[k] = v
		}
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	handlers := make(map[string]intrinsics.IntrinsicHandler, len(cloudformation.EncoderIntrinsics)+1)
	for k, h := range cloudformation.EncoderIntrinsics {
		handlers[k] = h
	}
	handlers["Ref"] = func(_ string, in any, _ any) any {
		name, _ := in.(string)
		p, ok := t.Parameters[name]
		if !ok {
			return cloudformation.Ref(name)
		}
		typ, _ := p["Type"].(string)
		if strings.HasPrefix(typ, "List<") || typ == "CommaDelimitedList" {
			return []any{cloudformation.Ref(name)}
		}
		def := fmt.Sprint(p["Default"])
		if typ == "Number" {
			if f, err := strconv.ParseFloat(def, 64); err == nil {
				return f
			}
		}
		if av, _ := p["AllowedValues"].([]any); len(av) == 2 && (def == "true" || def == "false") {
			return def == "true"
		}
		return cloudformation.Ref(name)
	}
	handlers["Fn::If"] = func(_ string, in any, _ any) any {
		if l, ok := in.([]any); ok && len(l) == 3 {
			return l[1]
		}
		return nil
	}
	tpl, err := goformation.ParseJSONWithOptions(b, &intrinsics.ProcessorOptions{IntrinsicHandlerOverrides: handlers})
	if err != nil {
		return nil, fmt.Errorf("goformation: %w", err)
	}
	return tpl, nil
}
