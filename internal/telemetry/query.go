package telemetry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// querier is the DynamoDB calls the reader makes.
type querier interface {
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
}

// Page size limits of the readings query.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// ErrUnknownSensor is returned for a sensor with no readings at all.
var ErrUnknownSensor = errors.New("unknown sensor")

// ErrBadCursor is returned for a cursor that is malformed or was issued for
// another sensor, order or time range.
var ErrBadCursor = errors.New("invalid cursor")

// Reader reads a sensor's readings from the SensorData table.
type Reader struct {
	client querier
	table  string
}

// NewReader returns a Reader of table through client, a *dynamodb.Client.
func NewReader(client querier, table string) *Reader {
	return &Reader{client: client, table: table}
}

// Range selects readings of one sensor taken in [From, To), a page at a time.
type Range struct {
	// From and To bound the readings' time; zero values leave that end open.
	From, To time.Time
	// Metric keeps only readings of that metric; empty means every metric.
	Metric string
	// Limit is the page size, 1 to MaxLimit; zero means DefaultLimit.
	Limit int
	// Ascending asks for oldest first; the default is newest first.
	Ascending bool
	// Cursor is a previous page's Next, or empty for the first page.
	Cursor string
}

// Page is one page of readings.
type Page struct {
	Readings []Reading
	// Next is the opaque cursor of the following page, empty on the last.
	// With a metric filter a page may hold fewer than Limit readings and
	// still have a Next: the query reads at most maxFilteredCalls pages of
	// the table for one page of answer.
	Next string
}

// cursor is what an opaque cursor holds: the DynamoDB sort key to start
// after, and what it was issued for, so it cannot be replayed against
// another query. Version 2 came with the (time, metric) sort key; a
// version 1 cursor is refused as invalid.
type cursor struct {
	V    int    `json:"v"`
	S    string `json:"s"`
	K    string `json:"k"`
	Asc  bool   `json:"a,omitempty"`
	From int64  `json:"f"`
	To   int64  `json:"u"`
	M    string `json:"m,omitempty"`
}

// maxFilteredCalls bounds the Query calls one page makes while a metric
// filter discards what DynamoDB read, so that a rare metric costs a few
// round trips and a cursor, not a scan of the sensor's whole history.
const maxFilteredCalls = 4

// Readings returns one page of a sensor's readings in q's range and order.
// A sensor with no readings at all is ErrUnknownSensor, whatever the range:
// a known sensor with nothing in the range is an empty page.
func (r *Reader) Readings(ctx context.Context, sensorID string, q Range) (Page, error) {
	limit := q.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 1 || limit > MaxLimit {
		return Page{}, fmt.Errorf("limit %d outside 1..%d", limit, MaxLimit)
	}
	// Readings are stored to the millisecond, so [From, To) holds the
	// milliseconds from From rounded up to To rounded up, less one.
	from, to := int64(0), int64(math.MaxInt64)
	if !q.From.IsZero() {
		from = max(0, ceilMilli(q.From))
	}
	page := Page{Readings: []Reading{}}
	if !q.To.IsZero() {
		end := ceilMilli(q.To)
		if end <= from {
			return page, r.known(ctx, sensorID)
		}
		to = end - 1
	}
	if from > maxMillis {
		return page, r.known(ctx, sensorID)
	}
	lo, hi := timeBounds(from, min(to, maxMillis))
	in := &dynamodb.QueryInput{
		TableName:              aws.String(r.table),
		KeyConditionExpression: aws.String("#s = :s AND #k BETWEEN :lo AND :hi"),
		ExpressionAttributeNames: map[string]string{
			"#s": attrSensorID, "#k": attrSortKey,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":s":  &types.AttributeValueMemberS{Value: sensorID},
			":lo": &types.AttributeValueMemberS{Value: lo},
			":hi": &types.AttributeValueMemberS{Value: hi},
		},
		ScanIndexForward: aws.Bool(q.Ascending),
		// One more than asked tells whether another page exists, so the
		// last page never comes with a cursor to an empty one.
		Limit: aws.Int32(int32(limit + 1)),
	}
	calls := 1
	if q.Metric != "" {
		// The metric is a filter, not a key condition: see the package
		// comment for why the table has no index by metric.
		in.FilterExpression = aws.String("#m = :m")
		in.ExpressionAttributeNames["#m"] = attrMetric
		in.ExpressionAttributeValues[":m"] = &types.AttributeValueMemberS{Value: q.Metric}
		calls = maxFilteredCalls
	}
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor)
		if err != nil {
			return Page{}, err
		}
		if c.S != sensorID || c.Asc != q.Ascending || c.From != from || c.To != to || c.M != q.Metric || c.K < lo || c.K > hi {
			return Page{}, fmt.Errorf("cursor is for another query: %w", ErrBadCursor)
		}
		in.ExclusiveStartKey = map[string]types.AttributeValue{
			attrSensorID: &types.AttributeValueMemberS{Value: c.S},
			attrSortKey:  &types.AttributeValueMemberS{Value: c.K},
		}
	}

	var items []map[string]types.AttributeValue
	var last map[string]types.AttributeValue
	for i := 0; i < calls && len(items) <= limit; i++ {
		out, err := r.client.Query(ctx, in)
		if err != nil {
			return Page{}, fmt.Errorf("querying readings: %w", err)
		}
		items = append(items, out.Items...)
		last = out.LastEvaluatedKey
		if last == nil {
			break
		}
		in.ExclusiveStartKey = last
	}
	for _, it := range items[:min(len(items), limit)] {
		rd, err := fromItem(it)
		if err != nil {
			return Page{}, fmt.Errorf("reading item: %w", err)
		}
		page.Readings = append(page.Readings, rd)
	}
	next := ""
	switch {
	case len(items) > limit:
		next = page.Readings[limit-1].Key().sortKey()
	case last != nil:
		// DynamoDB stopped at its 1 MB page size, or the filter's budget
		// of calls ran out, before the limit.
		sk, ok := last[attrSortKey].(*types.AttributeValueMemberS)
		if !ok {
			return Page{}, fmt.Errorf("last evaluated key has no %s", attrSortKey)
		}
		next = sk.Value
	}
	if next != "" {
		page.Next = encodeCursor(cursor{V: 2, S: sensorID, K: next, Asc: q.Ascending, From: from, To: to, M: q.Metric})
	}
	if len(page.Readings) == 0 && q.Cursor == "" {
		return page, r.known(ctx, sensorID)
	}
	return page, nil
}

// maxMillis is the last millisecond a 13-digit sort key can hold (in 2286);
// an open-ended range stops there.
const maxMillis = 9_999_999_999_999

// known returns ErrUnknownSensor if the sensor has no readings at all.
func (r *Reader) known(ctx context.Context, sensorID string) error {
	_, err := r.Latest(ctx, sensorID)
	return err
}

// Latest returns a sensor's newest reading, or ErrUnknownSensor.
func (r *Reader) Latest(ctx context.Context, sensorID string) (Reading, error) {
	out, err := r.client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(r.table),
		KeyConditionExpression:    aws.String("#s = :s"),
		ExpressionAttributeNames:  map[string]string{"#s": attrSensorID},
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": &types.AttributeValueMemberS{Value: sensorID}},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(1),
	})
	if err != nil {
		return Reading{}, fmt.Errorf("querying latest reading: %w", err)
	}
	if len(out.Items) == 0 {
		return Reading{}, ErrUnknownSensor
	}
	rd, err := fromItem(out.Items[0])
	if err != nil {
		return Reading{}, fmt.Errorf("reading item: %w", err)
	}
	return rd, nil
}

// ceilMilli returns t in epoch milliseconds, rounded up.
func ceilMilli(t time.Time) int64 {
	ms := t.UnixMilli()
	if time.UnixMilli(ms).Before(t) {
		ms++
	}
	return ms
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c) // a struct of strings and numbers always encodes
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	if len(s) > 1024 {
		return c, fmt.Errorf("cursor too long: %w", ErrBadCursor)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, fmt.Errorf("cursor is not base64url: %w", ErrBadCursor)
	}
	if err := json.Unmarshal(b, &c); err != nil || c.V != 2 || c.S == "" || c.K == "" {
		return c, fmt.Errorf("cursor is malformed: %w", ErrBadCursor)
	}
	return c, nil
}

// maxBatchGet is DynamoDB's BatchGetItem limit of keys per call.
const maxBatchGet = 100

// Lookup returns the stored readings among keys, by key; a key with no
// reading is absent from the map. It lets a submitter tell a new reading
// from one already kept.
func (r *Reader) Lookup(ctx context.Context, keys []Key) (map[Key]Reading, error) {
	found := make(map[Key]Reading, len(keys))
	seen := make(map[Key]bool, len(keys))
	var pending []map[string]types.AttributeValue
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			pending = append(pending, keyOf(k))
		}
	}
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt >= 8 {
			return nil, fmt.Errorf("looking up readings: %d keys still unprocessed", len(pending))
		}
		if attempt > 0 {
			if err := DefaultBackoff().Wait(ctx, attempt); err != nil {
				return nil, fmt.Errorf("looking up readings: %w", err)
			}
		}
		var next []map[string]types.AttributeValue
		for start := 0; start < len(pending); start += maxBatchGet {
			out, err := r.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
				r.table: {Keys: pending[start:min(start+maxBatchGet, len(pending))], ConsistentRead: aws.Bool(true)},
			}})
			if err != nil {
				return nil, fmt.Errorf("looking up readings: %w", err)
			}
			for _, it := range out.Responses[r.table] {
				rd, err := fromItem(it)
				if err != nil {
					return nil, fmt.Errorf("reading item: %w", err)
				}
				found[rd.Key()] = rd
			}
			next = append(next, out.UnprocessedKeys[r.table].Keys...)
		}
		pending = next
	}
	return found, nil
}

func keyOf(k Key) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrSensorID: &types.AttributeValueMemberS{Value: k.SensorID},
		attrSortKey:  &types.AttributeValueMemberS{Value: k.sortKey()},
	}
}
