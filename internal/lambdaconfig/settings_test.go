package lambdaconfig

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/citylink/citylink/internal/awstest"
	"github.com/citylink/citylink/internal/localaws"
	"github.com/citylink/citylink/internal/work"
)

// standIn returns settings over m whose AWS clients talk to the secrets
// stand-in with test credentials, so tests can run in parallel without
// touching the process environment.
func standIn(sec *awstest.SecretsServer, m map[string]string) *Settings {
	s := FromMap(m)
	s.UseAWS(localaws.Config(sec.Endpoint))
	return s
}

// TestSecretsByNameThroughAWSEndpointURL is the deployed path end to end:
// the process environment names the secrets, AWS's default configuration
// takes the endpoint from AWS_ENDPOINT_URL, and the SDK's signed requests
// reach the stand-in. Each secret is read once however many of its keys are
// taken, and the database URL is built from the RDS-managed secret's shape.
func TestSecretsByNameThroughAWSEndpointURL(t *testing.T) {
	sec := awstest.StartSecrets(t)
	cmsARN := sec.PutSecret("citylink/cms", `{"api_key": "k-123"}`)
	dbARN := sec.PutSecret("rds!db-1234", `{"username":"citylink","password":"p@ss:w/rd?#%&= x"}`)
	sec.PutParameter("/citylink/open311", "o311-key", true)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": sec.Endpoint, "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "AKIACITYLINKTEST", "AWS_SECRET_ACCESS_KEY": "citylink-test-secret",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PROFILE": "",
		"CMS_SECRET_ID": cmsARN, "OPEN311_SECRET_ID": "/citylink/open311",
		"DATABASE_URL": "", "DB_HOST": "db.internal", "DB_PORT": "6543", "DB_NAME": "citylink", "DB_SECRET_ID": dbARN,
		"CMS_API_KEY": "", "OPEN311_API_KEY": "", "DB_USERNAME": "", "DB_PASSWORD": "", "DB_SSLMODE": "",
	} {
		t.Setenv(k, v)
	}
	ctx := context.Background()
	s := FromEnv()
	for range 3 {
		if v, err := s.Secret(ctx, "CMS", "api_key"); v != "k-123" || err != nil {
			t.Fatalf("CMS_API_KEY = %q, %v", v, err)
		}
		if v, err := s.Secret(ctx, "OPEN311", "api_key"); v != "o311-key" || err != nil {
			t.Fatalf("OPEN311_API_KEY = %q, %v (a SecureString must be read WithDecryption)", v, err)
		}
	}
	cfg, err := s.PoolConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cc := cfg.ConnConfig
	if cc.User != "citylink" || cc.Password != "p@ss:w/rd?#%&= x" || cc.Host != "db.internal" || cc.Port != 6543 || cc.Database != "citylink" {
		t.Fatalf("connection = %s@%s:%d/%s password %q", cc.User, cc.Host, cc.Port, cc.Database, cc.Password)
	}
	if cc.TLSConfig == nil {
		t.Fatal("the deployed connection is not encrypted (sslmode=require)")
	}
	if cfg.MaxConns != 2 || cfg.MinConns != 0 {
		t.Fatalf("pool %d..%d, want 0..2", cfg.MinConns, cfg.MaxConns)
	}
	// Three reads of the CMS key and the username and password of the
	// database: one GetSecretValue each for the two secrets.
	if n := sec.Calls(localaws.TargetGetSecretValue); n != 2 {
		t.Fatalf("GetSecretValue called %d times, want 2 (one per secret)", n)
	}
	if n := sec.Calls(localaws.TargetGetParameter); n != 1 {
		t.Fatalf("GetParameter called %d times, want 1", n)
	}
	// The next cold start reads again.
	if _, err := FromEnv().Secret(ctx, "CMS", "api_key"); err != nil {
		t.Fatal(err)
	}
	if n := sec.Calls(localaws.TargetGetSecretValue); n != 3 {
		t.Fatalf("GetSecretValue called %d times after a second cold start, want 3", n)
	}
}

// TestSecretErrorsNameTheVariableNeverTheValue: every way a secret setting
// can be wrong fails with the variable's name and without the value.
func TestSecretErrorsNameTheVariableNeverTheValue(t *testing.T) {
	t.Parallel()
	sec := awstest.StartSecrets(t)
	sec.PutSecret("no-key", `{"token": "tok-secret-value"}`)
	sec.PutSecret("not-json", `{"token": tok-secret-value`)
	sec.PutSecret("empty", `{"api_key": ""}`)
	ctx := context.Background()
	for _, tc := range []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{}, []string{"CMS_API_KEY is not set", "CMS_SECRET_ID"}},
		{map[string]string{"CMS_SECRET_ID": "citylink/missing"}, []string{"CMS_SECRET_ID", "ResourceNotFoundException"}},
		{map[string]string{"CMS_SECRET_ID": "/citylink/missing"}, []string{"CMS_SECRET_ID", "ParameterNotFound"}},
		{map[string]string{"CMS_SECRET_ID": "arn:aws:ssm:us-east-1:000000000000:parameter/citylink/missing"}, []string{"CMS_SECRET_ID", "ParameterNotFound"}},
		{map[string]string{"CMS_SECRET_ID": "no-key"}, []string{"CMS_API_KEY", `"api_key"`}},
		{map[string]string{"CMS_SECRET_ID": "not-json"}, []string{"CMS_SECRET_ID", "not one"}},
		{map[string]string{"CMS_SECRET_ID": "empty"}, []string{"CMS_API_KEY", "empty"}},
		{map[string]string{"CMS_SECRET_ID": "no-key", "CMS_API_KEY": "tok-secret-value"}, []string{"CMS_API_KEY and CMS_SECRET_ID are both set"}},
	} {
		_, err := standIn(sec, tc.env).Secret(ctx, "CMS", "api_key")
		if err == nil {
			t.Fatalf("%v: no error", tc.env)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q lacks %q", tc.env, err, w)
			}
		}
		if strings.Contains(err.Error(), "tok-secret-value") {
			t.Errorf("%v: error %q quotes the secret", tc.env, err)
		}
	}
	// An optional secret with no key is empty, not an error; a plain
	// string secret is the value itself.
	sec.PutSecret("plain", "just-the-key")
	s := standIn(sec, map[string]string{"DOT_SECRET_ID": "no-key", "CMS_SECRET_ID": "plain"})
	if v, err := s.OptionalSecret(ctx, "DOT", "username"); v != "" || err != nil {
		t.Fatalf("DOT_USERNAME = %q, %v", v, err)
	}
	if v, err := s.Secret(ctx, "CMS", "api_key"); v != "just-the-key" || err != nil {
		t.Fatalf("plain secret: %q, %v", v, err)
	}
	// A plain value needs no AWS at all.
	if v, err := FromMap(map[string]string{"CMS_API_KEY": "local"}).Secret(ctx, "CMS", "api_key"); v != "local" || err != nil {
		t.Fatalf("plain environment: %q, %v", v, err)
	}
}

func TestSecretIDsNameTheirService(t *testing.T) {
	t.Parallel()
	for id, ssm := range map[string]bool{
		"citylink/cms": false,
		"arn:aws:secretsmanager:eu-west-1:123456789012:secret:citylink/cms-AbCdEf": false,
		"/citylink/cms": true,
		"arn:aws:ssm:eu-west-1:123456789012:parameter/citylink/cms": true,
		"arn:aws-us-gov:ssm:us-gov-west-1:123456789012:parameter/x": true,
	} {
		if fromParameterStore(id) != ssm {
			t.Errorf("%s: parameter store = %v, want %v", id, !ssm, ssm)
		}
	}
}

func TestDatabaseSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Local: DATABASE_URL wins and no AWS is needed.
	s := FromMap(map[string]string{"DATABASE_URL": "postgres://u:pw@localhost:5432/db?sslmode=disable", "DB_MAX_CONNS": "1"})
	cfg, err := s.PoolConfig(ctx)
	if err != nil || cfg.MaxConns != 1 || cfg.ConnConfig.Password != "pw" {
		t.Fatalf("DATABASE_URL: %+v, %v", cfg, err)
	}
	// Nothing set says what to set.
	if _, err := FromMap(nil).PoolConfig(ctx); err == nil || !strings.Contains(err.Error(), "DB_HOST") || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Fatalf("unset: %v", err)
	}
	// A bad URL is named, never quoted.
	s = FromMap(map[string]string{"DATABASE_URL": "postgres://u:s3cret@[::1:5432/db"})
	if _, err := s.PoolConfig(ctx); err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Fatalf("bad url: %v", err)
	}
	s = FromMap(map[string]string{"DATABASE_URL": "postgres://localhost/db", "DB_MAX_CONNS": "many"})
	if _, err := s.PoolConfig(ctx); err == nil || !strings.Contains(err.Error(), "DB_MAX_CONNS") {
		t.Fatalf("DB_MAX_CONNS: %v", err)
	}
	// Parts with a plain username and password (no secret): the port
	// defaults, sslmode follows DB_SSLMODE.
	s = FromMap(map[string]string{"DB_HOST": "h", "DB_NAME": "n", "DB_USERNAME": "u", "DB_PASSWORD": "a b/c", "DB_SSLMODE": "disable"})
	dsn, err := s.DatabaseURL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil || pc.ConnConfig.Password != "a b/c" || pc.ConnConfig.Port != 5432 || pc.ConnConfig.TLSConfig != nil {
		t.Fatalf("%v: %+v", err, pc)
	}
	asked := s.Asked()
	if asked["DB_PASSWORD"] != Value || asked["DB_SECRET_ID"] != SecretID || asked["DB_HOST"] != Plain {
		t.Fatalf("asked = %v", asked)
	}
}

func TestPlainSettings(t *testing.T) {
	t.Parallel()
	s := FromMap(map[string]string{"N": "12", "BAD": "ten", "NEG": "-1", "MODE": "sftp", "ODD": "ftp"})
	if n, err := s.Int("N", 7); n != 12 || err != nil {
		t.Fatalf("N: %d, %v", n, err)
	}
	if n, err := s.Int("UNSET", 7); n != 7 || err != nil {
		t.Fatalf("UNSET: %d, %v", n, err)
	}
	for _, bad := range []string{"BAD", "NEG"} {
		if _, err := s.Int(bad, 7); err == nil || !strings.Contains(err.Error(), bad) {
			t.Fatalf("%s: %v", bad, err)
		}
	}
	if _, err := s.String("UNSET"); err == nil || err.Error() != "UNSET is not set" {
		t.Fatalf("String: %v", err)
	}
	if v, err := s.OneOf("MODE", "https", "sftp"); v != "sftp" || err != nil {
		t.Fatalf("OneOf: %q, %v", v, err)
	}
	if _, err := s.OneOf("ODD", "https", "sftp"); err == nil || !strings.Contains(err.Error(), "ODD") {
		t.Fatalf("OneOf ODD: %v", err)
	}
	if s.Optional("UNSET", "d") != "d" || s.Optional("MODE", "d") != "sftp" {
		t.Fatal("Optional")
	}
}

func TestEngineNeedsTheLinkTopic(t *testing.T) {
	t.Parallel()
	_, err := FromMap(nil).Engine(context.Background(), work.Config{Workflow: "test"})
	if err == nil || !strings.Contains(err.Error(), "LINK_TOPIC_ARN") {
		t.Fatalf("err = %v", err)
	}
}
