// Package awstest starts local stand-ins for the AWS services citylink's
// telemetry uses: kinesalite (Kinesis) and dynalite (DynamoDB) as node
// subprocesses pinned in package.json, and gofakes3 (S3) in process. Tests and
// `citylink dev` talk to them through the real aws-sdk-go-v2 clients, so the
// wire protocol is exercised rather than mocked.
package localaws

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Stack is a running set of stand-ins with a client for each.
type Stack struct {
	Kinesis  *kinesis.Client
	DynamoDB *dynamodb.Client
	S3       *s3.Client

	KinesisEndpoint  string
	DynamoDBEndpoint string
	S3Endpoint       string

	kinesalite *Process
	dynalite   *Process
	s3         *S3Server
}

// Start starts kinesalite, dynalite and gofakes3. dir holds node_modules
// (ModuleDir() for the source tree). Close stops them all.
func Start(ctx context.Context, dir string) (*Stack, error) {
	var s Stack
	var err error
	if s.kinesalite, err = StartNode(ctx, dir, Kinesalite); err != nil {
		return nil, err
	}
	if s.dynalite, err = StartNode(ctx, dir, Dynalite); err != nil {
		s.Close()
		return nil, err
	}
	s.s3 = StartS3()
	s.KinesisEndpoint = s.kinesalite.Endpoint
	s.DynamoDBEndpoint = s.dynalite.Endpoint
	s.S3Endpoint = s.s3.Endpoint
	s.Kinesis = KinesisClient(s.KinesisEndpoint)
	s.DynamoDB = DynamoDBClient(s.DynamoDBEndpoint)
	s.S3 = S3Client(s.S3Endpoint)
	return &s, nil
}

// Health returns an error naming any node stand-in that has exited, with
// its stderr tail, or nil while both run.
func (s *Stack) Health() error {
	var errs []error
	for _, p := range []*Process{s.kinesalite, s.dynalite} {
		if p == nil {
			continue
		}
		if gone, why := p.Exited(); gone {
			errs = append(errs, fmt.Errorf("%s at %s exited: %s", p.kind, p.Endpoint, why))
		}
	}
	return errors.Join(errs...)
}

// Close stops every stand-in that was started.
func (s *Stack) Close() {
	if s.kinesalite != nil {
		s.kinesalite.Close()
	}
	if s.dynalite != nil {
		s.dynalite.Close()
	}
	if s.s3 != nil {
		s.s3.Close()
	}
}

// CreateStream creates a Kinesis stream and waits until it is ACTIVE.
func CreateStream(ctx context.Context, c *kinesis.Client, name string, shards int32) error {
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: &name, ShardCount: &shards}); err != nil {
		return fmt.Errorf("creating stream %s: %w", name, err)
	}
	w := kinesis.NewStreamExistsWaiter(c, func(o *kinesis.StreamExistsWaiterOptions) {
		o.MinDelay = 10 * time.Millisecond
		o.MaxDelay = 200 * time.Millisecond
	})
	if err := w.Wait(ctx, &kinesis.DescribeStreamInput{StreamName: &name}, 30*time.Second); err != nil {
		return fmt.Errorf("waiting for stream %s: %w", name, err)
	}
	return nil
}

// CreateBucket creates an S3 bucket.
func CreateBucket(ctx context.Context, c *s3.Client, name string) error {
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &name}); err != nil {
		return fmt.Errorf("creating bucket %s: %w", name, err)
	}
	return nil
}
