package simcity

import (
	"strconv"
)

// The simulated city is laid out on Chicago's street grid: addresses count
// 800 numbers to the mile north and south of Madison Street and east and west
// of State Street, with a numbered block every 100. Lights are placed on grid
// lines, and their coordinates and addresses are derived from the grid, so a
// light's address and its position agree the way they do in the real city.

// Grid origin (State & Madison) and the size of one address number in degrees.
const (
	originLat = 41.88195
	originLon = -87.62781
	latPerNum = 1.0 / (800 * 69.05) // 800 numbers per mile, 69.05 miles per degree of latitude
	lonPerNum = 1.0 / (800 * 51.45) // 51.45 miles per degree of longitude at 41.9°N
)

// City bounding box, in degrees, that every generated light falls inside.
const (
	MinLat = 41.6300
	MaxLat = 42.0230
	MinLon = -87.9400
	MaxLon = -87.5240
)

// band is the city's extent along one east-west band of the grid: north is
// the band's northern grid number (negative is south), west and east are the
// limits in grid numbers east of State (negative is west). The east limit follows
// the lakefront and the Indiana line.
type band struct{ north, west, east int }

// bands lists the bands from north to south; a point belongs to the first
// band whose north edge is at or above it.
var bands = [...]band{
	{7600, -2400, -1300}, // Rogers Park to the city limit at Howard
	{6400, -7200, -1200}, // Devon to Howard
	{4800, -7200, -800},  // Lawrence to Devon
	{3200, -7200, -400},  // Belmont to Lawrence
	{1600, -7200, 0},     // North Ave to Belmont
	{0, -7200, 300},      // the Loop and the near north side
	{-2200, -7200, 300},  // to Cermak
	{-4700, -7200, 600},  // to 47th
	{-6700, -7200, 1900}, // Hyde Park and Woodlawn
	{-7900, -4800, 2900}, // South Shore
	{-9500, -4000, 3600}, // to 95th
	{-11900, -2400, 4000},
	{-13800, -800, 4000}, // Riverdale and Hegewisch
}

// bandAt reports the band containing grid row north, or false if the row is
// outside the city.
func bandAt(north int) (band, bool) {
	if north > bands[0].north {
		return band{}, false
	}
	for i := len(bands) - 1; i >= 0; i-- {
		if north <= bands[i].north {
			if i == len(bands)-1 || north > bands[i+1].north {
				return bands[i], true
			}
		}
	}
	return band{}, false
}

// inside reports whether grid point (north, east) lies inside the city.
func inside(north, east int) bool {
	if north < bands[len(bands)-1].north {
		return false
	}
	b, ok := bandAt(north)
	return ok && east >= b.west && east <= b.east
}

// latLon converts grid numbers to WGS84 degrees.
func latLon(north, east int) (lat, lon float64) {
	return originLat + float64(north)*latPerNum, originLon + float64(east)*lonPerNum
}

// Real street names on the grid, keyed by grid number (in hundreds).
var (
	westStreets = map[int]string{
		1: "Clark St", 2: "Wells St", 4: "Canal St", 6: "Jefferson St", 8: "Halsted St",
		10: "Morgan St", 12: "Racine Ave", 14: "Loomis St", 16: "Ashland Ave",
		18: "Wood St", 20: "Damen Ave", 22: "Leavitt St", 24: "Western Ave",
		26: "Rockwell St", 28: "California Ave", 30: "Sacramento Ave", 32: "Kedzie Ave",
		34: "Homan Ave", 36: "Central Park Ave", 38: "Springfield Ave", 40: "Pulaski Rd",
		44: "Kostner Ave", 48: "Cicero Ave", 52: "Laramie Ave", 56: "Central Ave",
		60: "Austin Ave", 64: "Narragansett Ave", 68: "Oak Park Ave", 72: "Harlem Ave",
	}
	eastStreets = map[int]string{
		1: "Michigan Ave", 4: "King Dr", 8: "Cottage Grove Ave", 12: "Woodlawn Ave",
		16: "Stony Island Ave", 20: "Jeffery Blvd", 24: "Yates Blvd", 28: "Commercial Ave",
		32: "Ewing Ave", 36: "Avenue O", 40: "State Line Rd",
	}
	northStreets = map[int]string{
		0: "Madison St", 4: "Kinzie St", 8: "Chicago Ave", 12: "Division St", 16: "North Ave",
		20: "Armitage Ave", 24: "Fullerton Ave", 28: "Diversey Pkwy", 32: "Belmont Ave",
		36: "Addison St", 40: "Irving Park Rd", 44: "Montrose Ave", 48: "Lawrence Ave",
		52: "Foster Ave", 56: "Bryn Mawr Ave", 60: "Peterson Ave", 64: "Devon Ave",
		68: "Pratt Blvd", 72: "Touhy Ave", 76: "Howard St",
	}
	southStreets = map[int]string{
		4: "Van Buren St", 6: "Harrison St", 12: "Roosevelt Rd", 22: "Cermak Rd",
		39: "Pershing Rd",
	}
	// fillNames name the grid lines that have no real name above.
	fillNames = [...]string{
		"Oak", "Elm", "Maple", "Cedar", "Walnut", "Hickory", "Linden", "Poplar",
		"Sheridan", "Lincoln", "Winchester", "Hermitage", "Paulina", "Honore",
		"Seeley", "Hoyne", "Claremont", "Artesian", "Campbell", "Maplewood",
		"Fairfield", "Washtenaw", "Talman", "Francisco", "Mozart", "Whipple",
		"Troy", "Albany", "Kimball", "Spaulding", "Christiana", "Drake", "Hamlin",
		"Ridgeway", "Lawndale", "Avers", "Karlov", "Keeler", "Kildare", "Kolin",
	}
	suffixes = [...]string{"St", "Ave", "Ave", "St", "Pl", "Ct"}
)

// streetName names the grid line at grid number line (a multiple of 100).
// nsStreet is true for a street running north-south, whose line is an east
// coordinate; otherwise the street runs east-west and line is a north
// coordinate. South of Madison the east-west streets are numbered, as in
// Chicago ("47th St").
func streetName(nsStreet bool, line int) string {
	h := line / 100
	if h < 0 {
		h = -h
	}
	if nsStreet {
		if line == 0 {
			return "State St"
		}
		names := westStreets
		if line > 0 {
			names = eastStreets
		}
		if n, ok := names[h]; ok {
			return n
		}
		return fillName(h*2 + 1)
	}
	if line >= 0 {
		if n, ok := northStreets[h]; ok {
			return n
		}
		return fillName(h * 2)
	}
	if n, ok := southStreets[h]; ok {
		return n
	}
	if h >= 12 {
		return ordinal(h) + " St"
	}
	return fillName(h*2 + 7)
}

// fillName picks a made-up but plausible street name for grid index i.
func fillName(i int) string {
	return fillNames[i%len(fillNames)] + " " + suffixes[(i/len(fillNames)+i)%len(suffixes)]
}

// ordinal spells n as an English ordinal: 1st, 2nd, 3rd, 11th, 47th.
func ordinal(n int) string {
	s := strconv.Itoa(n)
	switch {
	case n%100 >= 11 && n%100 <= 13:
		return s + "th"
	case n%10 == 1:
		return s + "st"
	case n%10 == 2:
		return s + "nd"
	case n%10 == 3:
		return s + "rd"
	}
	return s + "th"
}

// address formats a street address for a point on a grid line: the house
// number is the point's distance along the street from the baseline, with the
// grid direction before the street name ("1530 N Ashland Ave").
func address(buf []byte, number int, dir byte, street string) []byte {
	buf = strconv.AppendInt(buf, int64(number), 10)
	buf = append(buf, ' ', dir, ' ')
	return append(buf, street...)
}
