package gissync

// report is an edit the sync did not simply propagate.
type report struct {
	Kind       string // not_owned or conflict
	Field      string
	CMS, DOT   string
	Base       string
	Resolution string
}

// decision is what one direction does with one light.
type decision struct {
	write   map[string]string // fields to write to the target
	base    record            // what the sides agree on afterwards
	agreed  bool              // both sides hold the same record afterwards
	reports []report
}

// decide compares a light's record on the direction's source side (src,
// just read because it changed) with the target's (dst) and the base they
// last agreed on (nil if never), field by field:
//
//   - equal values agree;
//   - a field the target owns is not written; a source edit to it since the
//     base is reported as not_owned;
//   - a field the source owns is written;
//   - a field nobody owns is written when only the source changed it; when
//     both changed it (a conflict) the later edit wins (srcNewer says whose
//     that is; a tie goes to the CMS), and the direction that writes the
//     winner reports the conflict. With no base yet the source wins.
//
// Base values move only for fields the sides agree on afterwards, so a field
// left different is still seen as changed by the other direction.
func decide(own Ownership, target Owner, src, dst, base record, srcNewer bool) decision {
	source := OwnerCMS
	if target == OwnerCMS {
		source = OwnerDOT
	}
	d := decision{write: map[string]string{}, base: record{}, agreed: true}
	for _, f := range fields {
		s, t := src[f], dst[f]
		b, hasBase := base[f]
		keep := func() {
			d.agreed = false
			if hasBase {
				d.base[f] = b
			} else {
				d.base[f] = s
			}
		}
		write := func() {
			d.write[f] = s
			d.base[f] = s
		}
		if s == t {
			d.base[f] = s
			continue
		}
		cmsV, dotV := s, t
		if source == OwnerDOT {
			cmsV, dotV = t, s
		}
		srcChanged := !hasBase || s != b
		dstChanged := hasBase && t != b
		switch own[f] {
		case target:
			if hasBase && srcChanged {
				d.reports = append(d.reports, report{Kind: "not_owned", Field: f, CMS: cmsV, DOT: dotV, Base: b,
					Resolution: "not propagated: " + string(target) + " owns " + f})
			}
			keep()
		case source:
			write()
		default:
			switch {
			case srcChanged && dstChanged:
				if srcNewer {
					d.reports = append(d.reports, report{Kind: "conflict", Field: f, CMS: cmsV, DOT: dotV, Base: b,
						Resolution: string(source) + " edit is later: " + string(source) + " value kept on both sides"})
					write()
				} else {
					keep()
				}
			case srcChanged:
				write()
			default:
				keep()
			}
		}
	}
	return d
}
