package wiring_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/citylink/citylink/internal/awstest"
	"github.com/citylink/citylink/internal/lambdaconfig"
	"github.com/citylink/citylink/internal/localaws"
	"github.com/citylink/citylink/internal/wiring"
)

// BenchmarkLambdaInit is a workflow Lambda's init as deployed, once per
// iteration: settings by name, the database URL from the RDS secret, the CMS
// key from its secret and the audit account from an SSM SecureString (each
// read once), the pool, clients and engine. The stand-in answers on
// loopback, so the figure is citylink's own share of a cold start, not
// Secrets Manager's latency.
func BenchmarkLambdaInit(b *testing.B) {
	sec := awstest.StartSecrets(b)
	env := map[string]string{
		"DB_HOST": "db.invalid", "DB_PORT": "5432", "DB_NAME": "citylink",
		"DB_SECRET_ID":   sec.PutSecret("rds!db", `{"username":"citylink","password":"p@ss"}`),
		"LINK_TOPIC_ARN": "arn:aws:sns:us-east-1:000000000000:links",
		"CMS_URL":        "https://cms.example", "CMS_SECRET_ID": sec.PutSecret("citylink/cms", `{"api_key":"k"}`),
		"ARCGIS_SERVICE_URL": "https://audit.example/arcgis/rest/services/Audit/FeatureServer", "ARCGIS_SECRET_ID": "/citylink/audit",
	}
	sec.PutParameter("/citylink/audit", `{"username":"u","password":"p"}`, true)
	logger := slog.New(slog.DiscardHandler)
	b.ReportAllocs()
	for b.Loop() {
		s := lambdaconfig.FromMap(env)
		s.UseAWS(localaws.Config(sec.Endpoint))
		if _, err := wiring.Lambda(context.Background(), wiring.ArcGISImport, s, logger); err != nil {
			b.Fatal(err)
		}
	}
	calls := sec.Calls(localaws.TargetGetSecretValue) + sec.Calls(localaws.TargetGetParameter)
	b.ReportMetric(float64(calls)/float64(b.N), "secret-reads/op")
}
