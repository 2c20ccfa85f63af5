// Command billing-export is the billing-export workflow's Lambda: every 24
// hours the EventBridge Scheduler tick plans a run (CMS devices written
// since the stored cursor), each SNS chain link records a batch's inventory
// rows, and the invocation that finds the run closed delivers its file to
// the utility. The same binary serves both phases.
//
// Environment: DATABASE_URL; LINK_TOPIC_ARN and ALERT_TOPIC_ARN (optional);
// CMS_URL and CMS_API_KEY; UTILITY_DELIVERY, https or sftp; for https
// UTILITY_URL (the drop's collection) and UTILITY_TOKEN; for sftp
// UTILITY_SFTP_ADDR (host:port), UTILITY_SFTP_USER, UTILITY_SFTP_KEY (the
// client's private key, PEM), UTILITY_SFTP_HOST_KEY (the server's public key,
// authorized_keys format) and UTILITY_SFTP_DIR; BILLING_MAPPING, a JSON
// override of billingexport.DefaultMapping (optional).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/ssh"

	"github.com/citylink/citylink/internal/billingexport"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/lambdaconfig"
	"github.com/citylink/citylink/internal/utility"
	"github.com/citylink/citylink/internal/work"
)

func main() {
	logger := slog.New(lambdacontext.NewLogHandler())
	slog.SetDefault(logger)
	ctx := context.Background()
	eng, x, pool, err := wire(ctx, logger)
	if err != nil {
		logger.Error("billing-export failed to start", "error", err)
		os.Exit(1)
	}
	defer pool.Close()
	lambda.Start(x.Handler(eng.Handle))
}

func wire(ctx context.Context, logger *slog.Logger) (*work.Engine, *billingexport.Exporter, *pgxpool.Pool, error) {
	env, err := lambdaconfig.Require("CMS_URL", "CMS_API_KEY", "UTILITY_DELIVERY")
	if err != nil {
		return nil, nil, nil, err
	}
	mapping, err := billingexport.ParseMapping(os.Getenv("BILLING_MAPPING"))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("BILLING_MAPPING: %w", err)
	}
	deliverer, err := deliverer(env["UTILITY_DELIVERY"])
	if err != nil {
		return nil, nil, nil, err
	}
	cmsClient, err := cms.New(cms.Options{BaseURL: env["CMS_URL"], APIKey: env["CMS_API_KEY"]})
	if err != nil {
		return nil, nil, nil, err
	}
	pool, err := lambdaconfig.Pool(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	const workflow = "billing-export"
	eng, err := lambdaconfig.Engine(ctx, work.Config{
		Workflow: workflow, DB: pool, Logger: logger,
		Source: &billingexport.Source{Client: cmsClient},
		Sink:   &billingexport.Sink{DB: pool, Mapping: mapping},
	})
	if err != nil {
		pool.Close()
		return nil, nil, nil, err
	}
	x := &billingexport.Exporter{DB: pool, Deliverer: deliverer, Mapping: mapping, Workflow: workflow, Logger: logger}
	return eng, x, pool, nil
}

// deliverer builds the configured delivery to the utility.
func deliverer(kind string) (billingexport.Deliverer, error) {
	switch kind {
	case "https":
		env, err := lambdaconfig.Require("UTILITY_URL", "UTILITY_TOKEN")
		if err != nil {
			return nil, err
		}
		return utility.NewHTTPS(utility.HTTPSOptions{BaseURL: env["UTILITY_URL"], Token: env["UTILITY_TOKEN"]})
	case "sftp":
		env, err := lambdaconfig.Require("UTILITY_SFTP_ADDR", "UTILITY_SFTP_USER", "UTILITY_SFTP_KEY", "UTILITY_SFTP_HOST_KEY", "UTILITY_SFTP_DIR")
		if err != nil {
			return nil, err
		}
		signer, err := ssh.ParsePrivateKey([]byte(env["UTILITY_SFTP_KEY"]))
		if err != nil {
			return nil, fmt.Errorf("UTILITY_SFTP_KEY: %w", err)
		}
		host, _, _, _, err := ssh.ParseAuthorizedKey([]byte(env["UTILITY_SFTP_HOST_KEY"]))
		if err != nil {
			return nil, fmt.Errorf("UTILITY_SFTP_HOST_KEY: %w", err)
		}
		return utility.NewSFTP(utility.SFTPConfig{Addr: env["UTILITY_SFTP_ADDR"], User: env["UTILITY_SFTP_USER"],
			Signer: signer, HostKey: host, Dir: env["UTILITY_SFTP_DIR"]})
	}
	return nil, fmt.Errorf("UTILITY_DELIVERY %q is neither https nor sftp", kind)
}
