package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/citylink/citylink/internal/awstest"
	"github.com/citylink/citylink/internal/citysim"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/console"
	"github.com/citylink/citylink/internal/httpretry"
	"github.com/citylink/citylink/internal/pgtest"
	"github.com/citylink/citylink/internal/telemetry/telemetrydev"
	"github.com/citylink/citylink/internal/work"
)

// chromium finds Debian's Chromium, or fails the test saying how to get it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("the browser test needs Chromium: apt-get update && apt-get install -y chromium (.ci/run installs it)")
	return ""
}

// poleCheck is the browser test's workflow: it looks each of a few of the
// city's streetlights up in the simulated CMS, through the CMS's gate, so
// the faults the console switches on reach it. Its client does not retry,
// so a fault is an item's failure at once; a light the CMS has no device
// for is skipped.
type poleCheck struct {
	keys   []string
	client *cms.Client
}

func (p poleCheck) Changes(_ context.Context, after work.Watermark) (work.Page, error) {
	if after != nil {
		return work.Page{Next: after}, nil
	}
	page := work.Page{Next: work.Watermark(`{"read":true}`)}
	for _, k := range p.keys {
		page.Items = append(page.Items, work.Item{Key: k, Payload: json.RawMessage(`{"asset":"` + k + `"}`)})
	}
	return page, nil
}

func (p poleCheck) Apply(ctx context.Context, items []work.Item) ([]work.Outcome, error) {
	outs := make([]work.Outcome, len(items))
	for i, it := range items {
		d, err := p.client.FindByExternalID(ctx, it.Key)
		if errors.Is(err, cms.ErrNotFound) {
			outs[i] = work.Skip("the CMS has no device for it")
			continue
		}
		outs[i] = work.Result(d.ID, err)
	}
	return outs, nil
}

// oneWorkflow is a console.Runner of one engine.
type oneWorkflow struct{ engine *work.Engine }

func (o oneWorkflow) Workflows() []string { return []string{o.engine.Workflow()} }
func (o oneWorkflow) Start(ctx context.Context, _ string) (int64, error) {
	res, err := o.engine.Plan(ctx)
	return res.Run, err
}

// TestConsoleInABrowser serves the console as `citylink dev` does (a real
// database, a small simulated city behind its gates, the telemetry stand-ins)
// and uses it in headless Chromium as an operator would: switch a fault on,
// start a run and watch it reach 100% while errors appear, switch the fault
// off, open a failed item and replay it, search the asset, and submit a
// reading and see it in the chart. Screenshots go to testdata/out.
func TestConsoleInABrowser(t *testing.T) {
	t.Parallel()
	chrome := chromium(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	logger := slog.New(slog.DiscardHandler)

	pool, err := pgxpool.New(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	sys, err := citysim.StartSystems(citysim.SystemsOptions{Seed: 3, Lights: 500, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sys.Close)
	gates, err := startGates(sys, console.Faults{}, 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, g := range gates {
			g.Close()
		}
	})
	stack, err := awstest.Start(ctx, awstest.ModuleDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stack.Close)
	tel, err := telemetrydev.Start(ctx, stack, telemetrydev.Config{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tel.Close)

	client, err := cms.New(cms.Options{BaseURL: sys.CMSURL, APIKey: sys.CMS.APIKey(), Retry: httpretry.Policy{MaxAttempts: 1}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, l := range sys.City.Lights[:60] {
		keys = append(keys, l.AssetID)
	}
	check := poleCheck{keys: keys, client: client}
	local := work.NewLocal(ctx, nil)
	engine, err := work.New(work.Config{Workflow: "pole-check", DB: pool, Publisher: local, Source: check, Sink: check,
		Logger: logger, BatchSize: 10, Tries: 1})
	if err != nil {
		t.Fatal(err)
	}
	local.Deliver = engine.Work
	con, err := newConsole(pool, oneWorkflow{engine}, gates, logger)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(devMux(con, tel.Handler(), func() devSystem { return devSystem{Console: "test"} }))
	t.Cleanup(srv.Close)

	out, err := filepath.Abs(filepath.Join("testdata", "out"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", out)

	// Chromium's helpers may still be writing the profile when the browser
	// is gone, so the profile is not a t.TempDir, whose removal must succeed.
	profile, err := os.MkdirTemp("", "citylink-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(profile)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chrome),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 1600),
	)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	// A generous bound on the whole walk-through, so a page that never
	// gets there fails instead of hanging the suite.
	browser, cancelTimeout := context.WithTimeout(browser, 4*time.Minute)
	defer cancelTimeout()

	shot := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			var png []byte
			if err := chromedp.FullScreenshot(&png, 100).Do(ctx); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(out, name+".png"), png, 0o644)
		})
	}
	step := func(what string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(browser, actions...); err != nil {
			chromedp.Run(browser, shot("failed"))
			t.Fatalf("%s: %v (see %s/failed.png)", what, err, out)
		}
	}
	waitJS := func(expr string) chromedp.Action {
		return chromedp.Poll(expr, nil, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(90*time.Second))
	}
	cmsRow := `#systems tr[data-system="cms"]`

	step("opening the console", chromedp.Navigate(srv.URL), chromedp.WaitVisible(cmsRow+` button.apply`),
		chromedp.WaitVisible(`button.start[data-workflow="pole-check"]:not([disabled])`))

	step("switching errors on in the CMS",
		chromedp.SetValue(cmsRow+` input[name=error_rate]`, "0.5"),
		chromedp.Click(cmsRow+` button.apply`),
		chromedp.WaitVisible(cmsRow+`[data-applied="1"]`))

	step("starting a run and watching it reach 100%",
		chromedp.Click(`button.start[data-workflow="pole-check"]`),
		waitJS(`document.querySelector('#run').dataset.state && document.querySelector('#run').dataset.state !== 'running' && document.querySelector('#run-pct').textContent === '100%'`),
		waitJS(`document.querySelectorAll('#problems tr.problem').length > 0`))
	step("seeing the errors appear",
		waitJS(`Number(document.querySelector('`+cmsRow+` .rate-errors').textContent) > 0`),
		chromedp.ScrollIntoView(`#city`), shot("1-run-with-errors"))

	var summary string
	step("reading the run", chromedp.Text(`#run-summary`, &summary))
	if !strings.Contains(summary, "60 items") || !strings.Contains(summary, "failed") {
		t.Fatalf("the run's summary says %q", summary)
	}
	var firstRun string
	step("reading the run's title", chromedp.Text(`#run-title`, &firstRun))

	step("switching the errors off",
		chromedp.SetValue(cmsRow+` input[name=error_rate]`, "0"),
		chromedp.Click(cmsRow+` button.apply`),
		chromedp.WaitVisible(cmsRow+`[data-applied="2"]`))
	if f := gates[2].Faults(); f.ErrorRate != 0 {
		t.Fatalf("the CMS gate still fails %v of requests", f.ErrorRate)
	}

	var key string
	step("opening a failed item",
		chromedp.Click(`#problems tr.problem td`),
		chromedp.WaitVisible(`#item`),
		chromedp.AttributeValue(`#problems tr.problem`, "data-item", &key, nil),
		shot("2-failed-item"))
	var itemTitle string
	step("reading the item", chromedp.Text(`#item-title`, &itemTitle))
	asset := itemTitle[strings.LastIndex(itemTitle, " ")+1:]
	if !strings.HasPrefix(asset, "SL-") {
		t.Fatalf("the item's title is %q", itemTitle)
	}

	step("replaying it and watching its run reach 100%",
		chromedp.Click(`#replay-item`),
		waitJS(`document.querySelector('#run-title').textContent !== `+strconv.Quote(firstRun)),
		waitJS(`document.querySelector('#run').dataset.state === 'succeeded' && document.querySelector('#run-pct').textContent === '100%'`),
		shot("3-replayed"))
	var replayed string
	step("reading the replay's run", chromedp.Text(`#run-summary`, &replayed))
	// The run carries the item, and with it the run's other failures, which
	// the next run would carry anyway; with the fault off, all succeed.
	if !strings.HasPrefix(replayed, "succeeded: ") || !strings.Contains(replayed, " 0 failed, 0 dead") {
		t.Fatalf("the replay's run says %q", replayed)
	}

	var history []string
	step("searching the asset",
		chromedp.SetValue(`#asset-id`, asset),
		chromedp.Click(`#asset-form button[type=submit]`),
		chromedp.WaitVisible(`#asset-history tr.history-row`),
		chromedp.Evaluate(`[...document.querySelectorAll('#asset-history tr.history-row')].map(r => r.cells[4].textContent)`, &history),
		chromedp.ScrollIntoView(`#asset`), shot("4-asset"))
	if fmt.Sprint(history) != "[failed succeeded]" {
		t.Fatalf("the history of %s shows %v, want a failure then its replay", asset, history)
	}

	step("submitting a reading and seeing it in the chart",
		chromedp.SetValue(`#reading-sensor`, asset),
		chromedp.SetValue(`#reading-value`, "42.5"),
		chromedp.Click(`#reading-form button[type=submit]`),
		waitJS(`document.querySelector('#reading-status').textContent.startsWith('stored')`),
		waitJS(`Number(document.querySelector('#sensor-chart').dataset.points) >= 1`),
		chromedp.ScrollIntoView(`#telemetry`), shot("5-telemetry"))

	step("a last look at the whole page", chromedp.Navigate(srv.URL), chromedp.WaitVisible(`tr.run-row`), shot("console"))
	if errors.Is(browser.Err(), context.DeadlineExceeded) {
		t.Fatal("the walk-through ran out of time")
	}
}
