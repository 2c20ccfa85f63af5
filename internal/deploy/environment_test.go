package deploy_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/citylink/citylink/internal/awstest"
	"github.com/citylink/citylink/internal/deploy"
	"github.com/citylink/citylink/internal/lambdaconfig"
	"github.com/citylink/citylink/internal/localaws"
	"github.com/citylink/citylink/internal/wiring"
)

// TestWorkflowEnvironmentIsWhatItsWiringReads holds each workflow function's
// Environment in template.yaml to what internal/wiring reads when the
// Lambda starts, both ways, so they cannot drift apart again:
//
//   - the Lambda's whole init (pool, settings, secrets, clients, engine)
//     succeeds from the template's variables alone, with every secret the
//     template names holding the keys its placeholder SecretString lists;
//   - every variable the template gives is one the wiring reads;
//   - the template gives no secret value, only <SYSTEM>_SECRET_ID, and the
//     function's role may read every secret its environment names.
//
// billing-export is started once per UTILITY_DELIVERY, whose branches read
// different variables.
func TestWorkflowEnvironmentIsWhatItsWiringReads(t *testing.T) {
	t.Parallel()
	tpl := parse(t, "template.yaml")
	sec := awstest.StartSecrets(t)
	for _, wf := range wiring.Workflows() {
		t.Run(wf.Name, func(t *testing.T) {
			id := camel(wf.Name)
			fn := tpl.Resources[id+"Function"]
			if fn == nil {
				t.Fatalf("template.yaml has no %sFunction for workflow %s", id, wf.Name)
			}
			env, _ := fn.Properties["Environment"].(map[string]any)
			vars, _ := env["Variables"].(map[string]any)
			variants := []map[string]string{nil}
			if wf.Name == wiring.BillingExport {
				variants = []map[string]string{{"UTILITY_DELIVERY": "sftp"}, {"UTILITY_DELIVERY": "https"}}
			}
			asked := map[string]lambdaconfig.Kind{}
			for _, override := range variants {
				values := map[string]string{}
				for name, v := range vars {
					values[name] = placeholder(t, tpl, sec, name, v)
				}
				for k, v := range override {
					values[k] = v
				}
				s := lambdaconfig.FromMap(values)
				s.UseAWS(localaws.Config(sec.Endpoint))
				if _, err := wiring.Lambda(context.Background(), wf.Name, s, slog.New(slog.DiscardHandler)); err != nil {
					t.Fatalf("%s cannot start from template.yaml's environment %v (%v): %v", wf.Name, varNames(vars), override, err)
				}
				for k, kind := range s.Asked() {
					asked[k] = max(asked[k], kind)
				}
			}
			for _, name := range varNames(vars) {
				kind, read := asked[name]
				switch {
				case !read:
					t.Errorf("template.yaml gives %s %s, which its wiring never reads", wf.Name, name)
				case kind == lambdaconfig.Value:
					t.Errorf("template.yaml gives %s the secret value %s; give <SYSTEM>_SECRET_ID instead", wf.Name, name)
				case kind == lambdaconfig.SecretID && !roleReadsSecret(tpl, id+"Role", vars[name]):
					t.Errorf("%s's %s names a secret that %sRole may not read", wf.Name, name, id)
				}
			}
		})
	}
}

func varNames(m map[string]any) []string {
	var names []string
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// placeholder turns a template value into one a deployment would give:
// parameters their default or a stand-in, secrets a stand-in secret with
// the template's keys filled, the database's endpoint a name that is never
// dialled (the pool connects lazily).
func placeholder(t *testing.T, tpl *deploy.Template, sec *awstest.SecretsServer, name string, v any) string {
	t.Helper()
	if s, ok := v.(string); ok {
		return s
	}
	fn, arg, ok := deploy.Intrinsic(v)
	if !ok {
		t.Fatalf("%s = %v: not a string or an intrinsic function", name, v)
	}
	switch fn {
	case "Ref":
		ref, _ := arg.(string)
		if p, ok := tpl.Parameters[ref]; ok {
			if d := fmt.Sprint(p["Default"]); p["Default"] != nil && d != "" {
				return d
			}
			switch {
			case strings.HasSuffix(name, "_URL"):
				return "https://" + strings.ToLower(ref) + ".example/arcgis/rest/services/Layer/FeatureServer"
			case strings.HasSuffix(name, "_ADDR"):
				return "sftp.example:22"
			}
			return "placeholder-" + ref
		}
		if r := tpl.Resources[ref]; r != nil && r.Type == "AWS::SecretsManager::Secret" {
			raw, _ := r.Properties["SecretString"].(string)
			return sec.PutSecret("stack/"+ref, filled(t, ref, raw))
		}
		if r := tpl.Resources[ref]; r != nil && r.Type == "AWS::SNS::Topic" {
			return "arn:aws:sns:us-east-1:000000000000:" + ref
		}
		t.Fatalf("%s refers to %s, which this test cannot stand in for", name, ref)
	case "Fn::GetAtt":
		parts, _ := arg.([]any)
		att := fmt.Sprint(parts...)
		switch {
		case strings.HasSuffix(att, "MasterUserSecret.SecretArn"):
			return sec.PutSecret("stack/rds-master", `{"username": "citylink", "password": "p@ss/w:rd"}`)
		case strings.HasSuffix(att, "Endpoint.Address"):
			return "db.invalid"
		case strings.HasSuffix(att, "Endpoint.Port"):
			return "5432"
		}
		t.Fatalf("%s = GetAtt %v, which this test cannot stand in for", name, parts)
	}
	t.Fatalf("%s = %s %v, which this test cannot stand in for", name, fn, arg)
	return ""
}

// filled is a template secret's placeholder SecretString with every key
// given a value: SSH keys that parse where the key names one.
func filled(t *testing.T, ref, raw string) string {
	t.Helper()
	var keys map[string]string
	if err := json.Unmarshal([]byte(raw), &keys); err != nil {
		t.Fatalf("%s's SecretString is not a JSON object of strings: %v", ref, err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for k := range keys {
		switch {
		case strings.HasSuffix(k, "host_key"):
			sp, err := ssh.NewPublicKey(pub)
			if err != nil {
				t.Fatal(err)
			}
			keys[k] = string(ssh.MarshalAuthorizedKey(sp))
		case strings.HasSuffix(k, "_key") && strings.HasPrefix(k, "sftp"):
			block, err := ssh.MarshalPrivateKey(priv, "")
			if err != nil {
				t.Fatal(err)
			}
			keys[k] = string(pem.EncodeToMemory(block))
		default:
			keys[k] = "value-of-" + k
		}
	}
	b, _ := json.Marshal(keys)
	return string(b)
}

// roleReadsSecret says whether the role has a statement allowing
// secretsmanager:GetSecretValue on the secret v refers to.
func roleReadsSecret(tpl *deploy.Template, role string, v any) bool {
	r := tpl.Resources[role]
	if r == nil {
		return false
	}
	found := false
	deploy.Walk(role, r.Properties["Policies"], func(_ string, node any) {
		st, ok := node.(map[string]any)
		if !ok || found {
			return
		}
		if !equal(st["Action"], "secretsmanager:GetSecretValue") && !slices.ContainsFunc(asList(st["Action"]), func(a any) bool { return a == "secretsmanager:GetSecretValue" }) {
			return
		}
		res := st["Resource"]
		found = equal(res, v) || slices.ContainsFunc(asList(res), func(x any) bool { return equal(x, v) })
	})
	return found
}
