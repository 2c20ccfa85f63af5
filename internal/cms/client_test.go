package cms_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/cmssim"
	"github.com/citylink/citylink/internal/citysim/simcity"
	"github.com/citylink/citylink/internal/testclock"

	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/httpretry"
)

var testStart = time.Date(2026, time.April, 6, 9, 0, 0, 0, time.UTC)

// faulty are the faults every client test runs under: a third of requests
// fail with 500/503 or 429 and a tenth of successful writes lose their answer.
// Fixed seeds make the sequence the same each run; retries absorb it.
var faulty = simcity.Faults{Seed: 99, ErrorRate: 0.25, ThrottleRate: 0.1, RetryAfter: 0, Jitter: 200 * time.Microsecond}

// patient retries long enough that faulty's worst streak at these seeds is
// absorbed, without waiting on real time.
var patient = httpretry.Policy{MaxAttempts: 25, BaseDelay: time.Microsecond, MaxDelay: 50 * time.Microsecond}

// newSim starts a simulated CMS over a small city.
func newSim(t testing.TB, lights int, opts cmssim.Options) (*cmssim.Server, *httptest.Server, *testclock.Clock) {
	t.Helper()
	clock := testclock.New(testStart)
	opts.City = simcity.New(31, lights)
	opts.Seed = 31
	opts.Clock = clock.Now
	sim := cmssim.NewServer(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv, clock
}

func newClient(t testing.TB, srv *httptest.Server, key string, pageSize int) *cms.Client {
	t.Helper()
	c, err := cms.New(cms.Options{BaseURL: srv.URL, APIKey: key, Retry: patient, PageSize: pageSize, Transport: srv.Client().Transport})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// allDevices lists every device written since since.
func allDevices(t *testing.T, c *cms.Client, since time.Time) []cms.Device {
	t.Helper()
	var out []cms.Device
	for d, err := range c.Devices(context.Background(), cms.DeviceQuery{Since: since}) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func TestListDevicesUnderFaultsMatchesCleanListing(t *testing.T) {
	t.Parallel()
	_, clean, _ := newSim(t, 4000, cmssim.Options{})
	noisySim := cmssim.NewServer(cmssim.Options{City: simcity.New(31, 4000), Seed: 31, Faults: faulty})
	var mu sync.Mutex
	statuses := map[int]int{}
	noisy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		noisySim.ServeHTTP(rec, r)
		mu.Lock()
		statuses[rec.status]++
		mu.Unlock()
	}))
	t.Cleanup(noisy.Close)
	want := allDevices(t, newClient(t, clean, cmssim.DefaultAPIKey, 0), time.Time{})
	got := allDevices(t, newClient(t, noisy, cmssim.DefaultAPIKey, 97), time.Time{})
	mu.Lock()
	if statuses[http.StatusTooManyRequests] == 0 || statuses[http.StatusServiceUnavailable]+statuses[http.StatusInternalServerError] == 0 {
		t.Errorf("the faults never fired: %v", statuses)
	}
	mu.Unlock()
	if len(want) < 2000 {
		t.Fatalf("clean listing has only %d devices", len(want))
	}
	if !slices.EqualFunc(want, got, func(a, b cms.Device) bool { return a.ID == b.ID && a.Version == b.Version }) {
		t.Fatalf("listing under faults (%d devices) differs from the clean one (%d)", len(got), len(want))
	}
	for i := 1; i < len(got); i++ {
		p, d := got[i-1], got[i]
		if d.UpdatedAt.Before(p.UpdatedAt) || (d.UpdatedAt.Equal(p.UpdatedAt) && d.ID <= p.ID) {
			t.Fatalf("%s listed after %s out of (updatedAt, id) order", d.ID, p.ID)
		}
	}
}

func TestListDevicesPagesAndResumes(t *testing.T) {
	t.Parallel()
	_, srv, _ := newSim(t, 1500, cmssim.Options{Faults: faulty})
	c := newClient(t, srv, cmssim.DefaultAPIKey, 100)
	ctx := context.Background()
	var pages []cms.DevicePage
	err := c.ListDevices(ctx, cms.DeviceQuery{States: []string{cms.StateCommissioned}}, func(p cms.DevicePage) error {
		pages = append(pages, p)
		if len(pages) == 3 {
			return errors.New("checkpoint")
		}
		return nil
	})
	if err == nil || err.Error() != "checkpoint" || len(pages) != 3 {
		t.Fatalf("stopping after 3 pages: err %v, %d pages", err, len(pages))
	}
	for _, p := range pages {
		for _, d := range p.Devices {
			if d.State != cms.StateCommissioned {
				t.Fatalf("state filter let %s (%s) through", d.ID, d.State)
			}
		}
	}
	// Resuming from the third page's cursor carries on after its last device.
	var resumed []cms.Device
	for d, err := range c.Devices(ctx, cms.DeviceQuery{States: []string{cms.StateCommissioned}, After: pages[1].NextCursor}) {
		if err != nil {
			t.Fatal(err)
		}
		resumed = append(resumed, d)
		if len(resumed) == 150 {
			break
		}
	}
	if len(resumed) != 150 || resumed[0].ID != pages[2].Devices[0].ID {
		t.Fatalf("resumed listing starts at %v, want %s", resumed[0].ID, pages[2].Devices[0].ID)
	}
}

func TestCreateIsIdempotentByAssetID(t *testing.T) {
	t.Parallel()
	// Every write's answer is lost once: the transport retries the create,
	// the CMS answers 409 for the device the first attempt made, and Create
	// turns that into the device.
	_, srv, _ := newSim(t, 500, cmssim.Options{Faults: faulty, LostReplyRate: 1})
	c := newClient(t, srv, cmssim.DefaultAPIKey, 0)
	ctx := context.Background()
	in := cms.DeviceUpsert{ExternalID: "SL-9000001", DevicePatch: cms.DevicePatch{
		LampType: new(simcity.LampLED), NominalWatts: new(70), InputWatts: new(74),
		Location: &cms.Location{Latitude: 41.9, Longitude: -87.65}, Address: new("1600 N Ashland Ave"),
	}}
	d, created, err := c.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if created || d.ExternalID != in.ExternalID || d.State != cms.StatePlanned || d.NominalWatts != 70 {
		t.Fatalf("create with a lost answer: created %v, %+v", created, d)
	}
	again, created, err := c.Create(ctx, in)
	if err != nil || created || again.ID != d.ID {
		t.Fatalf("second create: %+v, created %v, err %v", again, created, err)
	}
	found, err := c.FindByExternalID(ctx, in.ExternalID)
	if err != nil || found.ID != d.ID || found.Version != 1 {
		t.Fatalf("find: %+v, %v", found, err)
	}
	if _, err := c.FindByExternalID(ctx, "SL-NOPE"); !errors.Is(err, cms.ErrNotFound) {
		t.Fatalf("find of an unknown asset: %v", err)
	}
}

func TestCreateReportsCreated(t *testing.T) {
	t.Parallel()
	_, srv, _ := newSim(t, 300, cmssim.Options{Faults: faulty})
	c := newClient(t, srv, cmssim.DefaultAPIKey, 0)
	d, created, err := c.Create(context.Background(), cms.DeviceUpsert{ExternalID: "SL-9000002"})
	if err != nil || !created || d.ID == "" || d.Version != 1 {
		t.Fatalf("create: %+v, created %v, err %v", d, created, err)
	}
	got, err := c.Get(context.Background(), d.ID)
	if err != nil || got.ExternalID != "SL-9000002" {
		t.Fatalf("get: %+v, %v", got, err)
	}
}

func TestValidationErrorsAreTyped(t *testing.T) {
	t.Parallel()
	_, srv, _ := newSim(t, 300, cmssim.Options{Faults: faulty})
	c := newClient(t, srv, cmssim.DefaultAPIKey, 0)
	_, _, err := c.Create(context.Background(), cms.DeviceUpsert{ExternalID: "SL-9000003", DevicePatch: cms.DevicePatch{State: new(cms.StateCommissioned)}})
	var apiErr *cms.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err %v is not an *APIError", err)
	}
	if apiErr.StatusCode != 400 || apiErr.Key != "payloadError" || apiErr.Retryable() ||
		len(apiErr.Errors) != 1 || apiErr.Errors[0].Field != "controllerId" {
		t.Fatalf("api error %+v", apiErr)
	}
}

func TestWrongKeyIsUnauthorized(t *testing.T) {
	t.Parallel()
	_, srv, _ := newSim(t, 100, cmssim.Options{})
	c := newClient(t, srv, "not-the-key", 0)
	_, err := c.Get(context.Background(), "dev-0000001")
	var apiErr *cms.APIError
	if !errors.Is(err, cms.ErrUnauthorized) || !errors.As(err, &apiErr) || apiErr.Key != "unauthorized" {
		t.Fatalf("err %v", err)
	}
}

// statusRecorder notes the status a handler answered with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func TestTimeoutBoundsCallsUnderALambdaDeadline(t *testing.T) {
	t.Parallel()
	// A Lambda's context always carries a deadline, minutes away. A CMS
	// that accepts the connection and never answers must still cost one
	// call no more than Timeout, not the rest of the invocation.
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	c, err := cms.New(cms.Options{BaseURL: srv.URL, APIKey: "k", Transport: srv.Client().Transport, Timeout: 100 * time.Millisecond,
		Retry: httpretry.Policy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.Get(ctx, "D-1")
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("hung call: %v, want a deadline error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a hung call outlived the client's Timeout by far")
	}
}
