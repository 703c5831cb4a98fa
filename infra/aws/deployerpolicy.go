package awsinfra

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// The deployer's policy: the IAM permissions `twinedge deploy`, `release --target aws`,
// `fail --aws`/`heal --aws` and `destroy` need, and no more. It has two parts, each
// derived from what the code does, and each kept honest by a test:
//
//   - sdkActions: every AWS API operation the commands call, mapped to its IAM action.
//     The tests record each operation the commands send to moto_server
//     (TestDeployerPolicyCoversCalls) and fail on one this table lacks.
//   - resourceActions: what CloudFormation does with the caller's credentials (no service
//     role) to create, update and delete each resource type of the templates.
//     TestDeployerPolicyCoversResources fails on a template resource type without an entry.
//
// Resources are scoped to the stack's names where the service names them (stacks,
// buckets, the table, the function, the role, the log group); CloudFront, WAF, ACM and
// vended-log ids are chosen by AWS, so those statements name "*".

// sdkActions maps "Service.Operation" (the SDK's service id and operation name) to the
// IAM action it needs; "" for operations that need none (GetCallerIdentity).
var sdkActions = map[string]string{
	"STS.GetCallerIdentity": "",

	"CloudFormation.DescribeStacks":         "cloudformation:DescribeStacks",
	"CloudFormation.CreateChangeSet":        "cloudformation:CreateChangeSet",
	"CloudFormation.DescribeChangeSet":      "cloudformation:DescribeChangeSet",
	"CloudFormation.ExecuteChangeSet":       "cloudformation:ExecuteChangeSet",
	"CloudFormation.DeleteChangeSet":        "cloudformation:DeleteChangeSet",
	"CloudFormation.DeleteStack":            "cloudformation:DeleteStack",
	"CloudFormation.DescribeStackEvents":    "cloudformation:DescribeStackEvents",
	"CloudFormation.ContinueUpdateRollback": "cloudformation:ContinueUpdateRollback",
	"CloudFormation.ListStackResources":     "cloudformation:ListStackResources",

	// S3's HEAD and list operations are authorised by the read actions (S3 API
	// Reference, each operation's "Permissions").
	"S3.HeadBucket":              "s3:ListBucket",
	"S3.CreateBucket":            "s3:CreateBucket",
	"S3.PutPublicAccessBlock":    "s3:PutBucketPublicAccessBlock",
	"S3.PutBucketVersioning":     "s3:PutBucketVersioning",
	"S3.GetBucketPolicy":         "s3:GetBucketPolicy",
	"S3.PutBucketPolicy":         "s3:PutBucketPolicy",
	"S3.HeadObject":              "s3:GetObject",
	"S3.GetObject":               "s3:GetObject",
	"S3.PutObject":               "s3:PutObject",
	"S3.CopyObject":              "s3:PutObject",
	"S3.DeleteObject":            "s3:DeleteObject",
	"S3.DeleteObjects":           "s3:DeleteObject",
	"S3.ListObjectsV2":           "s3:ListBucket",
	"S3.ListObjectVersions":      "s3:ListBucketVersions",
	"S3.DeleteBucket":            "s3:DeleteBucket",
	"S3.CreateMultipartUpload":   "s3:PutObject",
	"S3.UploadPart":              "s3:PutObject",
	"S3.CompleteMultipartUpload": "s3:PutObject",
	"S3.ListMultipartUploads":    "s3:ListBucketMultipartUploads",
	"S3.AbortMultipartUpload":    "s3:AbortMultipartUpload",

	"Lambda.GetFunctionConfiguration":    "lambda:GetFunctionConfiguration",
	"Lambda.UpdateFunctionConfiguration": "lambda:UpdateFunctionConfiguration",

	"DynamoDB.DescribeTable": "dynamodb:DescribeTable",
	"DynamoDB.UpdateTable":   "dynamodb:UpdateTable",
	"DynamoDB.DeleteTable":   "dynamodb:DeleteTable",

	// The release (build/): invalidate and wait, read the distribution's origins.
	"CloudFront.CreateInvalidation":    "cloudfront:CreateInvalidation",
	"CloudFront.GetInvalidation":       "cloudfront:GetInvalidation",
	"CloudFront.ListInvalidations":     "cloudfront:ListInvalidations",
	"CloudFront.GetDistributionConfig": "cloudfront:GetDistributionConfig",
	// The release's redirects (build/redirectstore.go): the data plane's own actions.
	"CloudFront KeyValueStore.DescribeKeyValueStore": "cloudfront-keyvaluestore:DescribeKeyValueStore",
	"CloudFront KeyValueStore.ListKeys":              "cloudfront-keyvaluestore:ListKeys",
	"CloudFront KeyValueStore.UpdateKeys":            "cloudfront-keyvaluestore:UpdateKeys",
}

// resourceActions are the actions CloudFormation needs, with the caller's credentials,
// to create, update and delete each resource type of the templates (the handlers'
// permissions of each type's CloudFormation resource schema).
var resourceActions = map[string][]string{
	"AWS::S3::Bucket": {"s3:CreateBucket", "s3:DeleteBucket", "s3:PutBucketTagging", "s3:PutEncryptionConfiguration",
		"s3:PutLifecycleConfiguration", "s3:PutBucketOwnershipControls", "s3:PutBucketPublicAccessBlock", "s3:PutBucketVersioning",
		"s3:PutBucketLogging", "s3:GetBucketLocation", "s3:ListBucket"},
	"AWS::S3::BucketPolicy": {"s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"},
	"AWS::IAM::Role": {"iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:UpdateRole", "iam:TagRole", "iam:PutRolePolicy",
		"iam:DeleteRolePolicy", "iam:GetRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:PassRole"},
	"AWS::Logs::LogGroup": {"logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:DescribeLogGroups", "logs:PutRetentionPolicy", "logs:TagResource"},
	"AWS::Lambda::Function": {"lambda:CreateFunction", "lambda:DeleteFunction", "lambda:GetFunction", "lambda:UpdateFunctionCode",
		"lambda:UpdateFunctionConfiguration", "lambda:PutFunctionConcurrency", "lambda:DeleteFunctionConcurrency", "lambda:TagResource"},
	"AWS::Lambda::Url":        {"lambda:CreateFunctionUrlConfig", "lambda:DeleteFunctionUrlConfig", "lambda:GetFunctionUrlConfig", "lambda:UpdateFunctionUrlConfig"},
	"AWS::Lambda::Permission": {"lambda:AddPermission", "lambda:RemovePermission", "lambda:GetPolicy"},
	"AWS::DynamoDB::GlobalTable": {"dynamodb:CreateTable", "dynamodb:DeleteTable", "dynamodb:DescribeTable", "dynamodb:UpdateTable",
		"dynamodb:CreateTableReplica", "dynamodb:DeleteTableReplica", "dynamodb:UpdateContinuousBackups", "dynamodb:DescribeContinuousBackups",
		"dynamodb:DescribeTimeToLive", "dynamodb:ListTagsOfResource", "dynamodb:TagResource", "dynamodb:Scan", "dynamodb:Query",
		"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:DescribeStream"},
	"AWS::CloudFront::OriginAccessControl": {"cloudfront:CreateOriginAccessControl", "cloudfront:DeleteOriginAccessControl",
		"cloudfront:GetOriginAccessControl", "cloudfront:UpdateOriginAccessControl"},
	"AWS::CloudFront::Function": {"cloudfront:CreateFunction", "cloudfront:DeleteFunction", "cloudfront:DescribeFunction",
		"cloudfront:GetFunction", "cloudfront:PublishFunction", "cloudfront:UpdateFunction"},
	"AWS::CloudFront::KeyValueStore": {"cloudfront:CreateKeyValueStore", "cloudfront:DeleteKeyValueStore", "cloudfront:DescribeKeyValueStore",
		"cloudfront:UpdateKeyValueStore"},
	"AWS::CloudFront::ResponseHeadersPolicy": {"cloudfront:CreateResponseHeadersPolicy", "cloudfront:DeleteResponseHeadersPolicy",
		"cloudfront:GetResponseHeadersPolicy", "cloudfront:UpdateResponseHeadersPolicy"},
	"AWS::CloudFront::Distribution": {"cloudfront:CreateDistribution", "cloudfront:CreateDistributionWithTags", "cloudfront:DeleteDistribution",
		"cloudfront:GetDistribution", "cloudfront:GetDistributionConfig", "cloudfront:UpdateDistribution", "cloudfront:TagResource",
		"wafv2:GetWebACL"},
	"AWS::WAFv2::WebACL": {"wafv2:CreateWebACL", "wafv2:DeleteWebACL", "wafv2:GetWebACL", "wafv2:UpdateWebACL", "wafv2:ListTagsForResource",
		"wafv2:TagResource"},
	"AWS::Logs::DeliverySource": {"logs:PutDeliverySource", "logs:GetDeliverySource", "logs:DeleteDeliverySource",
		"cloudfront:AllowVendedLogDeliveryForResource"},
	"AWS::Logs::DeliveryDestination": {"logs:PutDeliveryDestination", "logs:GetDeliveryDestination", "logs:DeleteDeliveryDestination"},
	"AWS::Logs::Delivery":            {"logs:CreateDelivery", "logs:GetDelivery", "logs:DeleteDelivery", "logs:UpdateDeliveryConfiguration"},
	"AWS::CertificateManager::Certificate": {"acm:RequestCertificate", "acm:DescribeCertificate", "acm:DeleteCertificate",
		"acm:AddTagsToCertificate", "route53:ChangeResourceRecordSets", "route53:GetChange", "route53:ListResourceRecordSets"},
	"AWS::Route53::RecordSet": {"route53:ChangeResourceRecordSets", "route53:GetChange", "route53:ListResourceRecordSets", "route53:GetHostedZone"},
}

// DeployerPolicy returns the deployer's IAM policy for the deployment opts names, as JSON.
// account is "*" when unknown (synth runs without credentials).
func DeployerPolicy(opts Options, account string) ([]byte, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	files, err := Synth(opts)
	if err != nil {
		return nil, err
	}
	actions := map[string]bool{}
	for _, a := range sdkActions {
		if a != "" {
			actions[a] = true
		}
	}
	for _, b := range files {
		var doc struct {
			Resources map[string]struct{ Type string } `json:"Resources"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			return nil, err
		}
		for _, r := range doc.Resources {
			acts, ok := resourceActions[r.Type]
			if !ok {
				return nil, fmt.Errorf("no deployer permissions known for %s (add it to resourceActions)", r.Type)
			}
			for _, a := range acts {
				actions[a] = true
			}
		}
	}
	part := Partition(opts.Regions[0])
	stack := strings.ToLower(opts.StackName)
	// scopes names the resources each service's actions may touch.
	scopes := map[string][]string{
		"cloudformation": {fmt.Sprintf("arn:%s:cloudformation:*:%s:stack/%s-*/*", part, account, opts.StackName)},
		"s3":             {fmt.Sprintf("arn:%s:s3:::%s-*", part, stack), fmt.Sprintf("arn:%s:s3:::%s-*/*", part, stack)},
		"dynamodb": {fmt.Sprintf("arn:%s:dynamodb:*:%s:table/%s-messages", part, account, opts.StackName),
			fmt.Sprintf("arn:%s:dynamodb:*:%s:table/%s-messages/*", part, account, opts.StackName)},
		"lambda": {fmt.Sprintf("arn:%s:lambda:*:%s:function:%s-*", part, account, opts.StackName)},
		"iam":    {fmt.Sprintf("arn:%s:iam::%s:role/%s-*", part, account, opts.StackName)},
		"logs":   {"*"}, // log groups by name, deliveries by ids AWS chooses
	}
	byService := map[string][]string{}
	for a := range actions {
		svc, _, _ := strings.Cut(a, ":")
		byService[svc] = append(byService[svc], a)
	}
	services := make([]string, 0, len(byService))
	for s := range byService {
		services = append(services, s)
	}
	sort.Strings(services)
	var statements []Statement
	for _, svc := range services {
		acts := byService[svc]
		sort.Strings(acts)
		res := scopes[svc]
		if res == nil {
			res = []string{"*"}
		}
		sid := strings.ToUpper(svc[:1]) + strings.ReplaceAll(svc[1:], "-", "")
		statements = append(statements, Statement{Sid: sid, Effect: "Allow", Action: acts, Resource: res})
	}
	// The table's service-linked role for replication (global tables) is the one IAM
	// role outside the stack's names.
	statements = append(statements, Statement{Sid: "GlobalTableServiceLinkedRole", Effect: "Allow", Action: "iam:CreateServiceLinkedRole",
		Resource:  fmt.Sprintf("arn:%s:iam::%s:role/aws-service-role/replication.dynamodb.amazonaws.com/*", part, account),
		Condition: map[string]any{"StringEquals": map[string]any{"iam:AWSServiceName": "replication.dynamodb.amazonaws.com"}}})
	b, err := json.MarshalIndent(PolicyDocument{Version: "2012-10-17", Statement: statements}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// DeployerPolicyFile is the file name synth --deployer-policy writes.
const DeployerPolicyFile = "deployer-policy.json"
