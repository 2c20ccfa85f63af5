package open311sim

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/citylink/citylink/internal/citysim/simcity"
)

// publicWindow is how far back the residents' requests reach.
const publicWindow = 30 * 24 * time.Hour

// publicMix is the share of residents' reports per service, out of
// 100: most are plain outages.
var publicMix = []struct {
	code  string
	share int
}{
	{ServiceLightOut, 60}, {ServiceDayBurner, 15}, {ServiceCycling, 15},
	{ServiceKnockdown, 5}, {ServiceWiring, 5},
}

// seedPublic files n requests that residents reported for random
// lights of city over the 30 days before start, so the server has a history
// and open requests that citylink's own may duplicate. The crews have worked
// them up to start.
func (s *Server) seedPublic(town *simcity.City, n int, start time.Time) {
	if town == nil || len(town.Lights) == 0 || n <= 0 {
		return
	}
	rng := rand.New(rand.NewPCG(s.opts.Seed, 0x9b11c))
	at := make([]time.Time, n)
	for i := range at {
		at[i] = start.Add(-time.Duration(rng.Int64N(int64(publicWindow))))
	}
	slices.SortFunc(at, time.Time.Compare)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range at {
		light := town.Lights[rng.IntN(len(town.Lights))]
		pick, code := rng.IntN(100), publicMix[0].code
		for _, m := range publicMix {
			if pick < m.share {
				code = m.code
				break
			}
			pick -= m.share
		}
		if _, dup := s.open[dupKey(code, light.AssetID)]; dup {
			continue // a second report of an open problem is merged by the call centre
		}
		svc := s.byCode[code]
		s.advanceLocked(t)
		s.insert(svc, &Request{
			ServiceCode: code, ServiceName: svc.Name, Status: "open",
			Description: "Reported by a resident.", AgencyResponsible: "Streetlight Maintenance",
			Address: light.Address, Lat: light.Lat, Long: light.Lon, HasLocation: true,
			Attributes: map[string][]string{AttrAssetID: {light.AssetID}},
			assetID:    light.AssetID,
		}, t)
	}
	s.advanceLocked(start)
}
