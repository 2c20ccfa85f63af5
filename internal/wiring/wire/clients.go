package wire

import (
	"context"
	"fmt"

	"github.com/citylink/citylink/internal/arcgis"
	"github.com/citylink/citylink/internal/cms"
)

// CMSClient is the streetlight CMS: CMS_URL and the secret CMS_API_KEY. It
// returns the client and its base URL, for Parts.Target.
func CMSClient(ctx context.Context, env Env) (*cms.Client, string, error) {
	s := env.Settings
	base, err := s.String("CMS_URL")
	if err != nil {
		return nil, "", err
	}
	key, err := s.Secret(ctx, "CMS", "api_key")
	if err != nil {
		return nil, "", err
	}
	c, err := cms.New(cms.Options{BaseURL: base, APIKey: key, Logger: env.Log()})
	if err != nil {
		return nil, "", fmt.Errorf("CMS_URL: %w", err)
	}
	return c, base, nil
}

// ArcGISClient is an ArcGIS feature service: the URL in the setting
// urlName, with the optional account <system>_USERNAME and
// <system>_PASSWORD for a secured one. It returns the client and the
// service URL.
func ArcGISClient(ctx context.Context, env Env, urlName, system string) (*arcgis.Client, string, error) {
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
	c, err := arcgis.New(arcgis.Options{ServiceURL: service, Username: user, Password: password, Logger: env.Log()})
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", urlName, err)
	}
	return c, service, nil
}
