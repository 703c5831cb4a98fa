package awsinfra

import "fmt"

// Protection of the write path and the records of who asked for what: a web ACL in front
// of the distribution with a rate limit on writes (and, optionally, AWS's common rule
// set), a concurrency cap on the function (regional.go), CloudFront's access logs and the
// buckets' server access logs, each into a log bucket.

// DefaultWriteRateLimit is the most writes (POST requests) one client IP may send in
// WriteRateWindow before the web ACL blocks it for the rest of the window: one a second
// on average, far above a person posting to the board, low enough that a script's flood
// costs at most about 86,000 on-demand DynamoDB writes a day per address. A drill on AWS
// writes well below it.
const DefaultWriteRateLimit = 300

// WriteRateWindow is the rate rule's evaluation window in seconds (WAF accepts 60, 120,
// 300 and 600; AWS WAF Developer Guide, "Rate-based rule statement").
const WriteRateWindow = 300

// MinWriteRateLimit is the smallest limit WAF accepts for a rate-based rule.
const MinWriteRateLimit = 10

// DefaultReservedConcurrency caps the API function in each region: a call takes tens of
// milliseconds, so 20 concurrent executions serve several hundred requests a second, far
// beyond what the rate limit lets one client send, and bound what a flood from many
// addresses can cost. Lambda reserves it from the account's pool, which must keep 100
// unreserved: accounts whose concurrency quota is below 120 (new accounts start at 10)
// need --reserved-concurrency 0, which leaves the function uncapped.
const DefaultReservedConcurrency = 20

// LogRetentionDaysS3 is how long access logs stay in the log buckets.
const LogRetentionDaysS3 = 90

// Logical ids of the protection resources.
const (
	idWebACL             = "WebAcl"
	idLogBucket          = "LogBucket"
	idLogBucketPolicy    = "LogBucketPolicy"
	idDeliverySource     = "AccessLogDeliverySource"
	idDeliveryDest       = "AccessLogDeliveryDestination"
	idDelivery           = "AccessLogDelivery"
	ruleRateLimitWrites  = "RateLimitWrites"
	ruleCommonRuleSet    = "AWSManagedRulesCommonRuleSet"
	accessLogPrefixSite  = "s3/site/"
	accessLogPrefixRel   = "s3/releases/"
	cloudFrontLogsPrefix = "cloudfront"
)

type (
	webACL struct {
		DefaultAction    map[string]any   `json:"DefaultAction"`
		Description      string           `json:"Description"`
		Name             Value            `json:"Name"`
		Rules            []wafRule        `json:"Rules"`
		Scope            string           `json:"Scope"`
		VisibilityConfig visibilityConfig `json:"VisibilityConfig"`
	}
	wafRule struct {
		Action           map[string]any   `json:"Action,omitempty"`
		Name             string           `json:"Name"`
		OverrideAction   map[string]any   `json:"OverrideAction,omitempty"`
		Priority         int              `json:"Priority"`
		Statement        map[string]any   `json:"Statement"`
		VisibilityConfig visibilityConfig `json:"VisibilityConfig"`
	}
	visibilityConfig struct {
		CloudWatchMetricsEnabled bool   `json:"CloudWatchMetricsEnabled"`
		MetricName               string `json:"MetricName"`
		SampledRequestsEnabled   bool   `json:"SampledRequestsEnabled"`
	}

	deliverySource struct {
		LogType     string `json:"LogType"`
		Name        Value  `json:"Name"`
		ResourceArn Value  `json:"ResourceArn"`
	}
	deliveryDestination struct {
		DestinationResourceArn Value  `json:"DestinationResourceArn"`
		Name                   Value  `json:"Name"`
		OutputFormat           string `json:"OutputFormat"`
	}
	delivery struct {
		DeliveryDestinationArn Value `json:"DeliveryDestinationArn"`
		DeliverySourceName     Value `json:"DeliverySourceName"`
	}

	loggingConfiguration struct {
		DestinationBucketName Value  `json:"DestinationBucketName"`
		LogFilePrefix         string `json:"LogFilePrefix"`
	}
)

func visibility(metric string) visibilityConfig {
	return visibilityConfig{CloudWatchMetricsEnabled: true, MetricName: metric, SampledRequestsEnabled: true}
}

// webACLResource is the distribution's web ACL: CLOUDFRONT scope, which WAF only accepts
// in us-east-1, the global stack's region.
func webACLResource(opts Options) Resource {
	rules := []wafRule{{
		Name: ruleRateLimitWrites, Priority: 0, Action: map[string]any{"Block": map[string]any{}},
		// Writes are POSTs (to /api/r/<region>/messages); reads are cached or cheap.
		Statement: map[string]any{"RateBasedStatement": map[string]any{
			"AggregateKeyType": "IP", "EvaluationWindowSec": WriteRateWindow, "Limit": opts.WriteRateLimit,
			"ScopeDownStatement": map[string]any{"ByteMatchStatement": map[string]any{
				"FieldToMatch": map[string]any{"Method": map[string]any{}}, "PositionalConstraint": "EXACTLY", "SearchString": "POST",
				"TextTransformations": []any{map[string]any{"Priority": 0, "Type": "NONE"}},
			}},
		}},
		VisibilityConfig: visibility(ruleRateLimitWrites),
	}}
	if opts.WAFCommonRules {
		rules = append(rules, wafRule{
			Name: ruleCommonRuleSet, Priority: 1, OverrideAction: map[string]any{"None": map[string]any{}},
			Statement:        map[string]any{"ManagedRuleGroupStatement": map[string]any{"VendorName": "AWS", "Name": ruleCommonRuleSet}},
			VisibilityConfig: visibility(ruleCommonRuleSet),
		})
	}
	return Resource{Type: "AWS::WAFv2::WebACL", Properties: webACL{
		DefaultAction: map[string]any{"Allow": map[string]any{}},
		Description:   fmt.Sprintf("twinedge %s: at most %d writes per client IP in %d s", opts.StackName, opts.WriteRateLimit, WriteRateWindow),
		Name:          Sub("${AWS::StackName}-web-acl"), Rules: rules, Scope: "CLOUDFRONT",
		VisibilityConfig: visibility("twinedge"),
	}}
}

// logBucket is a bucket that receives logs: private, encrypted, no versioning (logs are
// written once), expired after LogRetentionDaysS3. Kept with the stack's data.
func logBucket() Resource {
	return privateBucket(s3Bucket{
		LifecycleConfiguration: &lifecycle{Rules: []lifecycleRule{{
			Id: "ExpireLogs", Status: "Enabled", ExpirationInDays: LogRetentionDaysS3,
			AbortIncompleteMultipartUpload: &abortMultipart{DaysAfterInitiation: 1},
		}}},
		VersioningConfiguration: versioning{Status: "Suspended"},
	})
}

// logBucketPolicy lets one log service write into the log bucket for this account only,
// and refuses plain HTTP. service is logging.s3.amazonaws.com (S3 server access logs; S3
// User Guide, "Permissions for log delivery") or delivery.logs.amazonaws.com (CloudWatch
// vended logs, which deliver CloudFront's standard logs v2; CloudWatch Logs User Guide,
// "Logs sent to Amazon S3"), with sourceArn the resources allowed to send.
func logBucketPolicy(service string, sourceArn Value) Resource {
	objects := Sub("${" + idLogBucket + ".Arn}/*")
	return Resource{Type: "AWS::S3::BucketPolicy", Metadata: joinedObjectArn, Properties: bucketPolicy{
		Bucket: Ref(idLogBucket),
		PolicyDocument: policyTemplate{Version: "2012-10-17", Statement: []Value{
			denyInsecureTransportOf(idLogBucket),
			Statement{
				Sid: "AllowLogDelivery", Effect: "Allow", Principal: map[string]any{"Service": service}, Action: "s3:PutObject",
				Resource: objects,
				Condition: map[string]any{
					"StringEquals": map[string]any{"aws:SourceAccount": Ref("AWS::AccountId")},
					"ArnLike":      map[string]any{"aws:SourceArn": sourceArn},
				},
			},
		}},
	}}
}

// addCloudFrontLogging adds the global stack's log bucket and CloudFront's standard
// logging (v2), which CloudFront's documentation now describes as standard logging and
// configures through CloudWatch vended logs: a delivery source (the distribution), a
// delivery destination (the bucket) and the delivery between them (CloudFront Developer
// Guide, "Configure standard logging (v2)"). The legacy Logging property of the
// distribution stays off.
func addCloudFrontLogging(t *Template) {
	t.Resources[idLogBucket] = logBucket()
	t.Resources[idLogBucketPolicy] = logBucketPolicy("delivery.logs.amazonaws.com",
		Sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:delivery-source:*"))
	t.Resources[idDeliverySource] = Resource{Type: "AWS::Logs::DeliverySource", Properties: deliverySource{
		LogType: "ACCESS_LOGS", Name: Sub("${AWS::StackName}-cloudfront"),
		ResourceArn: Sub("arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${" + idDistribution + "}"),
	}}
	t.Resources[idDeliveryDest] = Resource{Type: "AWS::Logs::DeliveryDestination", Properties: deliveryDestination{
		DestinationResourceArn: Sub("${" + idLogBucket + ".Arn}/" + cloudFrontLogsPrefix),
		Name:                   Sub("${AWS::StackName}-cloudfront-s3"), OutputFormat: "json",
	}}
	t.Resources[idDelivery] = Resource{Type: "AWS::Logs::Delivery", DependsOn: []string{idLogBucketPolicy},
		Properties: delivery{DeliveryDestinationArn: GetAtt(idDeliveryDest, "Arn"), DeliverySourceName: Ref(idDeliverySource)}}
	t.Outputs[OutLogBucket] = Output{Description: "Bucket of CloudFront's access logs", Value: Ref(idLogBucket)}
}

// OutLogBucket is the output naming a stack's log bucket (both stacks have one).
const OutLogBucket = "LogBucket"
