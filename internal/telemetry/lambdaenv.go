package telemetry

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

// LambdaEnv reads what every telemetry Lambda needs at start-up: the
// environment variables it requires, by name, and the AWS config of its
// execution role, loaded from the Lambda environment. It fails on the first
// required variable that is unset, so that a misconfigured function fails
// its init, where Lambda reports it, rather than every invocation.
func LambdaEnv(ctx context.Context, required ...string) (aws.Config, map[string]string, error) {
	env := make(map[string]string, len(required))
	for _, name := range required {
		v := os.Getenv(name)
		if v == "" {
			return aws.Config{}, nil, fmt.Errorf("%s is not set", name)
		}
		env[name] = v
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, nil, fmt.Errorf("loading aws config: %w", err)
	}
	return cfg, env, nil
}
