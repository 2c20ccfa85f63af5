package telemetry

import (
	"time"

	"github.com/citylink/citylink/internal/backoff"
)

// DefaultBackoff returns the backoff used when a config leaves it zero: it
// suits DynamoDB and Kinesis throttling inside a Lambda deadline.
func DefaultBackoff() backoff.Policy {
	return backoff.Policy{Base: 50 * time.Millisecond, Max: 5 * time.Second}
}
