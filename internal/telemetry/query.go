package telemetry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// querier is the one DynamoDB call the reader makes.
type querier interface {
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
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
	Next string
}

// cursor is what an opaque cursor holds: the DynamoDB key to start after,
// and what it was issued for, so it cannot be replayed against another query.
type cursor struct {
	V    int    `json:"v"`
	S    string `json:"s"`
	T    int64  `json:"t"`
	Asc  bool   `json:"a,omitempty"`
	From int64  `json:"f"`
	To   int64  `json:"u"`
}

// Readings returns one page of a sensor's readings in q's range and order.
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
		from = ceilMilli(q.From)
	}
	if !q.To.IsZero() {
		end := ceilMilli(q.To)
		if end <= from {
			return Page{Readings: []Reading{}}, nil
		}
		to = end - 1
	}
	in := &dynamodb.QueryInput{
		TableName:              aws.String(r.table),
		KeyConditionExpression: aws.String("#s = :s AND #t BETWEEN :from AND :to"),
		ExpressionAttributeNames: map[string]string{
			"#s": attrSensorID, "#t": attrTime,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":s":    &types.AttributeValueMemberS{Value: sensorID},
			":from": &types.AttributeValueMemberN{Value: strconv.FormatInt(from, 10)},
			":to":   &types.AttributeValueMemberN{Value: strconv.FormatInt(to, 10)},
		},
		ScanIndexForward: aws.Bool(q.Ascending),
		// One more than asked tells whether another page exists, so the
		// last page never comes with a cursor to an empty one.
		Limit: aws.Int32(int32(limit + 1)),
	}
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor)
		if err != nil {
			return Page{}, err
		}
		if c.S != sensorID || c.Asc != q.Ascending || c.From != from || c.To != to || c.T < from || c.T > to {
			return Page{}, fmt.Errorf("cursor is for another query: %w", ErrBadCursor)
		}
		in.ExclusiveStartKey = keyOf(Key{SensorID: c.S, Millis: c.T})
	}
	out, err := r.client.Query(ctx, in)
	if err != nil {
		return Page{}, fmt.Errorf("querying readings: %w", err)
	}
	page := Page{Readings: make([]Reading, 0, min(len(out.Items), limit))}
	for _, it := range out.Items[:min(len(out.Items), limit)] {
		rd, err := fromItem(it)
		if err != nil {
			return Page{}, fmt.Errorf("reading item: %w", err)
		}
		page.Readings = append(page.Readings, rd)
	}
	var nextKey *Key
	switch {
	case len(out.Items) > limit:
		k := page.Readings[limit-1].Key()
		nextKey = &k
	case out.LastEvaluatedKey != nil:
		// DynamoDB stopped at its 1 MB page size before the limit.
		k, err := keyFromItem(out.LastEvaluatedKey)
		if err != nil {
			return Page{}, fmt.Errorf("reading last evaluated key: %w", err)
		}
		nextKey = &k
	}
	if nextKey != nil {
		page.Next = encodeCursor(cursor{V: 1, S: nextKey.SensorID, T: nextKey.Millis, Asc: q.Ascending, From: from, To: to})
	}
	if len(page.Readings) == 0 && q.Cursor == "" {
		if _, err := r.Latest(ctx, sensorID); err != nil {
			return Page{}, err
		}
	}
	return page, nil
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
	if err := json.Unmarshal(b, &c); err != nil || c.V != 1 || c.S == "" {
		return c, fmt.Errorf("cursor is malformed: %w", ErrBadCursor)
	}
	return c, nil
}
