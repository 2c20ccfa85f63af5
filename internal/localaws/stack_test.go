package localaws_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citylink/citylink/internal/localaws"
)

func TestStackSpeaksEachProtocol(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := start(t)

	t.Run("kinesis", func(t *testing.T) {
		if err := localaws.CreateStream(ctx, s.Kinesis, "probe", 1); err != nil {
			t.Fatal(err)
		}
		put, err := s.Kinesis.PutRecord(ctx, &kinesis.PutRecordInput{
			StreamName: aws.String("probe"), PartitionKey: aws.String("k"), Data: []byte("héllo"),
		})
		if err != nil {
			t.Fatalf("put record: %v", err)
		}
		it, err := s.Kinesis.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamName: aws.String("probe"), ShardId: put.ShardId, ShardIteratorType: kintypes.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			t.Fatalf("get shard iterator: %v", err)
		}
		got, err := s.Kinesis.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
		if err != nil {
			t.Fatalf("get records: %v", err)
		}
		if len(got.Records) != 1 || string(got.Records[0].Data) != "héllo" || *got.Records[0].SequenceNumber != *put.SequenceNumber {
			t.Fatalf("records = %+v, want the one put", got.Records)
		}
	})

	t.Run("dynamodb", func(t *testing.T) {
		_, err := s.DynamoDB.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:            aws.String("probe"),
			AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("k"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
			KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("k"), KeyType: ddbtypes.KeyTypeHash}},
			BillingMode:          ddbtypes.BillingModePayPerRequest,
		})
		if err != nil {
			t.Fatalf("create table: %v", err)
		}
		key := map[string]ddbtypes.AttributeValue{"k": &ddbtypes.AttributeValueMemberS{Value: "a"}}
		if _, err := s.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("probe"), Item: key}); err != nil {
			t.Fatalf("put item: %v", err)
		}
		got, err := s.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("probe"), Key: key})
		if err != nil || got.Item == nil {
			t.Fatalf("get item = %v, %v; want the item", got, err)
		}
	})

	t.Run("s3", func(t *testing.T) {
		if err := localaws.CreateBucket(ctx, s.S3, "probe"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.S3.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String("probe"), Key: aws.String("a/b.txt"), Body: strings.NewReader("body"),
		}); err != nil {
			t.Fatalf("put object: %v", err)
		}
		obj, err := s.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("probe"), Key: aws.String("a/b.txt")})
		if err != nil {
			t.Fatalf("get object: %v", err)
		}
		defer obj.Body.Close()
		b, _ := io.ReadAll(obj.Body)
		if string(b) != "body" {
			t.Fatalf("body = %q", b)
		}
	})
}

func TestStartNodeMissingModulesSaysHowToInstall(t *testing.T) {
	t.Parallel()
	_, err := localaws.StartNode(context.Background(), t.TempDir(), localaws.Kinesalite)
	if !errors.Is(err, localaws.ErrNotInstalled) {
		t.Fatalf("err = %v, want ErrNotInstalled", err)
	}
	if !strings.Contains(err.Error(), "npm ci --prefix internal/localaws") {
		t.Fatalf("err = %q, want the install command", err)
	}
}

func TestCloseStopsProcess(t *testing.T) {
	t.Parallel()
	p, err := localaws.StartNode(context.Background(), localaws.ModuleDir(), localaws.Dynalite)
	if err != nil {
		t.Fatal(err)
	}
	c := localaws.DynamoDBClient(p.Endpoint)
	if _, err := c.ListTables(context.Background(), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("list tables before close: %v", err)
	}
	p.Close()
	if _, err := c.ListTables(context.Background(), &dynamodb.ListTablesInput{}); err == nil {
		t.Fatal("list tables after close succeeded; want the stand-in gone")
	}
}

func TestKinesaliteAllowsManyShards(t *testing.T) {
	t.Parallel()
	p, err := localaws.StartNode(context.Background(), localaws.ModuleDir(), localaws.Kinesalite)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// Parallel tests each make streams; kinesalite's default allows 10 shards.
	if err := localaws.CreateStream(context.Background(), localaws.KinesisClient(p.Endpoint), "wide", 64); err != nil {
		t.Fatal(err)
	}
}

// TestStandInsSurviveDroppedRequests cuts a request off mid-body, as a
// cancelled context does, and checks the stand-ins still answer.
func TestStandInsSurviveDroppedRequests(t *testing.T) {
	t.Parallel()
	s := start(t)
	for _, endpoint := range []string{s.KinesisEndpoint, s.DynamoDBEndpoint} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(endpoint, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 1000\r\n\r\n{\"Stre")
		conn.Close()
	}
	// The stand-ins handle the reset asynchronously; every request below
	// is served after it, by the same single-threaded node process.
	ctx := context.Background()
	if err := localaws.CreateStream(ctx, s.Kinesis, "after-reset", 1); err != nil {
		t.Fatalf("kinesalite after a dropped request: %v (%v)", err, s.Health())
	}
	if _, err := s.DynamoDB.ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("dynalite after a dropped request: %v (%v)", err, s.Health())
	}
	if err := s.Health(); err != nil {
		t.Fatal(err)
	}
}

// start starts a Stack for one test and stops it when the test ends.
func start(t *testing.T) *localaws.Stack {
	t.Helper()
	s, err := localaws.Start(context.Background(), localaws.ModuleDir())
	if err != nil {
		t.Fatalf("starting aws stand-ins: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}
