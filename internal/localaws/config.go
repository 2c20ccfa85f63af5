package localaws

import (
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Region is the region every stand-in client claims to be in.
const Region = "us-east-1"

// Config returns an aws.Config with static test credentials that sends every
// request to endpoint. It reads nothing from the environment or ~/.aws, so a
// developer's real credentials can never reach a stand-in or leak into a test.
func Config(endpoint string) aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIACITYLINKTEST", "citylink-test-secret", ""),
		BaseEndpoint: aws.String(endpoint),
		HTTPClient: &http.Client{
			Timeout: 30 * time.Second,
			Transport: &http.Transport{
				MaxIdleConnsPerHost: 64,
				IdleConnTimeout:     30 * time.Second,
			},
		},
		RetryMaxAttempts: 3,
	}
}

// KinesisClient returns a Kinesis client for a kinesalite endpoint.
func KinesisClient(endpoint string) *kinesis.Client {
	return kinesis.NewFromConfig(Config(endpoint))
}

// DynamoDBClient returns a DynamoDB client for a dynalite endpoint.
func DynamoDBClient(endpoint string) *dynamodb.Client {
	return dynamodb.NewFromConfig(Config(endpoint))
}

// S3Client returns a path-style S3 client for a gofakes3 endpoint.
func S3Client(endpoint string) *s3.Client {
	return s3.NewFromConfig(Config(endpoint), func(o *s3.Options) {
		o.UsePathStyle = true
	})
}
