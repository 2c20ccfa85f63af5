package awstest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/citylink/citylink/internal/awstest"
	"github.com/citylink/citylink/internal/localaws"
)

func TestNewStartsAStackThatWorks(t *testing.T) {
	t.Parallel()
	s := awstest.New(t)
	if err := awstest.CreateStream(context.Background(), s.Kinesis, "probe", 1); err != nil {
		t.Fatal(err)
	}
	out, err := s.Kinesis.ListStreams(context.Background(), &kinesis.ListStreamsInput{})
	if err != nil || len(out.StreamNames) != 1 || out.StreamNames[0] != "probe" {
		t.Fatalf("streams = %v, %v; want the one created", out, err)
	}
	if err := s.Health(); err != nil {
		t.Fatal(err)
	}
}

// TestNamesAreLocalawss: tests that still use awstest's names for the
// stand-ins get localaws's, so an error from one matches the other's.
func TestNamesAreLocalawss(t *testing.T) {
	t.Parallel()
	_, err := awstest.StartNode(context.Background(), t.TempDir(), awstest.Kinesalite)
	if !errors.Is(err, localaws.ErrNotInstalled) || !errors.Is(err, awstest.ErrNotInstalled) {
		t.Fatalf("err = %v, want ErrNotInstalled", err)
	}
}
