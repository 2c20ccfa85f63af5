package wiring

import (
	"context"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/citylink/citylink/internal/alarm311"
	"github.com/citylink/citylink/internal/arcgis"
	"github.com/citylink/citylink/internal/arcgisimport"
	"github.com/citylink/citylink/internal/billingexport"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/gissync"
	"github.com/citylink/citylink/internal/open311"
	"github.com/citylink/citylink/internal/utility"
	"github.com/citylink/citylink/internal/work"
)

// cmsClient is the streetlight CMS: CMS_URL and the secret CMS_API_KEY.
func cmsClient(ctx context.Context, env Env) (*cms.Client, string, error) {
	s := env.Settings
	base, err := s.String("CMS_URL")
	if err != nil {
		return nil, "", err
	}
	key, err := s.Secret(ctx, "CMS", "api_key")
	if err != nil {
		return nil, "", err
	}
	c, err := cms.New(cms.Options{BaseURL: base, APIKey: key, Logger: env.logger()})
	if err != nil {
		return nil, "", fmt.Errorf("CMS_URL: %w", err)
	}
	return c, base, nil
}

// arcgisClient is an ArcGIS feature service: <prefix>_URL (or
// ARCGIS_SERVICE_URL for the audit service), with the optional account
// <system>_USERNAME and <system>_PASSWORD for a secured one.
func arcgisClient(ctx context.Context, env Env, urlName, system string) (*arcgis.Client, string, error) {
	s := env.Settings
	service, err := s.String(urlName)
	if err != nil {
		return nil, "", err
	}
	user, err := s.OptionalSecret(ctx, system, "username")
	if err != nil {
		return nil, "", err
	}
	password, err := s.OptionalSecret(ctx, system, "password")
	if err != nil {
		return nil, "", err
	}
	c, err := arcgis.New(arcgis.Options{ServiceURL: service, Username: user, Password: password, Logger: env.logger()})
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", urlName, err)
	}
	return c, service, nil
}

// wireArcGISImport: the third-party audit layer (ARCGIS_SERVICE_URL,
// ARCGIS_LAYER, ARCGIS_USERNAME, ARCGIS_PASSWORD) into the CMS (CMS_URL,
// CMS_API_KEY); IMPORT_MAPPING overrides arcgisimport.DefaultMapping.
func wireArcGISImport(ctx context.Context, env Env) (Parts, error) {
	s := env.Settings
	layer, err := s.Int("ARCGIS_LAYER", 0)
	if err != nil {
		return Parts{}, err
	}
	mapping, err := arcgisimport.ParseMapping(s.Optional("IMPORT_MAPPING", ""))
	if err != nil {
		return Parts{}, fmt.Errorf("IMPORT_MAPPING: %w", err)
	}
	audit, _, err := arcgisClient(ctx, env, "ARCGIS_SERVICE_URL", "ARCGIS")
	if err != nil {
		return Parts{}, err
	}
	c, base, err := cmsClient(ctx, env)
	if err != nil {
		return Parts{}, err
	}
	return Parts{
		Source: &arcgisimport.Source{Client: audit, Layer: layer, Mapping: mapping},
		Sink:   &arcgisimport.Sink{Client: c},
		Target: "CMS " + base,
		Preview: func(ctx context.Context, items []work.Item, w io.Writer) error {
			return arcgisimport.Preview(ctx, c, items, w)
		},
	}, nil
}

// wireBillingExport: the CMS (CMS_URL, CMS_API_KEY) into the utility's
// drop, over https (UTILITY_URL, UTILITY_TOKEN) or sftp (UTILITY_SFTP_ADDR,
// UTILITY_SFTP_DIR, UTILITY_SFTP_USER, UTILITY_SFTP_KEY: the client's
// private key, PEM; UTILITY_SFTP_HOST_KEY: the server's public key,
// authorized_keys format) as UTILITY_DELIVERY says; BILLING_MAPPING
// overrides billingexport.DefaultMapping. Its finish step delivers the file
// of every closed run still owed one.
func wireBillingExport(ctx context.Context, env Env) (Parts, error) {
	s := env.Settings
	mapping, err := billingexport.ParseMapping(s.Optional("BILLING_MAPPING", ""))
	if err != nil {
		return Parts{}, fmt.Errorf("BILLING_MAPPING: %w", err)
	}
	c, _, err := cmsClient(ctx, env)
	if err != nil {
		return Parts{}, err
	}
	drop, target, err := deliverer(ctx, env)
	if err != nil {
		return Parts{}, err
	}
	sink := &billingexport.Sink{DB: env.DB, Mapping: mapping}
	x := &billingexport.Exporter{DB: env.DB, Deliverer: drop, Mapping: mapping, Workflow: BillingExport, Logger: env.logger()}
	return Parts{
		Source:  &billingexport.Source{Client: c},
		Sink:    sink,
		Finish:  func(ctx context.Context) error { _, err := x.Deliver(ctx); return err },
		Target:  target,
		Preview: sink.Preview,
	}, nil
}

// deliverer is the configured delivery to the utility, and its name.
func deliverer(ctx context.Context, env Env) (billingexport.Deliverer, string, error) {
	s := env.Settings
	kind, err := s.OneOf("UTILITY_DELIVERY", "https", "sftp")
	if err != nil {
		return nil, "", err
	}
	if kind == "https" {
		base, err := s.String("UTILITY_URL")
		if err != nil {
			return nil, "", err
		}
		token, err := s.Secret(ctx, "UTILITY", "token")
		if err != nil {
			return nil, "", err
		}
		d, err := utility.NewHTTPS(utility.HTTPSOptions{BaseURL: base, Token: token, Logger: env.logger()})
		if err != nil {
			return nil, "", fmt.Errorf("UTILITY_URL: %w", err)
		}
		return d, "utility HTTPS drop " + base, nil
	}
	addr, err := s.String("UTILITY_SFTP_ADDR")
	if err != nil {
		return nil, "", err
	}
	dir := s.Optional("UTILITY_SFTP_DIR", "")
	user, err := s.Secret(ctx, "UTILITY", "sftp_user")
	if err != nil {
		return nil, "", err
	}
	key, err := s.Secret(ctx, "UTILITY", "sftp_key")
	if err != nil {
		return nil, "", err
	}
	hostKey, err := s.Secret(ctx, "UTILITY", "sftp_host_key")
	if err != nil {
		return nil, "", err
	}
	signer, err := ssh.ParsePrivateKey([]byte(key))
	if err != nil {
		// ssh's errors never quote the key.
		return nil, "", fmt.Errorf("UTILITY_SFTP_KEY: %w", err)
	}
	host, _, _, _, err := ssh.ParseAuthorizedKey([]byte(hostKey))
	if err != nil {
		return nil, "", fmt.Errorf("UTILITY_SFTP_HOST_KEY: %w", err)
	}
	d, err := utility.NewSFTP(utility.SFTPConfig{Addr: addr, User: user, Signer: signer, HostKey: host, Dir: dir, Logger: env.logger()})
	if err != nil {
		return nil, "", fmt.Errorf("UTILITY_SFTP_ADDR: %w", err)
	}
	return d, "utility SFTP drop " + addr, nil
}

// wireAlarm311: CMS alarms (CMS_URL, CMS_API_KEY) into Open311
// (OPEN311_URL, OPEN311_API_KEY, OPEN311_JURISDICTION, OPEN311_FORMAT json
// or xml).
func wireAlarm311(ctx context.Context, env Env) (Parts, error) {
	s := env.Settings
	c, _, err := cmsClient(ctx, env)
	if err != nil {
		return Parts{}, err
	}
	base, err := s.String("OPEN311_URL")
	if err != nil {
		return Parts{}, err
	}
	key, err := s.Secret(ctx, "OPEN311", "api_key")
	if err != nil {
		return Parts{}, err
	}
	o, err := open311.New(open311.Options{BaseURL: base, APIKey: key, Logger: env.logger(),
		JurisdictionID: s.Optional("OPEN311_JURISDICTION", ""),
		Format:         open311.Format(strings.ToLower(s.Optional("OPEN311_FORMAT", "")))})
	if err != nil {
		return Parts{}, fmt.Errorf("OPEN311_URL/OPEN311_FORMAT: %w", err)
	}
	cfg := alarm311.Config{DB: env.DB, CMS: c, Open311: o, Logger: env.logger(), ReadOnly: env.ReadOnly}
	src, err := alarm311.NewSource(cfg)
	if err != nil {
		return Parts{}, err
	}
	parts := Parts{Source: src, Target: "Open311 " + base,
		Preview: func(ctx context.Context, items []work.Item, w io.Writer) error {
			return alarm311.Preview(ctx, cfg, items, w)
		}}
	if env.ReadOnly {
		// The sink refuses a read-only configuration: a preview has none.
		return parts, nil
	}
	if parts.Sink, err = alarm311.NewSink(cfg); err != nil {
		return Parts{}, err
	}
	return parts, nil
}

// gisConfig is the configuration both GIS directions share: the CMS
// (CMS_URL, CMS_API_KEY) and the DOT layer (DOT_URL, DOT_LAYER,
// DOT_USERNAME, DOT_PASSWORD).
func gisConfig(ctx context.Context, env Env) (gissync.Config, string, string, error) {
	s := env.Settings
	layer, err := s.Int("DOT_LAYER", 0)
	if err != nil {
		return gissync.Config{}, "", "", err
	}
	c, cmsURL, err := cmsClient(ctx, env)
	if err != nil {
		return gissync.Config{}, "", "", err
	}
	dot, dotURL, err := arcgisClient(ctx, env, "DOT_URL", "DOT")
	if err != nil {
		return gissync.Config{}, "", "", err
	}
	return gissync.Config{DB: env.DB, CMS: c, DOT: dot, Layer: layer, Logger: env.logger()}, cmsURL, dotURL, nil
}

// wireGISPush: CMS devices into the DOT GIS layer.
func wireGISPush(ctx context.Context, env Env) (Parts, error) {
	cfg, _, dotURL, err := gisConfig(ctx, env)
	if err != nil {
		return Parts{}, err
	}
	src, err := gissync.NewPushSource(cfg)
	if err != nil {
		return Parts{}, err
	}
	sink, err := gissync.NewPushSink(cfg)
	if err != nil {
		return Parts{}, err
	}
	return Parts{Source: src, Sink: sink, Target: "DOT GIS " + dotURL,
		Preview: func(ctx context.Context, items []work.Item, w io.Writer) error {
			return gissync.PreviewPush(ctx, cfg, items, w)
		}}, nil
}

// wireGISPull: DOT GIS edits into the CMS.
func wireGISPull(ctx context.Context, env Env) (Parts, error) {
	cfg, cmsURL, _, err := gisConfig(ctx, env)
	if err != nil {
		return Parts{}, err
	}
	src, err := gissync.NewPullSource(cfg)
	if err != nil {
		return Parts{}, err
	}
	sink, err := gissync.NewPullSink(cfg)
	if err != nil {
		return Parts{}, err
	}
	return Parts{Source: src, Sink: sink, Target: "CMS " + cmsURL,
		Preview: func(ctx context.Context, items []work.Item, w io.Writer) error {
			return gissync.PreviewPull(ctx, cfg, items, w)
		}}, nil
}
