package telemetrydev

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/citylink/citylink/internal/telemetry"
)

// CreateTable creates a SensorData table on a DynamoDB stand-in and waits
// until it is ACTIVE: a table still CREATING refuses writes, and a test that
// wrote to it would test something else.
func CreateTable(ctx context.Context, c *dynamodb.Client, name string) error {
	if _, err := c.CreateTable(ctx, telemetry.TableDefinition(name)); err != nil {
		return fmt.Errorf("creating table %s: %w", name, err)
	}
	return WaitForTable(ctx, c, name)
}

// WaitForTable waits until table name is ACTIVE.
func WaitForTable(ctx context.Context, c *dynamodb.Client, name string) error {
	w := dynamodb.NewTableExistsWaiter(c, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 10 * time.Millisecond
		o.MaxDelay = 200 * time.Millisecond
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 30*time.Second); err != nil {
		return fmt.Errorf("waiting for table %s: %w", name, err)
	}
	return nil
}
