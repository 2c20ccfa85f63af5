package localaws

import (
	"net/http/httptest"

	"github.com/Admiral-Piett/goaws/app/router"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// SNSServer is goaws v0.4.4 serving the SNS query API in process, on an
// httptest server bound to 127.0.0.1.
//
// goaws keeps its topics and subscriptions in package variables, so every
// SNSServer of a test binary shares them: give each test its own topic names.
// It delivers to HTTP subscriptions synchronously, inside the Publish call,
// and a Subscribe with protocol http takes about a second, because goaws
// sleeps before posting the SubscriptionConfirmation. An endpoint that
// publishes again from its handler therefore nests Publish calls: endpoints
// should queue what they receive and return.
type SNSServer struct {
	// Endpoint is the server's base URL, for aws.Config.BaseEndpoint.
	Endpoint string

	srv *httptest.Server
}

// StartSNS starts a goaws SNS server.
func StartSNS() *SNSServer {
	srv := httptest.NewServer(router.New())
	return &SNSServer{Endpoint: srv.URL, srv: srv}
}

// Close stops the server. Topics stay in goaws's memory until the test
// binary exits.
func (s *SNSServer) Close() { s.srv.Close() }

// SNSClient returns an SNS client for a goaws endpoint.
func SNSClient(endpoint string) *sns.Client {
	return sns.NewFromConfig(Config(endpoint))
}
