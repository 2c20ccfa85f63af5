// Package lambdaconfig is the configuration every workflow binary shares:
// typed settings read from the environment with errors that name the
// variable (never its value), secrets read by name from Secrets Manager or
// SSM Parameter Store once per cold start, the Postgres connection built
// from the RDS-managed secret, a pool sized for one Lambda container, and an
// engine whose chain links and dead-item alerts go to the workflow's SNS
// topics. The same Settings feed the Lambda, `citylink run` outside dev
// (from the operator's environment) and `citylink dev` (from a map pointing
// at the simulated city), so a workflow is configured one way everywhere.
//
// # Secrets by name
//
// A secret setting belongs to a system and has a key, and is named
// <SYSTEM>_<KEY>: CMS_API_KEY is the CMS's "api_key", ARCGIS_PASSWORD the
// audit service's "password", DB_PASSWORD the database's "password". Its
// value comes from exactly one of two places:
//
//   - the environment variable <SYSTEM>_<KEY> itself, for local runs
//     (CMS_API_KEY=...);
//   - the secret named by <SYSTEM>_SECRET_ID, deployed: one secret per
//     system holds all of its keys as a JSON object ({"api_key": "..."};
//     {"username": "...", "password": "..."}, which is also the shape of the
//     secret RDS manages for the master user), the key in lower case. A
//     secret that is not a JSON object is the value itself, for a system
//     with one secret value (a plain CMS API key).
//
// Setting both is an error, so a stale local value never shadows the
// deployed secret unnoticed. <SYSTEM>_SECRET_ID is a Secrets Manager secret
// (its name or ARN: GetSecretValue) or an SSM Parameter Store parameter
// (GetParameter WithDecryption, so a SecureString is decrypted): an ARN says
// its service, a name that starts with "/" is a parameter (Parameter Store's
// hierarchical names; give a Secrets Manager name that starts with "/" as
// its ARN), any other name is a Secrets Manager secret. Each secret is read
// at most once per Settings, that is once per cold start, however many
// keys are taken from it. template.yaml passes only <SYSTEM>_SECRET_ID
// (CMS_SECRET_ID, ARCGIS_SECRET_ID, DOT_SECRET_ID, OPEN311_SECRET_ID,
// UTILITY_SECRET_ID, DB_SECRET_ID), never a value; internal/deploy's tests
// hold it to that.
//
// # The database
//
// DATABASE_URL, when set, is the connection string (local runs). Otherwise
// DB_HOST, DB_PORT (5432), DB_NAME and the secret setting DB_USERNAME /
// DB_PASSWORD (deployed: DB_SECRET_ID, the RDS-managed secret) make it, with
// DB_SSLMODE (require). DB_MAX_CONNS sizes the pool (2): a Lambda container
// serves one invocation at a time.
//
// RDS rotates the secret's password. Open connections keep working; a new
// connection refused with invalid_password (SQLSTATE 28P01) marks the
// account stale, and the next connection attempt reads DB_SECRET_ID again
// (at most once per DBRereadEvery), so a warm container follows the
// rotation after one failed attempt instead of failing until it is
// recycled. cmd/db-migrate reads the database through the same settings.
//
// # The engine
//
// LINK_TOPIC_ARN (required) is the workflow's chain-link topic,
// ALERT_TOPIC_ARN (optional) its dead-items topic, BATCH_SIZE (optional) the
// items per batch. AWS_ENDPOINT_URL points the SNS, Secrets Manager and SSM
// clients at local stand-ins (tests).
package lambdaconfig
