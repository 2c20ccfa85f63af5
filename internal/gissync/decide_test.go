package gissync

import (
	"fmt"
	"testing"
)

// TestDecide holds the field rules of the package doc, for a push (source
// CMS, target DOT) of one field at a time.
func TestDecide(t *testing.T) {
	t.Parallel()
	own := DefaultOwnership()
	cases := []struct {
		name          string
		field         string
		cms, dot      string
		base          *string // nil: never synced
		cmsNewer      bool
		write         bool
		report        string
		baseAfter     string
		agreedOnField bool
	}{
		{"equal values agree", FieldCircuit, "A", "A", ptr("B"), true, false, "", "A", true},
		{"source-owned field is written", FieldWatts, "90", "70", ptr("70"), false, true, "", "90", true},
		{"source-owned field overwrites a target edit", FieldWatts, "90", "75", ptr("90"), false, true, "", "90", true},
		{"target-owned field edited at the source is reported", FieldPole, "P-2", "P-1", ptr("P-1"), true, false, "not_owned", "P-1", false},
		{"target-owned field first sync: base takes the source", FieldPole, "P-2", "P-1", nil, true, false, "", "P-2", false},
		{"nobody's field changed at the source only", FieldAddress, "new", "old", ptr("old"), false, true, "", "new", true},
		{"nobody's field changed at the target only", FieldAddress, "old", "new", ptr("old"), true, false, "", "old", false},
		{"conflict, source later: written and reported", FieldAddress, "c", "d", ptr("b"), true, true, "conflict", "c", true},
		{"conflict, target later: kept for the other direction", FieldAddress, "c", "d", ptr("b"), false, false, "", "b", false},
		{"no base: the source wins", FieldAddress, "c", "d", nil, false, true, "", "c", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src, dst := record{}, record{}
			var base record
			for _, f := range fields {
				src[f], dst[f] = "same", "same"
			}
			src[tc.field], dst[tc.field] = tc.cms, tc.dot
			if tc.base != nil {
				base = record{}
				for _, f := range fields {
					base[f] = "same"
				}
				base[tc.field] = *tc.base
			}
			d := decide(own, OwnerDOT, src, dst, base, tc.cmsNewer)
			_, wrote := d.write[tc.field]
			var kinds []string
			for _, r := range d.reports {
				kinds = append(kinds, r.Kind)
			}
			wantReports := "[]"
			if tc.report != "" {
				wantReports = "[" + tc.report + "]"
			}
			if wrote != tc.write || fmt.Sprint(kinds) != wantReports || d.base[tc.field] != tc.baseAfter || d.agreed != tc.agreedOnField {
				t.Errorf("write %v reports %v base %q agreed %v; want %v %s %q %v",
					wrote, kinds, d.base[tc.field], d.agreed, tc.write, wantReports, tc.baseAfter, tc.agreedOnField)
			}
			if len(d.write) > 1 {
				t.Errorf("wrote fields %v besides %s", d.write, tc.field)
			}
		})
	}
}

func ptr(s string) *string { return &s }
