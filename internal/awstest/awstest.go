// Package awstest is the test helper for the local AWS stand-ins: New starts
// a stand-in Stack for a test or benchmark and stops it when the test ends.
//
// The stand-ins themselves (kinesalite, dynalite, gofakes3, goaws) are
// started by package localaws, which imports nothing of package testing so
// that `citylink dev` can run them without linking the test framework into
// a shipped binary; awstest is to localaws what pgtest is to pglocal. The
// other names here are localaws's, kept so the tests written against this
// package before the split still compile.
package awstest

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/citylink/citylink/internal/localaws"
)

// New starts a Stack for a test or benchmark and stops it in tb.Cleanup. A
// missing node or node_modules fails the test with the command that fixes it.
func New(tb testing.TB) *Stack {
	tb.Helper()
	s, err := localaws.Start(context.Background(), localaws.ModuleDir())
	if errors.Is(err, localaws.ErrNotInstalled) {
		tb.Fatalf("%v", err)
	}
	if err != nil {
		tb.Fatalf("starting aws stand-ins: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// The stand-ins' types, as localaws defines them.
type (
	// Stack is localaws.Stack.
	Stack = localaws.Stack
	// Process is localaws.Process.
	Process = localaws.Process
	// Kind is localaws.Kind.
	Kind = localaws.Kind
	// S3Server is localaws.S3Server.
	S3Server = localaws.S3Server
	// SNSServer is localaws.SNSServer.
	SNSServer = localaws.SNSServer
)

// Region is localaws.Region.
const Region = localaws.Region

// The node stand-ins, as localaws names them.
const (
	Kinesalite = localaws.Kinesalite
	Dynalite   = localaws.Dynalite
)

// ErrNotInstalled is localaws.ErrNotInstalled: errors.Is matches either.
var ErrNotInstalled = localaws.ErrNotInstalled

// Start is localaws.Start.
func Start(ctx context.Context, dir string) (*Stack, error) { return localaws.Start(ctx, dir) }

// StartNode is localaws.StartNode.
func StartNode(ctx context.Context, dir string, kind Kind) (*Process, error) {
	return localaws.StartNode(ctx, dir, kind)
}

// ModuleDir is localaws.ModuleDir.
func ModuleDir() string { return localaws.ModuleDir() }

// StartS3 is localaws.StartS3.
func StartS3() *S3Server { return localaws.StartS3() }

// StartSNS is localaws.StartSNS.
func StartSNS() *SNSServer { return localaws.StartSNS() }

// Config is localaws.Config.
func Config(endpoint string) aws.Config { return localaws.Config(endpoint) }

// KinesisClient is localaws.KinesisClient.
func KinesisClient(endpoint string) *kinesis.Client { return localaws.KinesisClient(endpoint) }

// DynamoDBClient is localaws.DynamoDBClient.
func DynamoDBClient(endpoint string) *dynamodb.Client { return localaws.DynamoDBClient(endpoint) }

// S3Client is localaws.S3Client.
func S3Client(endpoint string) *s3.Client { return localaws.S3Client(endpoint) }

// SNSClient is localaws.SNSClient.
func SNSClient(endpoint string) *sns.Client { return localaws.SNSClient(endpoint) }

// CreateStream is localaws.CreateStream.
func CreateStream(ctx context.Context, c *kinesis.Client, name string, shards int32) error {
	return localaws.CreateStream(ctx, c, name, shards)
}

// CreateBucket is localaws.CreateBucket.
func CreateBucket(ctx context.Context, c *s3.Client, name string) error {
	return localaws.CreateBucket(ctx, c, name)
}

// SecretsServer is localaws.SecretsServer.
type SecretsServer = localaws.SecretsServer

// StartSecrets starts the Secrets Manager and SSM Parameter Store stand-in
// for a test and stops it in tb.Cleanup.
func StartSecrets(tb testing.TB) *SecretsServer {
	tb.Helper()
	s := localaws.StartSecrets()
	tb.Cleanup(s.Close)
	return s
}
