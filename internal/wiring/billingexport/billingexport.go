// Package billingexport wires the billing-export workflow
// (internal/billingexport) for its Lambda and for internal/wiring's list.
// It imports that workflow and no other, so cmd/billing-export links only
// its own.
package billingexport

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/citylink/citylink/internal/billingexport"
	"github.com/citylink/citylink/internal/utility"
	"github.com/citylink/citylink/internal/wiring/wire"
)

// Name is the workflow's name.
const Name = "billing-export"

// Workflow is billing-export: every 24 hours.
func Workflow() wire.Workflow {
	return wire.Workflow{Name: Name, Every: 24 * time.Hour, Wire: wireBillingExport}
}

// wireBillingExport: the CMS (CMS_URL, CMS_API_KEY) into the utility's
// drop, over https (UTILITY_URL, UTILITY_TOKEN) or sftp (UTILITY_SFTP_ADDR,
// UTILITY_SFTP_DIR, UTILITY_SFTP_USER, UTILITY_SFTP_KEY: the client's
// private key, PEM; UTILITY_SFTP_HOST_KEY: the server's public key,
// authorized_keys format) as UTILITY_DELIVERY says; BILLING_MAPPING
// overrides billingexport.DefaultMapping. Its finish step delivers the file
// of every closed run still owed one.
func wireBillingExport(ctx context.Context, env wire.Env) (wire.Parts, error) {
	s := env.Settings
	mapping, err := billingexport.ParseMapping(s.Optional("BILLING_MAPPING", ""))
	if err != nil {
		return wire.Parts{}, fmt.Errorf("BILLING_MAPPING: %w", err)
	}
	c, _, err := wire.CMSClient(ctx, env)
	if err != nil {
		return wire.Parts{}, err
	}
	drop, target, err := deliverer(ctx, env)
	if err != nil {
		return wire.Parts{}, err
	}
	sink := &billingexport.Sink{DB: env.DB, Mapping: mapping}
	x := &billingexport.Exporter{DB: env.DB, Deliverer: drop, Mapping: mapping, Workflow: Name, Logger: env.Log()}
	return wire.Parts{
		Source:  &billingexport.Source{Client: c},
		Sink:    sink,
		Finish:  func(ctx context.Context) error { _, err := x.Deliver(ctx); return err },
		Target:  target,
		Preview: sink.Preview,
	}, nil
}

// deliverer is the configured delivery to the utility, and its name.
func deliverer(ctx context.Context, env wire.Env) (billingexport.Deliverer, string, error) {
	s := env.Settings
	kind, err := s.OneOf("UTILITY_DELIVERY", "https", "sftp")
	if err != nil {
		return nil, "", err
	}
	if kind == "https" {
		base, err := s.String("UTILITY_URL")
		if err != nil {
			return nil, "", err
		}
		token, err := s.Secret(ctx, "UTILITY", "token")
		if err != nil {
			return nil, "", err
		}
		d, err := utility.NewHTTPS(utility.HTTPSOptions{BaseURL: base, Token: token, Logger: env.Log()})
		if err != nil {
			return nil, "", fmt.Errorf("UTILITY_URL: %w", err)
		}
		return d, "utility HTTPS drop " + base, nil
	}
	addr, err := s.String("UTILITY_SFTP_ADDR")
	if err != nil {
		return nil, "", err
	}
	dir := s.Optional("UTILITY_SFTP_DIR", "")
	user, err := s.Secret(ctx, "UTILITY", "sftp_user")
	if err != nil {
		return nil, "", err
	}
	key, err := s.Secret(ctx, "UTILITY", "sftp_key")
	if err != nil {
		return nil, "", err
	}
	hostKey, err := s.Secret(ctx, "UTILITY", "sftp_host_key")
	if err != nil {
		return nil, "", err
	}
	signer, err := ssh.ParsePrivateKey([]byte(key))
	if err != nil {
		// ssh's errors never quote the key.
		return nil, "", fmt.Errorf("UTILITY_SFTP_KEY: %w", err)
	}
	host, _, _, _, err := ssh.ParseAuthorizedKey([]byte(hostKey))
	if err != nil {
		return nil, "", fmt.Errorf("UTILITY_SFTP_HOST_KEY: %w", err)
	}
	d, err := utility.NewSFTP(utility.SFTPConfig{Addr: addr, User: user, Signer: signer, HostKey: host, Dir: dir, Logger: env.Log()})
	if err != nil {
		return nil, "", fmt.Errorf("UTILITY_SFTP_ADDR: %w", err)
	}
	return d, "utility SFTP drop " + addr, nil
}
