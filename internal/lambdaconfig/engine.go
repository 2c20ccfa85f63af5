package lambdaconfig

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/citylink/citylink/internal/work"
)

// Engine completes cfg for a Lambda, with the SNS publisher of
// LINK_TOPIC_ARN, the SNS alerter of ALERT_TOPIC_ARN when it is set, and
// BATCH_SIZE when cfg leaves it zero, and returns the engine.
func (s *Settings) Engine(ctx context.Context, cfg work.Config) (*work.Engine, error) {
	topic, err := s.String("LINK_TOPIC_ARN")
	if err != nil {
		return nil, err
	}
	alerts := s.Optional("ALERT_TOPIC_ARN", "")
	batch, err := s.Int("BATCH_SIZE", 0)
	if err != nil {
		return nil, err
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = batch
	}
	awsCfg, err := s.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	topics := sns.NewFromConfig(awsCfg)
	cfg.Publisher = work.NewSNS(topics, topic)
	if alerts != "" {
		cfg.Alerter = work.NewSNSAlerter(topics, alerts)
	}
	eng, err := work.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("engine of %s: %w", cfg.Workflow, err)
	}
	return eng, nil
}
