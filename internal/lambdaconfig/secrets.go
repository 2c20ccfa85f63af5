package lambdaconfig

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// fromParameterStore says whether a <SYSTEM>_SECRET_ID value names an SSM
// parameter rather than a Secrets Manager secret: an SSM ARN, or a
// hierarchical parameter name (starting with "/").
func fromParameterStore(id string) bool {
	if strings.HasPrefix(id, "arn:") {
		parts := strings.SplitN(id, ":", 4)
		return len(parts) == 4 && parts[2] == "ssm"
	}
	return strings.HasPrefix(id, "/")
}

// read returns the secret string id names, from the cache after the first
// read. Its errors name the variable idName and the secret's id, never a
// value. The lock is held across the call so two settings of one secret
// read it once.
func (s *Settings) read(ctx context.Context, idName, id string) (string, error) {
	s.mu.Lock()
	raw, ok := s.secrets[id]
	s.mu.Unlock()
	if ok {
		return raw, nil
	}
	cfg, err := s.awsConfig(ctx)
	if err != nil {
		return "", fmt.Errorf("%s: %w", idName, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if raw, ok := s.secrets[id]; ok {
		return raw, nil
	}
	if fromParameterStore(id) {
		out, err := ssm.NewFromConfig(cfg).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(id), WithDecryption: aws.Bool(true)})
		if err != nil {
			return "", fmt.Errorf("%s: reading parameter %s: %w", idName, id, err)
		}
		if out.Parameter == nil || out.Parameter.Value == nil {
			return "", fmt.Errorf("%s: parameter %s has no value", idName, id)
		}
		raw = *out.Parameter.Value
	} else {
		out, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil {
			return "", fmt.Errorf("%s: reading secret %s: %w", idName, id, err)
		}
		if out.SecretString == nil {
			return "", fmt.Errorf("%s: secret %s has no string value (binary secrets are not read)", idName, id)
		}
		raw = *out.SecretString
	}
	s.secrets[id] = raw
	return raw, nil
}

// forget drops the cached secret <system>_SECRET_ID names, so the next
// setting taken from it reads it again.
func (s *Settings) forget(system string) {
	id, ok := s.get(system+"_SECRET_ID", SecretID)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.secrets, id)
}

// valueOf takes key from a secret: a JSON object's member (a string, or any
// other JSON value as its text), or the whole secret when it is not a JSON
// object. A missing key is "". Errors never quote the secret.
func valueOf(idName, raw, key string) (string, error) {
	trimmed := strings.TrimSpace(raw)
	if !strings.HasPrefix(trimmed, "{") {
		return raw, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(trimmed), &obj); err != nil {
		return "", fmt.Errorf("%s: the secret starts like a JSON object but is not one", idName)
	}
	v, ok := obj[key]
	if !ok || string(v) == "null" {
		return "", nil
	}
	var str string
	if err := json.Unmarshal(v, &str); err == nil {
		return str, nil
	}
	return string(v), nil
}
