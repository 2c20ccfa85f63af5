package localaws

import (
	"net/http/httptest"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// S3Server is an in-process, in-memory S3 (gofakes3 with the s3mem backend)
// on an httptest server bound to 127.0.0.1. Clients must use path-style
// addressing (S3Client does).
type S3Server struct {
	// Endpoint is the server's base URL, for aws.Config.BaseEndpoint.
	Endpoint string

	srv *httptest.Server
}

// StartS3 starts an empty in-memory S3.
func StartS3() *S3Server {
	faker := gofakes3.New(s3mem.New(), gofakes3.WithAutoBucket(false))
	srv := httptest.NewServer(faker.Server())
	return &S3Server{Endpoint: srv.URL, srv: srv}
}

// Close stops the server and drops its objects.
func (s *S3Server) Close() { s.srv.Close() }
