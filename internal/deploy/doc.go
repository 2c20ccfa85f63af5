// Package deploy holds citylink's CloudFormation templates to account.
// template.yaml, network.yaml and pipeline.yaml are only data until AWS reads
// them, and a misspelt property or a reference to nothing is found there
// only at deploy time, in a rolled-back stack. This package finds them in
// `make test` instead: Parse reads a template with its intrinsic functions
// kept as they are written (Ref, Fn::GetAtt and Fn::Sub stay visible), Spec
// checks every resource type, property name and property type against AWS's
// published CloudFormation resource specification (pinned in the npm package
// @aws-cdk/aws-service-spec beside this file), and References checks that
// every reference names something the template declares.
package deploy
