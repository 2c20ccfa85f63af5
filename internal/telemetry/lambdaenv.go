package telemetry

import (
	"context"
	"fmt"
	"os"
	"time"

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

// RetentionEnv is the environment variable both the store and the archive
// Lambda read the retention from: a Go duration, the table's TTL and the
// age past which a reading is refused (default 2160h, 90 days; 0 keeps
// readings forever and refuses none for age).
const RetentionEnv = "READING_TTL"

// Retention returns the retention set in RetentionEnv, or DefaultRetention.
func Retention() (time.Duration, error) {
	s := os.Getenv(RetentionEnv)
	if s == "" {
		return DefaultRetention, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s %q is not a duration", RetentionEnv, s)
	}
	return d, nil
}
