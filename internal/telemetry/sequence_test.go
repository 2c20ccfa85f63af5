package telemetry

import (
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestSeqLessComparesNumerically(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want bool
	}{
		{"9", "10", true},
		{"10", "9", false},
		{"49590338271490256608559692538361571095921575989136588898", "49590338271490256608559692538361571095921575989136588899", true},
		{"0049", "50", true},
		{"5", "5", false},
	}
	for _, tt := range tests {
		if got := SeqLess(tt.a, tt.b); got != tt.want {
			t.Errorf("SeqLess(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestFailuresSortedUniqueAndNeverNull(t *testing.T) {
	t.Parallel()
	if got := BatchFailures(nil); got.BatchItemFailures == nil {
		t.Fatal("BatchFailures(nil) has a nil list; Lambda must get [] for success")
	}
	got := BatchFailures([]string{"100", "99", "1000", "99"})
	var ids []string
	for _, f := range got.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	if !slices.Equal(ids, []string{"99", "100", "1000"}) {
		t.Fatalf("failures = %v", ids)
	}
}

func TestShardOf(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]string{
		"shardId-000000000006:4959": "shardId-000000000006",
		"":                          "unknown",
		"no-colon":                  "unknown",
	} {
		if got := ShardOf(events.KinesisEventRecord{EventID: id}); got != want {
			t.Errorf("ShardOf(%q) = %q, want %q", id, got, want)
		}
	}
}
