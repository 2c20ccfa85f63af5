package deploy_test

import (
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7/cloudformation"

	"github.com/citylink/citylink/internal/deploy"
)

// workflows are the integration workflows and their plan cadence (the
// seed's: ArcGIS import 8 h, billing 24 h, alarms 8 h, GIS both ways 1 h). A
// workflow whose cmd/ directory exists must be in template.yaml, in the
// one pattern the template's header describes.
var workflows = map[string]string{
	"arcgis-import":  "rate(8 hours)",
	"billing-export": "rate(24 hours)",
	"alarm-311":      "rate(8 hours)",
	"gis-push":       "rate(1 hour)",
	"gis-pull":       "rate(1 hour)",
}

// camel turns a cmd/ directory into its logical id stem: telemetry-store
// is TelemetryStore, alarm-311 Alarm311.
func camel(dir string) string {
	var b strings.Builder
	for _, part := range strings.Split(dir, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// lambdaDirs lists cmd/'s Lambda directories: every one but the CLI.
func lambdaDirs(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(root, "cmd"))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range ents {
		if e.IsDir() && e.Name() != "citylink" {
			dirs = append(dirs, e.Name())
		}
	}
	if len(dirs) < 4 {
		t.Fatalf("cmd/ holds only %v", dirs)
	}
	return dirs
}

func functions(tpl *deploy.Template) map[string]*deploy.Resource {
	fs := map[string]*deploy.Resource{}
	for name, r := range tpl.Resources {
		if r.Type == "AWS::Serverless::Function" || r.Type == "AWS::Lambda::Function" {
			fs[name] = r
		}
	}
	return fs
}

func ref(name string) map[string]any { return map[string]any{"Ref": name} }
func getAtt(res, attr string) map[string]any {
	return map[string]any{"Fn::GetAtt": []any{res, attr}}
}
func equal(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// TestEveryFunctionBuildsFromItsCmdDir checks both directions: every
// function's CodeUri is a cmd/ directory, named by the pattern, built by
// `make build-<Id>Function`; and every Lambda directory of cmd/ has its
// function. All of them are then built as `make build` builds them.
func TestEveryFunctionBuildsFromItsCmdDir(t *testing.T) {
	t.Parallel()
	tpl := parse(t, "template.yaml")
	fns := functions(tpl)
	byDir := map[string]string{}
	for name, r := range fns {
		if r.Type != "AWS::Serverless::Function" {
			t.Errorf("%s is %s: functions are AWS::Serverless::Function, built by sam build", name, r.Type)
			continue
		}
		uri, _ := r.Properties["CodeUri"].(string)
		dir, ok := strings.CutPrefix(uri, "cmd/")
		if !ok || strings.Contains(dir, "/") {
			t.Errorf("%s: CodeUri %q is not a cmd/ directory", name, uri)
			continue
		}
		byDir[dir] = name
		id := camel(dir)
		if name != id+"Function" {
			t.Errorf("%s builds cmd/%s, so is named %sFunction (make build-%%Function maps the name back)", name, dir, id)
		}
		md, _ := r.Attrs["Metadata"].(map[string]any)
		if md["BuildMethod"] != "makefile" || md["ProjectRootDirectory"] != "." || md["ContextPath"] != "." {
			t.Errorf("%s: Metadata %v, want BuildMethod makefile with the repository root as project and context", name, md)
		}
		if want := map[string]any{"Fn::Sub": "${AWS::StackName}-" + dir}; !equal(r.Properties["FunctionName"], want) {
			t.Errorf("%s: FunctionName %v, want %v", name, r.Properties["FunctionName"], want)
		}
		if !equal(r.Properties["Role"], getAtt(id+"Role", "Arn")) {
			t.Errorf("%s: Role %v, want its own %sRole", name, r.Properties["Role"], id)
		}
		lg := tpl.Resources[id+"LogGroup"]
		if lg == nil || !equal(lg.Properties["LogGroupName"], map[string]any{"Fn::Sub": "/aws/lambda/${AWS::StackName}-" + dir}) {
			t.Errorf("%s: no %sLogGroup for /aws/lambda/${AWS::StackName}-%s", name, id, dir)
		}
	}
	for _, dir := range lambdaDirs(t) {
		if _, ok := byDir[dir]; !ok {
			t.Errorf("cmd/%s has no function in template.yaml: add %sFunction following the template's pattern", dir, camel(dir))
		}
		if !hasBootstrapTest(t, dir) {
			t.Errorf("cmd/%s has no test that runs its built bootstrap against internal/runtimeapi with a real-shaped event", dir)
		}
	}
	for k, v := range map[string]any{"Runtime": "provided.al2023", "Architectures": []any{"arm64"}, "Handler": "bootstrap",
		"Tracing": "Active", "LoggingConfig": map[string]any{"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "WARN"}} {
		if !equal(tpl.Globals["Function"][k], v) {
			t.Errorf("Globals.Function.%s = %v, want %v", k, tpl.Globals["Function"][k], v)
		}
	}
	for dir, name := range byDir {
		for _, k := range []string{"Runtime", "Architectures", "Handler", "Tracing", "LoggingConfig"} {
			if _, ok := fns[name].Properties[k]; ok {
				t.Errorf("%s (cmd/%s) sets %s itself: every function takes it from Globals", name, dir, k)
			}
		}
	}

	// Each is built by the Makefile rule sam build runs, as it ships: a
	// static, stripped linux/arm64 executable named bootstrap.
	out := t.TempDir()
	for _, dir := range sortedKeys(byDir) {
		name := byDir[dir]
		art := filepath.Join(out, dir)
		cmd := exec.Command("make", "-s", "-C", root, "build-"+name, "ARTIFACTS_DIR="+art)
		if b, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(b), "./cmd/"+dir) {
			t.Errorf("make build-%s: %v\n%s", name, err, b)
			continue
		}
		if err := checkBootstrap(filepath.Join(art, "bootstrap")); err != nil {
			t.Errorf("make build-%s: %v", name, err)
		}
	}
}

// hasBootstrapTest reports whether a test of cmd/dir starts the built
// binary against the local Runtime API.
func hasBootstrapTest(t *testing.T, dir string) bool {
	t.Helper()
	tests, err := filepath.Glob(filepath.Join(root, "cmd", dir, "*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tests {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "runtimeapi.Test(") || strings.Contains(string(b), "runtimeapi.Run(") {
			return true
		}
	}
	return false
}

// checkBootstrap checks that path is what provided.al2023 on arm64 runs: a
// static linux/arm64 ELF executable, stripped of its symbol table.
func checkBootstrap(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 || f.Type != elf.ET_EXEC {
		return fmt.Errorf("%s is %v %v, want an arm64 executable", path, f.Machine, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked (CGO_ENABLED=0 makes it static)", path)
		}
	}
	if f.Section(".symtab") != nil {
		return fmt.Errorf("%s keeps its symbol table (-ldflags=-s strips it)", path)
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// TestWorkflowsFollowThePattern holds every workflow whose cmd/ exists to
// the template's pattern: schedules at the seed's cadence plus a rescue
// every few minutes, each with retries and a dead-letter queue, the chain
// topic with a dead-letter queue on its subscription, ten chains' worth of
// reserved concurrency, an alert topic, alarms, and migrations first.
func TestWorkflowsFollowThePattern(t *testing.T) {
	t.Parallel()
	tpl := parse(t, "template.yaml")
	typed, err := deploy.Typed(tpl)
	if err != nil {
		t.Fatal(err)
	}
	present := 0
	for dir, rate := range workflows {
		if _, err := os.Stat(filepath.Join(root, "cmd", dir)); err != nil {
			continue
		}
		present++
		w := camel(dir)
		t.Run(dir, func(t *testing.T) {
			fn := tpl.Resources[w+"Function"]
			if fn == nil {
				t.Fatalf("no %sFunction", w)
			}
			if fn.Properties["ReservedConcurrentExecutions"] != int64(10) {
				t.Errorf("ReservedConcurrentExecutions = %v, want 10 (one per chain)", fn.Properties["ReservedConcurrentExecutions"])
			}
			if !equal(fn.Attrs["DependsOn"], "Migrations") && !slices.ContainsFunc(asList(fn.Attrs["DependsOn"]), func(v any) bool { return v == "Migrations" }) {
				t.Errorf("DependsOn = %v, want Migrations", fn.Attrs["DependsOn"])
			}
			vpc, _ := fn.Properties["VpcConfig"].(map[string]any)
			if !equal(vpc["SecurityGroupIds"], []any{ref("LambdaSecurityGroup")}) || !equal(vpc["SubnetIds"], ref("PrivateSubnetIds")) {
				t.Errorf("VpcConfig = %v, want the private subnets and LambdaSecurityGroup", vpc)
			}
			env, _ := fn.Properties["Environment"].(map[string]any)
			vars, _ := env["Variables"].(map[string]any)
			if !equal(vars["LINK_TOPIC_ARN"], ref(w+"Topic")) || !equal(vars["ALERT_TOPIC_ARN"], ref(w+"AlertTopic")) {
				t.Errorf("environment %v lacks LINK_TOPIC_ARN=%sTopic, ALERT_TOPIC_ARN=%sAlertTopic", vars, w, w)
			}

			for kind, want := range map[string]struct{ rate, action string }{
				"Plan": {rate, "plan"}, "Rescue": {"rate(5 minutes)", "rescue"},
			} {
				s, err := typed.GetSchedulerScheduleWithName(w + kind + "Schedule")
				if err != nil {
					t.Errorf("%s%sSchedule: %v", w, kind, err)
					continue
				}
				if s.ScheduleExpression != want.rate {
					t.Errorf("%s schedule %q, want %q", kind, s.ScheduleExpression, want.rate)
				}
				if s.FlexibleTimeWindow == nil || s.FlexibleTimeWindow.Mode != "OFF" {
					t.Errorf("%s schedule has a flexible window; ticks are exact", kind)
				}
				tg := s.Target
				var in map[string]any
				if tg == nil || tg.Input == nil || json.Unmarshal([]byte(*tg.Input), &in) != nil || in["action"] != want.action {
					t.Errorf("%s schedule input %v, want {\"action\":%q}", kind, tg, want.action)
					continue
				}
				if tg.Arn != cloudformation.GetAtt(w+"Function", "Arn") || tg.RoleArn != cloudformation.GetAtt(w+"SchedulerRole", "Arn") {
					t.Errorf("%s schedule targets %s as %s, want %sFunction as %sSchedulerRole", kind, tg.Arn, tg.RoleArn, w, w)
				}
				if tg.RetryPolicy == nil || tg.RetryPolicy.MaximumRetryAttempts == nil || *tg.RetryPolicy.MaximumRetryAttempts < 1 {
					t.Errorf("%s schedule has no retry policy", kind)
				}
				if tg.DeadLetterConfig == nil || tg.DeadLetterConfig.Arn == nil || *tg.DeadLetterConfig.Arn != cloudformation.GetAtt("ScheduleDLQ", "Arn") {
					t.Errorf("%s schedule has no dead-letter queue ScheduleDLQ", kind)
				}
			}

			topic, err := typed.GetSNSTopicWithName(w + "Topic")
			if err != nil || topic.KmsMasterKeyId == nil {
				t.Errorf("%sTopic missing or unencrypted: %v", w, err)
			}
			if _, err := typed.GetSNSTopicWithName(w + "AlertTopic"); err != nil {
				t.Errorf("%sAlertTopic: %v", w, err)
			}
			sub, err := typed.GetSNSSubscriptionWithName(w + "Subscription")
			if err != nil {
				t.Fatalf("%sSubscription: %v", w, err)
			}
			if sub.Protocol != "lambda" || sub.TopicArn != cloudformation.Ref(w+"Topic") || sub.Endpoint == nil || *sub.Endpoint != cloudformation.GetAtt(w+"Function", "Arn") {
				t.Errorf("%sSubscription does not subscribe %sFunction to %sTopic", w, w, w)
			}
			if rp, _ := sub.RedrivePolicy.(map[string]any); rp == nil || rp["deadLetterTargetArn"] != cloudformation.GetAtt(w+"LinkDLQ", "Arn") {
				t.Errorf("%sSubscription RedrivePolicy %v, want %sLinkDLQ", w, sub.RedrivePolicy, w)
			}
			perm, err := typed.GetLambdaPermissionWithName(w + "TopicPermission")
			if err != nil || perm.Principal != "sns.amazonaws.com" || perm.SourceArn == nil || *perm.SourceArn != cloudformation.Ref(w+"Topic") {
				t.Errorf("%sTopicPermission missing or not limited to %sTopic: %v", w, w, err)
			}
			async, err := typed.GetLambdaEventInvokeConfigWithName(w + "AsyncConfig")
			if err != nil || async.DestinationConfig == nil || async.DestinationConfig.OnFailure == nil ||
				async.DestinationConfig.OnFailure.Destination != cloudformation.GetAtt(w+"LinkDLQ", "Arn") {
				t.Errorf("%sAsyncConfig missing or not failing to %sLinkDLQ: %v", w, w, err)
			}
			for _, a := range []string{"ErrorsAlarm", "LinkDLQAlarm", "DeadItemsAlarm"} {
				if _, err := typed.GetCloudWatchAlarmWithName(w + a); err != nil {
					t.Errorf("%s%s: %v", w, a, err)
				}
			}
			if a, err := typed.GetCloudWatchAlarmWithName(w + "DeadItemsAlarm"); err == nil &&
				(a.Namespace == nil || *a.Namespace != "Citylink/Work" || a.MetricName == nil || *a.MetricName != "DeadItems") {
				t.Errorf("%sDeadItemsAlarm watches %v/%v, want Citylink/Work DeadItems", w, a.Namespace, a.MetricName)
			}
		})
	}
	t.Logf("%d of %d workflows have landed in cmd/ and were checked", present, len(workflows))
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// dataServices are the services whose actions touch the city's data: no
// role may use a wildcard action on them, nor name a resource that is not
// this stack's.
var dataServices = []string{"dynamodb", "s3", "kinesis", "sns", "sqs", "secretsmanager", "ssm", "rds", "rds-db", "kms", "lambda", "logs", "firehose"}

// wildcardOK are the actions AWS gives no resource-level permission for.
var wildcardOK = regexp.MustCompile(`^(xray:Put(TraceSegments|TelemetryRecords)|ec2:(Create|Describe|Delete)NetworkInterfaces?|ec2:(Assign|Unassign)PrivateIpAddresses)$`)

// TestRolesNameOnlyThisStack: every statement of every role in
// template.yaml allows named actions (no `*` in a data service's action)
// on resources of this stack (a Ref, Fn::GetAtt or Fn::Sub naming one of
// its resources), except the few actions AWS offers only on "*".
func TestRolesNameOnlyThisStack(t *testing.T) {
	t.Parallel()
	tpl := parse(t, "template.yaml")
	roles := 0
	for _, name := range sortedNames(tpl.Resources) {
		r := tpl.Resources[name]
		if r.Type != "AWS::IAM::Role" {
			continue
		}
		roles++
		if _, ok := r.Properties["ManagedPolicyArns"]; ok {
			t.Errorf("%s attaches managed policies: their resources are \"*\"", name)
		}
		pols, _ := r.Properties["Policies"].([]any)
		if len(pols) == 0 {
			t.Errorf("%s has no policy", name)
		}
		for i, p := range pols {
			doc, _ := p.(map[string]any)["PolicyDocument"].(map[string]any)
			for j, st := range asList(doc["Statement"]) {
				st := st.(map[string]any)
				where := fmt.Sprintf("%s policy %d statement %d", name, i, j)
				if st["Effect"] != "Allow" {
					continue
				}
				if _, ok := st["NotAction"]; ok {
					t.Errorf("%s: NotAction allows everything else", where)
				}
				if _, ok := st["NotResource"]; ok {
					t.Errorf("%s: NotResource allows everything else", where)
				}
				actions := asStrings(st["Action"])
				allWildcardOK := len(actions) > 0
				for _, a := range actions {
					svc, act, _ := strings.Cut(a, ":")
					if strings.Contains(act, "*") && slices.Contains(dataServices, svc) {
						t.Errorf("%s: wildcard action %s on a data service", where, a)
					}
					if a == "*" {
						t.Errorf("%s: action *", where)
					}
					allWildcardOK = allWildcardOK && wildcardOK.MatchString(a)
				}
				res := st["Resource"]
				if res == "*" {
					if !allWildcardOK {
						t.Errorf("%s: Resource \"*\" for %v", where, actions)
					}
					continue
				}
				rl := asList(res)
				if rl == nil {
					rl = []any{res}
				}
				for _, rv := range rl {
					if n := stackResource(tpl, rv); n == "" {
						t.Errorf("%s: resource %v is not one of this stack's", where, rv)
					}
				}
			}
		}
	}
	if roles < len(functions(tpl)) {
		t.Errorf("%d roles for %d functions: each function has its own", roles, len(functions(tpl)))
	}
}

// stackResource returns the resource of tpl that v names (a Ref, GetAtt or
// a Sub whose first variable is a resource), or "".
func stackResource(tpl *deploy.Template, v any) string {
	fn, arg, ok := deploy.Intrinsic(v)
	if !ok {
		return ""
	}
	var name string
	switch fn {
	case "Ref":
		name, _ = arg.(string)
	case "Fn::GetAtt":
		if l := asList(arg); len(l) == 2 {
			name, _ = l[0].(string)
		}
	case "Fn::Sub":
		s, _ := arg.(string)
		if m := regexp.MustCompile(`^\$\{([A-Za-z0-9]+)(\.[A-Za-z.]+)?\}`).FindStringSubmatch(s); m != nil {
			name = m[1]
		}
	}
	if _, ok := tpl.Resources[name]; !ok {
		return ""
	}
	return name
}

func asStrings(v any) []string {
	if s, ok := v.(string); ok {
		return []string{s}
	}
	var out []string
	for _, x := range asList(v) {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func sortedNames(m map[string]*deploy.Resource) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// TestDataIsEncrypted: the stream, the archive bucket, the table and the
// database are encrypted at rest; the bucket also refuses public access
// and plain HTTP.
func TestDataIsEncrypted(t *testing.T) {
	t.Parallel()
	tpl := parse(t, "template.yaml")
	typed, err := deploy.Typed(tpl)
	if err != nil {
		t.Fatal(err)
	}
	streams := typed.GetAllKinesisStreamResources()
	for name, s := range streams {
		if s.StreamEncryption == nil || s.StreamEncryption.EncryptionType != "KMS" || s.StreamEncryption.KeyId == "" {
			t.Errorf("stream %s is not KMS-encrypted", name)
		}
	}
	buckets := typed.GetAllS3BucketResources()
	for name, b := range buckets {
		if b.BucketEncryption == nil || len(b.BucketEncryption.ServerSideEncryptionConfiguration) == 0 ||
			b.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault == nil {
			t.Errorf("bucket %s has no default encryption", name)
		}
		pab := b.PublicAccessBlockConfiguration
		if pab == nil || pab.BlockPublicAcls == nil || !*pab.BlockPublicAcls || !*pab.BlockPublicPolicy || !*pab.IgnorePublicAcls || !*pab.RestrictPublicBuckets {
			t.Errorf("bucket %s does not block public access", name)
		}
		if b.LifecycleConfiguration == nil || len(b.LifecycleConfiguration.Rules) == 0 {
			t.Errorf("bucket %s has no lifecycle to colder storage", name)
		}
		tls := false
		for _, p := range typed.GetAllS3BucketPolicyResources() {
			if p.Bucket != cloudformation.Ref(name) {
				continue
			}
			b, _ := json.Marshal(p.PolicyDocument)
			tls = strings.Contains(string(b), `"aws:SecureTransport":"false"`) && strings.Contains(string(b), `"Effect":"Deny"`)
		}
		if !tls {
			t.Errorf("bucket %s has no policy denying requests without TLS", name)
		}
	}
	tables := typed.GetAllDynamoDBTableResources()
	for name, tb := range tables {
		if tb.SSESpecification == nil || !tb.SSESpecification.SSEEnabled {
			t.Errorf("table %s is not encrypted with KMS", name)
		}
		if tb.BillingMode == nil || *tb.BillingMode != "PAY_PER_REQUEST" {
			t.Errorf("table %s is not on demand", name)
		}
		if tb.TimeToLiveSpecification == nil || !tb.TimeToLiveSpecification.Enabled || tb.TimeToLiveSpecification.AttributeName == nil || *tb.TimeToLiveSpecification.AttributeName != "expires_at" {
			t.Errorf("table %s has no TTL on expires_at (the store's attribute)", name)
		}
		if tb.PointInTimeRecoverySpecification == nil || tb.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled == nil || !*tb.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled {
			t.Errorf("table %s has no point-in-time recovery", name)
		}
	}
	dbs := typed.GetAllRDSDBInstanceResources()
	for name, db := range dbs {
		if db.StorageEncrypted == nil || !*db.StorageEncrypted {
			t.Errorf("database %s is not encrypted", name)
		}
		if db.ManageMasterUserPassword == nil || !*db.ManageMasterUserPassword || db.MasterUserPassword != nil {
			t.Errorf("database %s's password is not managed by RDS in Secrets Manager", name)
		}
		if db.PubliclyAccessible == nil || *db.PubliclyAccessible {
			t.Errorf("database %s may be publicly accessible", name)
		}
	}
	if len(streams) != 1 || len(buckets) != 1 || len(tables) != 1 || len(dbs) != 1 {
		t.Fatalf("found %d streams, %d buckets, %d tables, %d databases; want one of each", len(streams), len(buckets), len(tables), len(dbs))
	}
	if !equal(tpl.Resources["Database"].Properties["DeletionProtection"], ref("DatabaseDeletionProtection")) {
		t.Errorf("the database's deletion protection is not the DatabaseDeletionProtection parameter")
	}
}

// TestStreamMappings: both Kinesis consumers report partial failures,
// bisect a failing batch, give up after bounded retries and record age,
// and send what they gave up on to the failure queue.
func TestStreamMappings(t *testing.T) {
	t.Parallel()
	tpl := parse(t, "template.yaml")
	typed, err := deploy.Typed(tpl)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for name, m := range typed.GetAllLambdaEventSourceMappingResources() {
		if m.EventSourceArn == nil || *m.EventSourceArn != cloudformation.GetAtt("TelemetryStream", "Arn") {
			t.Errorf("%s reads %v, want the telemetry stream", name, m.EventSourceArn)
			continue
		}
		seen[m.FunctionName] = true
		if !slices.Contains(m.FunctionResponseTypes, "ReportBatchItemFailures") {
			t.Errorf("%s: FunctionResponseTypes %v lacks ReportBatchItemFailures", name, m.FunctionResponseTypes)
		}
		if m.BisectBatchOnFunctionError == nil || !*m.BisectBatchOnFunctionError {
			t.Errorf("%s: BisectBatchOnFunctionError is not true", name)
		}
		if m.MaximumRetryAttempts == nil || *m.MaximumRetryAttempts < 1 || *m.MaximumRetryAttempts > 100 {
			t.Errorf("%s: MaximumRetryAttempts %v, want a bound between 1 and 100", name, m.MaximumRetryAttempts)
		}
		if m.MaximumRecordAgeInSeconds == nil || *m.MaximumRecordAgeInSeconds < 60 || *m.MaximumRecordAgeInSeconds > 24*3600 {
			t.Errorf("%s: MaximumRecordAgeInSeconds %v, want at most the stream's 24 h retention", name, m.MaximumRecordAgeInSeconds)
		}
		if m.DestinationConfig == nil || m.DestinationConfig.OnFailure == nil || m.DestinationConfig.OnFailure.Destination == nil ||
			*m.DestinationConfig.OnFailure.Destination != cloudformation.GetAtt("TelemetryFailureQueue", "Arn") {
			t.Errorf("%s: no on-failure destination TelemetryFailureQueue", name)
		}
	}
	for _, fn := range []string{"TelemetryStoreFunction", "TelemetryArchiveFunction"} {
		if !seen[cloudformation.Ref(fn)] {
			t.Errorf("%s has no mapping from the stream", fn)
		}
	}
}
