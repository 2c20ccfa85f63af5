package deploy_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citylink/citylink/internal/awstest"
	"github.com/citylink/citylink/internal/runtimeapi"
	"github.com/citylink/citylink/internal/telemetry/telemetrydev"
)

// shipped builds cmd/dir with the Makefile rule `sam build` runs, and
// returns a command that runs that linux/arm64 binary here: directly on an
// arm64 machine, else under qemu's user-mode emulator, so that the artifact
// tested is the artifact that ships, not a rebuild for this machine.
func shipped(t *testing.T, dir string) string {
	t.Helper()
	art := t.TempDir()
	if out, err := exec.Command("make", "-s", "-C", root, "build-"+camel(dir)+"Function", "ARTIFACTS_DIR="+art).CombinedOutput(); err != nil {
		t.Fatalf("make build-%sFunction: %v\n%s", camel(dir), err, out)
	}
	bin := filepath.Join(art, "bootstrap")
	if runtime.GOARCH == "arm64" {
		return bin
	}
	qemu, err := exec.LookPath("qemu-aarch64-static")
	if err != nil {
		t.Fatalf("running the shipped linux/arm64 bootstrap on %s needs qemu-aarch64-static: apt-get install qemu-user-static (.ci/run does)", runtime.GOARCH)
	}
	wrapper := filepath.Join(art, "run-arm64")
	if err := os.WriteFile(wrapper, []byte("#!/bin/sh\nexec "+qemu+" "+bin+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return wrapper
}

func start(t *testing.T, dir string, env ...string) *runtimeapi.Function {
	t.Helper()
	fn, err := runtimeapi.Run(shipped(t, dir), dir, env...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fn.Stop)
	return fn
}

func invoke(t *testing.T, fn *runtimeapi.Function, ev any, out any) {
	t.Helper()
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	b, err := fn.Invoke(context.Background(), payload, time.Minute)
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, fn.Logs())
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("response %s: %v", b, err)
		}
	}
}

func kinesisEvent(data string) events.KinesisEvent {
	seq := "49590338271490256608559692538361571095921575989136588801"
	return events.KinesisEvent{Records: []events.KinesisEventRecord{{
		AwsRegion: "us-east-1", EventID: "shardId-000000000000:" + seq, EventName: "aws:kinesis:record",
		EventSource: "aws:kinesis", EventVersion: "1.0",
		EventSourceArn: "arn:aws:kinesis:us-east-1:123456789012:stream/citylink-TelemetryStream-AbC",
		Kinesis: events.KinesisRecord{ApproximateArrivalTimestamp: events.SecondsEpochTime{Time: time.Now()},
			Data: []byte(data), PartitionKey: "SL-1", SequenceNumber: seq, KinesisSchemaVersion: "1.0"},
	}}}
}

// TestShippedBootstrapsAnswer runs each function's shipped artifact (arm64,
// stripped, built by the rule sam build runs) against the local Runtime API
// with a real-shaped event. The cmd/ tests run the same code built for
// this machine with deeper cases; this one proves the artifact itself.
// A function without a case here only has to start and ask the Runtime API
// for work: add its case when it lands.
func TestShippedBootstrapsAnswer(t *testing.T) {
	t.Parallel()
	reading := `{"sensor_id":"SL-1","timestamp":"` + time.Now().UTC().Format(time.RFC3339) + `","value":5}`
	cases := map[string]func(t *testing.T){
		"telemetry-store": func(t *testing.T) {
			s := awstest.New(t)
			if err := telemetrydev.CreateTable(context.Background(), s.DynamoDB, "SensorData"); err != nil {
				t.Fatal(err)
			}
			fn := start(t, "telemetry-store", "SENSOR_TABLE=SensorData", "AWS_ENDPOINT_URL="+s.DynamoDBEndpoint)
			var resp events.KinesisEventResponse
			invoke(t, fn, kinesisEvent(reading), &resp)
			scan, err := s.DynamoDB.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String("SensorData")})
			if err != nil || len(resp.BatchItemFailures) != 0 || len(scan.Items) != 1 {
				t.Fatalf("failures %v, table %v (%v); want the reading stored", resp.BatchItemFailures, scan, err)
			}
		},
		"telemetry-archive": func(t *testing.T) {
			s := awstest.New(t)
			if err := awstest.CreateBucket(context.Background(), s.S3, "archive"); err != nil {
				t.Fatal(err)
			}
			fn := start(t, "telemetry-archive", "ARCHIVE_BUCKET=archive", "S3_USE_PATH_STYLE=true", "AWS_ENDPOINT_URL="+s.S3Endpoint)
			var resp events.KinesisEventResponse
			invoke(t, fn, kinesisEvent(reading), &resp)
			list, err := s.S3.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("archive")})
			if err != nil || len(resp.BatchItemFailures) != 0 || len(list.Contents) != 1 {
				t.Fatalf("failures %v, objects %v (%v); want one archived object", resp.BatchItemFailures, list, err)
			}
		},
		"telemetry-api": func(t *testing.T) {
			s := awstest.New(t)
			if err := telemetrydev.CreateTable(context.Background(), s.DynamoDB, "SensorData"); err != nil {
				t.Fatal(err)
			}
			fn := start(t, "telemetry-api", "SENSOR_TABLE=SensorData", "AWS_ENDPOINT_URL="+s.DynamoDBEndpoint)
			req := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "GET /sensors/{id}/latest", RawPath: "/sensors/SL-9/latest",
				PathParameters: map[string]string{"id": "SL-9"}}
			req.RequestContext.HTTP.Method = "GET"
			var resp events.APIGatewayV2HTTPResponse
			invoke(t, fn, req, &resp)
			if resp.StatusCode != http.StatusNotFound || resp.Headers["Content-Type"] != "application/problem+json" {
				t.Fatalf("latest of an unknown sensor = %d %v, want a 404 problem", resp.StatusCode, resp.Headers)
			}
		},
		"db-migrate": func(t *testing.T) {
			got := make(chan map[string]any, 1)
			cf := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var m map[string]any
				_ = json.NewDecoder(r.Body).Decode(&m)
				got <- m
			}))
			defer cf.Close()
			fn := start(t, "db-migrate", "DB_HOST=db.invalid", "DB_PORT=5432", "DB_NAME=citylink", "DB_SECRET_ID=unused")
			// A Delete touches no database: removing the resource keeps the schema.
			invoke(t, fn, map[string]any{
				"RequestType": "Delete", "ResponseURL": cf.URL + "/response", "RequestId": "5f2b6a3c-9d1e-4f7a-8b2c-3d4e5f6a7b8c",
				"StackId":      "arn:aws:cloudformation:us-east-1:123456789012:stack/citylink/1f2e3d4c-0000-11ef-9c8e-0a1b2c3d4e5f",
				"ResourceType": "Custom::Migrations", "LogicalResourceId": "Migrations", "PhysicalResourceId": "citylink-schema",
				"ResourceProperties": map[string]any{"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:citylink-db-migrate"},
			}, nil)
			if resp := <-got; resp["Status"] != "SUCCESS" || resp["PhysicalResourceId"] != "citylink-schema" {
				t.Fatalf("CloudFormation was told %v, want SUCCESS", resp)
			}
		},
	}
	for _, dir := range lambdaDirs(t) {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			if c, ok := cases[dir]; ok {
				c(t)
				return
			}
			fn := start(t, dir)
			_, err := fn.Invoke(context.Background(), []byte(`{}`), 30*time.Second)
			if err == nil || errors.Is(err, runtimeapi.ErrExited) && (strings.Contains(fn.Logs(), "not set") || strings.Contains(fn.Logs(), "missing environment")) {
				return
			}
			t.Fatalf("the shipped bootstrap of cmd/%s neither answered nor stopped for missing configuration: %v\n%s", dir, err, fn.Logs())
		})
	}
}
