// Package deploy is amiswap's deployment to AWS: the CloudFormation
// template (embedded; see template.json), the EventBridge rule it installs
// as Go values that can be evaluated locally (rule.go), the reproducible
// Lambda package (zip.go) and the logic of `amiswap deploy` (deploy.go).
package deploy
