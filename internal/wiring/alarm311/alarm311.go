// Package alarm311 wires the alarm-311 workflow (internal/alarm311) for its
// Lambda and for internal/wiring's list. It imports that workflow and no
// other, so cmd/alarm-311 links only its own.
package alarm311

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/citylink/citylink/internal/alarm311"
	"github.com/citylink/citylink/internal/open311"
	"github.com/citylink/citylink/internal/wiring/wire"
	"github.com/citylink/citylink/internal/work"
)

// Workflow is alarm-311: every 8 hours.
func Workflow() wire.Workflow {
	return wire.Workflow{Name: alarm311.Workflow, Every: 8 * time.Hour, Wire: wireAlarm311}
}

// wireAlarm311: CMS alarms (CMS_URL, CMS_API_KEY) into Open311
// (OPEN311_URL, OPEN311_API_KEY, OPEN311_JURISDICTION, OPEN311_FORMAT json
// or xml).
func wireAlarm311(ctx context.Context, env wire.Env) (wire.Parts, error) {
	s := env.Settings
	c, _, err := wire.CMSClient(ctx, env)
	if err != nil {
		return wire.Parts{}, err
	}
	base, err := s.String("OPEN311_URL")
	if err != nil {
		return wire.Parts{}, err
	}
	key, err := s.Secret(ctx, "OPEN311", "api_key")
	if err != nil {
		return wire.Parts{}, err
	}
	o, err := open311.New(open311.Options{BaseURL: base, APIKey: key, Logger: env.Log(),
		JurisdictionID: s.Optional("OPEN311_JURISDICTION", ""),
		Format:         open311.Format(strings.ToLower(s.Optional("OPEN311_FORMAT", "")))})
	if err != nil {
		return wire.Parts{}, fmt.Errorf("OPEN311_URL/OPEN311_FORMAT: %w", err)
	}
	cfg := alarm311.Config{DB: env.DB, CMS: c, Open311: o, Logger: env.Log(), ReadOnly: env.ReadOnly}
	src, err := alarm311.NewSource(cfg)
	if err != nil {
		return wire.Parts{}, err
	}
	parts := wire.Parts{Source: src, Target: "Open311 " + base,
		Preview: func(ctx context.Context, items []work.Item, w io.Writer) error {
			return alarm311.Preview(ctx, cfg, items, w)
		}}
	if env.ReadOnly {
		// The sink refuses a read-only configuration: a preview has none.
		return parts, nil
	}
	if parts.Sink, err = alarm311.NewSink(cfg); err != nil {
		return wire.Parts{}, err
	}
	return parts, nil
}
