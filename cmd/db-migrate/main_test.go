package main_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/citylink/citylink/internal/pgtest"
	"github.com/citylink/citylink/internal/runtimeapi"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// secretsManager answers GetSecretValue on Secrets Manager's wire protocol
// (AWS JSON 1.1, the operation in X-Amz-Target) for the one secret id, as
// the RDS-managed master user secret: a JSON string with username and
// password. No local stand-in for Secrets Manager is pinned in DESIGN.md,
// so this test server speaks the protocol itself.
func secretsManager(t *testing.T, id, secret string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ SecretId string }
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" || json.Unmarshal(body, &in) != nil {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"__type":"InvalidRequestException","message":"unexpected request"}`)
			return
		}
		if in.SecretId != id {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`)
			return
		}
		out, _ := json.Marshal(map[string]any{
			"ARN": id, "Name": "rds!db-citylink", "VersionId": "v1", "SecretString": secret,
			"VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7e9,
		})
		w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// cloudFormation is the pre-signed S3 URL a custom resource answers on: it
// records the one PUT the function makes.
func cloudFormation(t *testing.T) (*httptest.Server, <-chan map[string]any) {
	t.Helper()
	got := make(chan map[string]any, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var resp map[string]any
		if r.Method != http.MethodPut || json.NewDecoder(r.Body).Decode(&resp) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		got <- resp
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// event is a CloudFormation custom resource request as Lambda receives it.
func event(requestType, responseURL string) []byte {
	ev := map[string]any{
		"RequestType":       requestType,
		"ServiceToken":      "arn:aws:lambda:us-east-1:123456789012:function:citylink-DbMigrateFunction-abc",
		"ResponseURL":       responseURL + "/cloudformation-custom-resource-response-useast1/signed?X-Amz-Signature=abc",
		"StackId":           "arn:aws:cloudformation:us-east-1:123456789012:stack/citylink/1f2e3d4c-0000-11ef-9c8e-0a1b2c3d4e5f",
		"RequestId":         "5f2b6a3c-9d1e-4f7a-8b2c-3d4e5f6a7b8c",
		"ResourceType":      "Custom::Migrations",
		"LogicalResourceId": "Migrations",
		"ResourceProperties": map[string]any{
			"ServiceToken":    "arn:aws:lambda:us-east-1:123456789012:function:citylink-DbMigrateFunction-abc",
			"FunctionVersion": "arn:aws:lambda:us-east-1:123456789012:function:citylink-DbMigrateFunction-abc:7",
		},
	}
	if requestType != "Create" {
		ev["PhysicalResourceId"] = "citylink-schema"
	}
	b, _ := json.Marshal(ev)
	return b
}

// emptyDatabase returns the URL of a database with none of citylink's
// schema: pgtest's databases come migrated, so its public schema is
// recreated empty.
func emptyDatabase(t *testing.T) *url.URL {
	t.Helper()
	ctx := context.Background()
	dsn := pgtest.URL(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DROP SCHEMA public CASCADE; CREATE SCHEMA public`); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func migrationFiles(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("../../migrations")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".sql") {
			n++
		}
	}
	return n
}

func start(t *testing.T, db *url.URL, secretsURL string) *runtimeapi.Function {
	t.Helper()
	return runtimeapi.Test(t, "github.com/citylink/citylink/cmd/db-migrate",
		"DB_HOST="+db.Hostname(), "DB_PORT="+db.Port(), "DB_NAME="+strings.TrimPrefix(db.Path, "/"),
		"DB_SECRET_ID=arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-citylink-AbCdEf",
		"DB_SSLMODE=disable", "AWS_ENDPOINT_URL="+secretsURL)
}

// TestBootstrapMigratesOnCreate runs the built function on a Create
// request: the schema reaches the newest migration and CloudFormation is
// told SUCCESS with the schema version; an Update then changes nothing and
// succeeds again; a Delete succeeds and leaves the schema alone.
func TestBootstrapMigratesOnCreate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := emptyDatabase(t)
	pass, _ := db.User.Password()
	if pass == "" {
		// An RDS secret always has a password (lambdaconfig refuses an
		// empty one); the trusting test cluster ignores it.
		pass = "unused-by-trust"
	}
	secret, _ := json.Marshal(map[string]string{"username": db.User.Username(), "password": pass})
	sm := secretsManager(t, "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-citylink-AbCdEf", string(secret))
	cf, responses := cloudFormation(t)
	fn := start(t, db, sm.URL)

	want := float64(migrationFiles(t))
	for _, rt := range []string{"Create", "Update", "Delete"} {
		if _, err := fn.Invoke(ctx, event(rt, cf.URL), 2*time.Minute); err != nil {
			t.Fatalf("%s: invoke: %v\n%s", rt, err, fn.Logs())
		}
		resp := <-responses
		if resp["Status"] != "SUCCESS" || resp["PhysicalResourceId"] != "citylink-schema" || resp["LogicalResourceId"] != "Migrations" {
			t.Fatalf("%s: response %v, want SUCCESS for citylink-schema\n%s", rt, resp, fn.Logs())
		}
		if rt != "Delete" {
			data, _ := resp["Data"].(map[string]any)
			if data["SchemaVersion"] == nil || data["SchemaVersion"].(float64) < want {
				t.Fatalf("%s: data %v, want SchemaVersion >= %v (one per migration file)", rt, resp["Data"], want)
			}
		}
	}
	conn, err := pgx.Connect(ctx, db.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var applied int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM goose_db_version WHERE version_id > 0 AND is_applied`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if float64(applied) != want {
		t.Fatalf("%d migrations applied, want %v", applied, want)
	}
}

// TestBootstrapReportsFailure: with a secret the function cannot use, the
// request fails and CloudFormation is told FAILED with the reason, at once,
// rather than left waiting for the custom resource's hour-long timeout.
func TestBootstrapReportsFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := emptyDatabase(t)
	sm := secretsManager(t, "some-other-secret", `{}`)
	cf, responses := cloudFormation(t)
	fn := start(t, db, sm.URL)
	if _, err := fn.Invoke(ctx, event("Create", cf.URL), 2*time.Minute); err != nil {
		t.Fatalf("invoke: %v\n%s", err, fn.Logs())
	}
	resp := <-responses
	reason, _ := resp["Reason"].(string)
	if resp["Status"] != "FAILED" || !strings.Contains(reason, "reading secret") || !strings.Contains(reason, "ResourceNotFoundException") {
		t.Fatalf("response %v, want FAILED naming the secret error", resp)
	}
}
