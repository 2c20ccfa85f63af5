// Command echo is a Lambda used by runtimeapi's tests: it answers its input
// with the deadline it was given, and fails on demand.
package main

import (
	"context"
	"errors"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type in struct {
	Say  string `json:"say"`
	Fail bool   `json:"fail"`
}

type out struct {
	Said        string `json:"said"`
	HasDeadline bool   `json:"has_deadline"`
	RequestID   string `json:"request_id"`
}

func main() {
	lambda.Start(func(ctx context.Context, e in) (out, error) {
		if e.Fail {
			return out{}, errors.New("asked to fail")
		}
		_, ok := ctx.Deadline()
		lc, _ := lambdacontext.FromContext(ctx)
		return out{Said: e.Say, HasDeadline: ok, RequestID: lc.AwsRequestID}, nil
	})
}
