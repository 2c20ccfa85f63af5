package telemetry

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute names of the SensorData table. The key is (sensor_id, sk), sk
// being the reading's time and metric (see sortKey), so a sensor's readings
// sort by time and every metric of one instant has its own item. ts repeats
// the time in epoch milliseconds for people reading the table; expires_at
// is the table's TTL attribute in epoch seconds.
const (
	attrSensorID  = "sensor_id"
	attrSortKey   = "sk"
	attrTime      = "ts"
	attrValue     = "value"
	attrUnit      = "unit"
	attrMetric    = "metric"
	attrExpiresAt = "expires_at"
)

// TableDefinition returns the CreateTable input of a SensorData table with
// the key schema the store and the query API use. In AWS, template.yaml
// declares the table with the same keys and its TTL on expires_at; locally,
// telemetrydev creates it from this.
func TableDefinition(name string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrSensorID), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrSortKey), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrSensorID), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSortKey), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	}
}

// item is a reading as a SensorData item; a zero expiresAt writes no TTL.
func item(r Reading, expiresAt time.Time) map[string]types.AttributeValue {
	it := map[string]types.AttributeValue{
		attrSensorID: &types.AttributeValueMemberS{Value: r.SensorID},
		attrSortKey:  &types.AttributeValueMemberS{Value: r.Key().sortKey()},
		attrTime:     &types.AttributeValueMemberN{Value: strconv.FormatInt(r.Time.UnixMilli(), 10)},
		attrValue:    &types.AttributeValueMemberN{Value: strconv.FormatFloat(r.Value, 'g', -1, 64)},
	}
	if r.Unit != "" {
		it[attrUnit] = &types.AttributeValueMemberS{Value: r.Unit}
	}
	if r.Metric != "" {
		it[attrMetric] = &types.AttributeValueMemberS{Value: r.Metric}
	}
	if !expiresAt.IsZero() {
		it[attrExpiresAt] = &types.AttributeValueMemberN{Value: strconv.FormatInt(expiresAt.Unix(), 10)}
	}
	return it
}

// fromItem reads a SensorData item back into a reading.
func fromItem(it map[string]types.AttributeValue) (Reading, error) {
	var r Reading
	id, ok := it[attrSensorID].(*types.AttributeValueMemberS)
	if !ok {
		return r, fmt.Errorf("item has no %s", attrSensorID)
	}
	r.SensorID = id.Value
	ms, err := numberAttr(it, attrTime)
	if err != nil {
		return r, err
	}
	msInt, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return r, fmt.Errorf("item %s: %w", attrTime, err)
	}
	r.Time = time.UnixMilli(msInt).UTC()
	v, err := numberAttr(it, attrValue)
	if err != nil {
		return r, err
	}
	if r.Value, err = strconv.ParseFloat(v, 64); err != nil {
		return r, fmt.Errorf("item %s: %w", attrValue, err)
	}
	if u, ok := it[attrUnit].(*types.AttributeValueMemberS); ok {
		r.Unit = u.Value
	}
	if m, ok := it[attrMetric].(*types.AttributeValueMemberS); ok {
		r.Metric = m.Value
	}
	return r, nil
}

func numberAttr(it map[string]types.AttributeValue, name string) (string, error) {
	n, ok := it[name].(*types.AttributeValueMemberN)
	if !ok {
		return "", fmt.Errorf("item has no number %s", name)
	}
	return n.Value, nil
}

func keyFromItem(it map[string]types.AttributeValue) (Key, error) {
	id, ok := it[attrSensorID].(*types.AttributeValueMemberS)
	if !ok {
		return Key{}, fmt.Errorf("item has no %s", attrSensorID)
	}
	sk, ok := it[attrSortKey].(*types.AttributeValueMemberS)
	if !ok {
		return Key{}, fmt.Errorf("item has no %s", attrSortKey)
	}
	k, err := parseSortKey(sk.Value)
	if err != nil {
		return Key{}, err
	}
	k.SensorID = id.Value
	return k, nil
}

// msDigits is the width of the time in a sort key: epoch milliseconds have
// 13 digits from 2001 to 2286, and earlier times are zero-padded, so that
// sort keys sort as times do.
const msDigits = 13

// sortKey returns k's sort key, "<13-digit epoch ms>#<metric>". The time
// comes first so a time range is one key condition whatever the metrics;
// the metric after it keeps readings of different metrics at one instant
// apart. Every key of one millisecond starts "<ms>#", and '#' sorts just
// below '$', so "<ms>" < every key of that millisecond < "<ms>$" whatever
// the metric (see timeBounds).
func (k Key) sortKey() string {
	return fmt.Sprintf("%0*d#%s", msDigits, k.Millis, k.Metric)
}

// timeBounds returns the sort keys between which lie the readings of every
// metric taken from the millisecond from to the millisecond to, inclusive.
func timeBounds(from, to int64) (lo, hi string) {
	return fmt.Sprintf("%0*d", msDigits, from), fmt.Sprintf("%0*d$", msDigits, to)
}

func parseSortKey(sk string) (Key, error) {
	ms, metric, ok := strings.Cut(sk, "#")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || len(ms) != msDigits {
		return Key{}, fmt.Errorf("item %s %q is not <ms>#<metric>", attrSortKey, sk)
	}
	return Key{Millis: n, Metric: metric}, nil
}
