package telemetry

import (
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute names of the SensorData table. The key is (sensor_id, ts) with
// ts in epoch milliseconds, so a sensor's readings sort by time; expires_at
// is the table's TTL attribute in epoch seconds.
const (
	attrSensorID  = "sensor_id"
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
			{AttributeName: aws.String(attrTime), AttributeType: types.ScalarAttributeTypeN},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrSensorID), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrTime), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	}
}

// item is a reading as a SensorData item; a zero expiresAt writes no TTL.
func item(r Reading, expiresAt time.Time) map[string]types.AttributeValue {
	it := map[string]types.AttributeValue{
		attrSensorID: &types.AttributeValueMemberS{Value: r.SensorID},
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

func keyOf(k Key) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrSensorID: &types.AttributeValueMemberS{Value: k.SensorID},
		attrTime:     &types.AttributeValueMemberN{Value: strconv.FormatInt(k.Millis, 10)},
	}
}

func keyFromItem(it map[string]types.AttributeValue) (Key, error) {
	id, ok := it[attrSensorID].(*types.AttributeValueMemberS)
	if !ok {
		return Key{}, fmt.Errorf("item has no %s", attrSensorID)
	}
	ms, err := numberAttr(it, attrTime)
	if err != nil {
		return Key{}, err
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return Key{}, fmt.Errorf("item %s: %w", attrTime, err)
	}
	return Key{SensorID: id.Value, Millis: n}, nil
}
