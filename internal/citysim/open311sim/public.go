package citysim

import (
	"math/rand/v2"
	"slices"
	"time"
)

// open311PublicWindow is how far back the residents' requests reach.
const open311PublicWindow = 30 * 24 * time.Hour

// open311PublicMix is the share of residents' reports per service, out of
// 100: most are plain outages.
var open311PublicMix = []struct {
	code  string
	share int
}{
	{Open311ServiceLightOut, 60}, {Open311ServiceDayBurner, 15}, {Open311ServiceCycling, 15},
	{Open311ServiceKnockdown, 5}, {Open311ServiceWiring, 5},
}

// open311SeedPublic files n requests that residents reported for random
// lights of city over the 30 days before start, so the server has a history
// and open requests that citylink's own may duplicate. The crews have worked
// them up to start.
func (s *Open311) open311SeedPublic(city *City, n int, start time.Time) {
	if city == nil || len(city.Lights) == 0 || n <= 0 {
		return
	}
	rng := rand.New(rand.NewPCG(s.opts.Seed, 0x9b11c))
	at := make([]time.Time, n)
	for i := range at {
		at[i] = start.Add(-time.Duration(rng.Int64N(int64(open311PublicWindow))))
	}
	slices.SortFunc(at, time.Time.Compare)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range at {
		light := city.Lights[rng.IntN(len(city.Lights))]
		pick, code := rng.IntN(100), open311PublicMix[0].code
		for _, m := range open311PublicMix {
			if pick < m.share {
				code = m.code
				break
			}
			pick -= m.share
		}
		if _, dup := s.open[open311DupKey(code, light.AssetID)]; dup {
			continue // a second report of an open problem is merged by the call centre
		}
		svc := s.byCode[code]
		s.open311AdvanceLocked(t)
		s.open311Insert(svc, &Open311Request{
			ServiceCode: code, ServiceName: svc.Name, Status: "open",
			Description: "Reported by a resident.", AgencyResponsible: "Streetlight Maintenance",
			Address: light.Address, Lat: light.Lat, Long: light.Lon, HasLocation: true,
			Attributes: map[string][]string{Open311AttrAssetID: {light.AssetID}},
			assetID:    light.AssetID,
		}, t)
	}
	s.open311AdvanceLocked(start)
}
