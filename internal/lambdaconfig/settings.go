package lambdaconfig

import (
	"context"
	"fmt"
	"maps"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

// Settings reads a workflow's configuration: plain values from an
// environment, secret values from it or from a secret it names. Build one
// per process (per cold start): it caches the secrets it read. It is safe
// for concurrent use.
type Settings struct {
	lookup func(string) (string, bool)

	mu      sync.Mutex
	asked   map[string]Kind
	secrets map[string]string // raw secret strings, by <SYSTEM>_SECRET_ID value
	aws     *aws.Config
	// loadAWS builds the AWS configuration on first use.
	loadAWS func(ctx context.Context) (aws.Config, error)
	// now is the clock the database secret's re-reads are spaced by.
	now func() time.Time
}

// Kind says how a setting was asked for, for Asked.
type Kind int

// The kinds of setting.
const (
	// Plain is an ordinary value: a URL, a layer id, a topic ARN.
	Plain Kind = iota
	// Value is a secret's own value (CMS_API_KEY, DATABASE_URL): given in
	// the environment only for local runs, never by a deployment.
	Value
	// SecretID names a secret (CMS_SECRET_ID): what a deployment gives.
	SecretID
)

// FromEnv reads the process environment, and AWS's default configuration
// (the Lambda's role, AWS_ENDPOINT_URL) for secrets.
func FromEnv() *Settings { return New(os.LookupEnv) }

// FromMap reads m instead of the environment: `citylink dev` wires the
// workflows from a map pointing at the simulated city.
func FromMap(m map[string]string) *Settings {
	m = maps.Clone(m)
	return New(func(k string) (string, bool) { v, ok := m[k]; return v, ok })
}

// New reads through lookup (os.LookupEnv's shape).
func New(lookup func(string) (string, bool)) *Settings {
	return &Settings{
		lookup: lookup, asked: map[string]Kind{}, secrets: map[string]string{},
		loadAWS: func(ctx context.Context) (aws.Config, error) { return awsconfig.LoadDefaultConfig(ctx) },
		now:     time.Now,
	}
}

// get looks a name up, records that it was asked for, and treats an empty
// value as unset, as a template passing an empty parameter means.
func (s *Settings) get(name string, kind Kind) (string, bool) {
	s.mu.Lock()
	if k, ok := s.asked[name]; !ok || kind > k {
		s.asked[name] = kind
	}
	s.mu.Unlock()
	v, ok := s.lookup(name)
	return v, ok && v != ""
}

// Asked lists every setting asked for so far and how: the names a wiring
// reads, which internal/deploy compares with template.yaml.
func (s *Settings) Asked() map[string]Kind {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.asked)
}

// String reads a required plain value.
func (s *Settings) String(name string) (string, error) {
	v, ok := s.get(name, Plain)
	if !ok {
		return "", fmt.Errorf("%s is not set", name)
	}
	return v, nil
}

// Optional reads a plain value, def when unset.
func (s *Settings) Optional(name, def string) string {
	if v, ok := s.get(name, Plain); ok {
		return v
	}
	return def
}

// Int reads an optional whole number, def when unset.
func (s *Settings) Int(name string, def int) (int, error) {
	v, ok := s.get(name, Plain)
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s=%q is not a whole number", name, v)
	}
	return n, nil
}

// OneOf reads a required plain value that must be one of choices.
func (s *Settings) OneOf(name string, choices ...string) (string, error) {
	v, err := s.String(name)
	if err != nil {
		return "", fmt.Errorf("%w (one of %s)", err, strings.Join(choices, ", "))
	}
	for _, c := range choices {
		if v == c {
			return v, nil
		}
	}
	return "", fmt.Errorf("%s=%q is not one of %s", name, v, strings.Join(choices, ", "))
}

// Secret reads the required secret setting <system>_<KEY>: from the
// environment variable of that name, or from the secret that
// <system>_SECRET_ID names (see the package comment).
func (s *Settings) Secret(ctx context.Context, system, key string) (string, error) {
	v, from, err := s.secret(ctx, system, key)
	name := envName(system, key)
	switch {
	case err != nil:
		return "", err
	case from == fromNowhere:
		return "", fmt.Errorf("%s is not set (set it, or %s_SECRET_ID to a secret with %q)", name, system, strings.ToLower(key))
	case v == "":
		return "", fmt.Errorf("%s: the secret %s_SECRET_ID names has no %q, or it is empty", name, system, strings.ToLower(key))
	}
	return v, nil
}

// OptionalSecret reads the secret setting <system>_<KEY>, "" when neither
// it nor <system>_SECRET_ID is set or the secret has no such key (an open
// ArcGIS layer needs no account).
func (s *Settings) OptionalSecret(ctx context.Context, system, key string) (string, error) {
	v, _, err := s.secret(ctx, system, key)
	return v, err
}

func envName(system, key string) string { return system + "_" + strings.ToUpper(key) }

// Where a secret setting came from.
const (
	fromNowhere = iota
	fromEnv
	fromSecret
)

// secret resolves a secret setting and says where it came from.
func (s *Settings) secret(ctx context.Context, system, key string) (string, int, error) {
	name, idName := envName(system, key), system+"_SECRET_ID"
	plain, hasPlain := s.get(name, Value)
	id, hasID := s.get(idName, SecretID)
	switch {
	case hasPlain && hasID:
		return "", fromNowhere, fmt.Errorf("%s and %s are both set: set one", name, idName)
	case hasPlain:
		return plain, fromEnv, nil
	case !hasID:
		return "", fromNowhere, nil
	}
	raw, err := s.read(ctx, idName, id)
	if err != nil {
		return "", fromNowhere, err
	}
	v, err := valueOf(idName, raw, strings.ToLower(key))
	return v, fromSecret, err
}

// awsConfig loads the AWS configuration once.
func (s *Settings) awsConfig(ctx context.Context) (aws.Config, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.aws != nil {
		return *s.aws, nil
	}
	cfg, err := s.loadAWS(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading aws config: %w", err)
	}
	s.aws = &cfg
	return cfg, nil
}

// UseAWS makes the settings read secrets (and the engine publish) with cfg
// instead of AWS's default configuration: tests point it at stand-ins.
func (s *Settings) UseAWS(cfg aws.Config) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.aws = &cfg
}
