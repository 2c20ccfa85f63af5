package telemetry

import (
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// SeqLess reports whether Kinesis sequence number a comes before b. Sequence
// numbers are decimal strings of up to 128 bits, so they compare by length
// before they compare by digits.
func SeqLess(a, b string) bool {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// BatchFailures returns the batch item failures for the given sequence numbers in
// ascending order. Lambda checkpoints just before the lowest one and
// delivers it and everything after it again, so listing all of them is
// equivalent to listing the lowest, and clearer in logs.
func BatchFailures(seqs []string) events.KinesisEventResponse {
	sorted := append([]string(nil), seqs...)
	sortSeqs(sorted)
	resp := events.KinesisEventResponse{BatchItemFailures: []events.KinesisBatchItemFailure{}}
	var last string
	for i, s := range sorted {
		if i > 0 && s == last {
			continue
		}
		last = s
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.KinesisBatchItemFailure{ItemIdentifier: s})
	}
	return resp
}

func sortSeqs(s []string) {
	slices.SortFunc(s, func(a, b string) int {
		switch {
		case SeqLess(a, b):
			return -1
		case SeqLess(b, a):
			return 1
		}
		return 0
	})
}

// ShardOf returns the shard id from a Kinesis event record's eventID, which
// Lambda sets to "shardId-000000000000:<sequence number>".
func ShardOf(rec events.KinesisEventRecord) string {
	shard, _, ok := strings.Cut(rec.EventID, ":")
	if !ok || shard == "" {
		return "unknown"
	}
	return shard
}
