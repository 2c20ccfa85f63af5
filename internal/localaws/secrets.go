package localaws

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// SecretsServer stands in for Secrets Manager's GetSecretValue and SSM
// Parameter Store's GetParameter on one endpoint, as the AWS SDK speaks to
// them: awsJson1.1 POSTs told apart by their X-Amz-Target header
// (secretsmanager.GetSecretValue, AmazonSSM.GetParameter), SigV4-signed,
// answered in the services' JSON shapes and error types
// (ResourceNotFoundException, ParameterNotFound). No library offers these
// two calls in process (moto is not available here), and they are all
// citylink makes, so the stand-in is small; it is not a general fake of
// either service.
//
// A SecureString parameter read without WithDecryption answers its
// ciphertext, as SSM does, so a reader that forgets to decrypt gets the
// wrong value rather than the right one by accident.
type SecretsServer struct {
	// Endpoint is the server's base URL, for AWS_ENDPOINT_URL or
	// aws.Config.BaseEndpoint.
	Endpoint string

	srv *httptest.Server

	mu      sync.Mutex
	secrets map[string]string // by name
	params  map[string]param  // by name
	calls   map[string]int    // by X-Amz-Target
}

type param struct {
	value  string
	secure bool
}

// Account is the account id in the ARNs the stand-ins make up.
const Account = "000000000000"

// StartSecrets starts a SecretsServer on 127.0.0.1.
func StartSecrets() *SecretsServer {
	s := &SecretsServer{secrets: map[string]string{}, params: map[string]param{}, calls: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.Endpoint = s.srv.URL
	return s
}

// Close stops the server.
func (s *SecretsServer) Close() { s.srv.Close() }

// PutSecret stores a Secrets Manager secret's string value and returns the
// secret's ARN.
func (s *SecretsServer) PutSecret(name, value string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[name] = value
	return SecretARN(name)
}

// PutParameter stores an SSM parameter (a SecureString when secure).
func (s *SecretsServer) PutParameter(name, value string, secure bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.params[name] = param{value: value, secure: secure}
}

// Calls says how many requests with the X-Amz-Target target were answered
// (found or not), so tests can tell a cached read from a repeated one.
func (s *SecretsServer) Calls(target string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[target]
}

// The targets the server answers.
const (
	TargetGetSecretValue = "secretsmanager.GetSecretValue"
	TargetGetParameter   = "AmazonSSM.GetParameter"
)

// SecretARN is the ARN the stand-in gives the secret name (real ARNs end in
// six random characters; these in a fixed six).
func SecretARN(name string) string {
	return "arn:aws:secretsmanager:" + Region + ":" + Account + ":secret:" + name + "-AbCdEf"
}

// parameterARN is the ARN SSM gives a parameter name.
func parameterARN(name string) string {
	return "arn:aws:ssm:" + Region + ":" + Account + ":parameter/" + strings.TrimPrefix(name, "/")
}

func (s *SecretsServer) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.1") {
		awsError(w, http.StatusBadRequest, "SerializationException", "expected a POST of application/x-amz-json-1.1")
		return
	}
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=") || !strings.Contains(auth, "Signature=") || r.Header.Get("X-Amz-Date") == "" {
		awsError(w, http.StatusForbidden, "MissingAuthenticationTokenException", "Request is missing Authentication Token")
		return
	}
	s.mu.Lock()
	s.calls[target]++
	s.mu.Unlock()
	switch target {
	case TargetGetSecretValue:
		s.getSecretValue(w, r)
	case TargetGetParameter:
		s.getParameter(w, r)
	default:
		awsError(w, http.StatusBadRequest, "UnknownOperationException", "unknown operation "+target)
	}
}

func (s *SecretsServer) getSecretValue(w http.ResponseWriter, r *http.Request) {
	var in struct {
		SecretID     string `json:"SecretId"`
		VersionStage string
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.SecretID == "" {
		awsError(w, http.StatusBadRequest, "InvalidParameterException", "SecretId is required")
		return
	}
	s.mu.Lock()
	name, value, ok := "", "", false
	for n, v := range s.secrets {
		if in.SecretID == n || in.SecretID == SecretARN(n) {
			name, value, ok = n, v, true
			break
		}
	}
	s.mu.Unlock()
	if !ok {
		awsError(w, http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		return
	}
	writeJSON(w, map[string]any{
		"ARN": SecretARN(name), "Name": name, "SecretString": value,
		"VersionId": "00000000-0000-4000-8000-000000000001", "VersionStages": []string{"AWSCURRENT"},
		"CreatedDate": float64(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()),
	})
}

func (s *SecretsServer) getParameter(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name           string
		WithDecryption bool
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Name == "" {
		awsError(w, http.StatusBadRequest, "ValidationException", "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
		return
	}
	s.mu.Lock()
	name, p, ok := "", param{}, false
	for n, v := range s.params {
		if in.Name == n || in.Name == parameterARN(n) {
			name, p, ok = n, v, true
			break
		}
	}
	s.mu.Unlock()
	if !ok {
		awsError(w, http.StatusBadRequest, "ParameterNotFound", "")
		return
	}
	typ, value := "String", p.value
	if p.secure {
		typ = "SecureString"
		if !in.WithDecryption {
			value = fmt.Sprintf("AQICAHh%x", len(p.value)) // ciphertext, not the value
		}
	}
	writeJSON(w, map[string]any{"Parameter": map[string]any{
		"Name": name, "Type": typ, "Value": value, "Version": 1, "ARN": parameterARN(name), "DataType": "text",
		"LastModifiedDate": float64(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()),
	}})
}

// awsError answers an awsJson1.1 error: the type in __type and in
// X-Amzn-ErrorType, which is where the SDK looks for it.
func awsError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	body := map[string]string{"__type": typ}
	if msg != "" {
		body["message"] = msg
	}
	_ = json.NewEncoder(w).Encode(body)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(v)
}
