// Package gissync wires the two directions of the CMS <-> DOT GIS sync
// (internal/gissync): gis-push and gis-pull, one package since both are one
// workflow package. It imports that workflow and no other, so cmd/gis-push
// and cmd/gis-pull link only their own.
package gissync

import (
	"context"
	"io"
	"time"

	"github.com/citylink/citylink/internal/gissync"
	"github.com/citylink/citylink/internal/wiring/wire"
	"github.com/citylink/citylink/internal/work"
)

// Push is gis-push: CMS devices into the DOT GIS layer, every hour.
func Push() wire.Workflow {
	return wire.Workflow{Name: gissync.PushWorkflow, Every: time.Hour, Wire: wireGISPush}
}

// Pull is gis-pull: DOT GIS edits into the CMS, every hour.
func Pull() wire.Workflow {
	return wire.Workflow{Name: gissync.PullWorkflow, Every: time.Hour, Wire: wireGISPull}
}

// gisConfig is the configuration both GIS directions share: the CMS
// (CMS_URL, CMS_API_KEY) and the DOT layer (DOT_URL, DOT_LAYER,
// DOT_USERNAME, DOT_PASSWORD).
func gisConfig(ctx context.Context, env wire.Env) (gissync.Config, string, string, error) {
	s := env.Settings
	layer, err := s.Int("DOT_LAYER", 0)
	if err != nil {
		return gissync.Config{}, "", "", err
	}
	c, cmsURL, err := wire.CMSClient(ctx, env)
	if err != nil {
		return gissync.Config{}, "", "", err
	}
	dot, dotURL, err := wire.ArcGISClient(ctx, env, "DOT_URL", "DOT")
	if err != nil {
		return gissync.Config{}, "", "", err
	}
	return gissync.Config{DB: env.DB, CMS: c, DOT: dot, Layer: layer, Logger: env.Log()}, cmsURL, dotURL, nil
}

// wireGISPush: CMS devices into the DOT GIS layer.
func wireGISPush(ctx context.Context, env wire.Env) (wire.Parts, error) {
	cfg, _, dotURL, err := gisConfig(ctx, env)
	if err != nil {
		return wire.Parts{}, err
	}
	src, err := gissync.NewPushSource(cfg)
	if err != nil {
		return wire.Parts{}, err
	}
	sink, err := gissync.NewPushSink(cfg)
	if err != nil {
		return wire.Parts{}, err
	}
	return wire.Parts{Source: src, Sink: sink, Target: "DOT GIS " + dotURL,
		Preview: func(ctx context.Context, items []work.Item, w io.Writer) error {
			return gissync.PreviewPush(ctx, cfg, items, w)
		}}, nil
}

// wireGISPull: DOT GIS edits into the CMS.
func wireGISPull(ctx context.Context, env wire.Env) (wire.Parts, error) {
	cfg, cmsURL, _, err := gisConfig(ctx, env)
	if err != nil {
		return wire.Parts{}, err
	}
	src, err := gissync.NewPullSource(cfg)
	if err != nil {
		return wire.Parts{}, err
	}
	sink, err := gissync.NewPullSink(cfg)
	if err != nil {
		return wire.Parts{}, err
	}
	return wire.Parts{Source: src, Sink: sink, Target: "CMS " + cmsURL,
		Preview: func(ctx context.Context, items []work.Item, w io.Writer) error {
			return gissync.PreviewPull(ctx, cfg, items, w)
		}}, nil
}
