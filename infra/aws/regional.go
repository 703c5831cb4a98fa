package awsinfra

import (
	"fmt"

	"github.com/twinedge/twinedge/api"

	"github.com/twinedge/twinedge/infra"
)

// The regional stack: one template, deployed in each region. It holds the site bucket and
// its policy, the API function with its role, log group and function URL, the permissions
// CloudFront needs to call that URL, and, in the primary region only, the global table
// with a replica in each region.

// Parameters of the regional template.
const (
	ParamPrimaryRegion   = "PrimaryRegion"
	ParamSecondaryRegion = "SecondaryRegion"
	ParamTableName       = "TableName"
	ParamArtifactBucket  = "ArtifactBucket"
	ParamArtifactKey     = "ArtifactKey"
	// ParamDistributionArn is empty on the first deploy, before the distribution exists;
	// the bucket policy then only denies plain HTTP and the function URL has no
	// CloudFront permission. Deploy sets it once the global stack has created the
	// distribution (see deploy.go for the order).
	ParamDistributionArn = "DistributionArn"
	// ParamDeletionProtection switches the table replicas' deletion protection. Deploy
	// passes "false" while it creates a regional stack and "true" once the stack exists:
	// a protected table cannot be deleted by the rollback of a failed creation, which
	// would then end ROLLBACK_FAILED instead of leaving nothing behind
	// (RetainExceptOnCreate, below).
	ParamDeletionProtection = "DeletionProtection"
)

// The data of a deployment (site, release records, table) outlives its stack, except
// when the stack's creation fails: RetainExceptOnCreate deletes what a failed creation
// made, so the next deploy starts clean, and keeps it on every later delete
// (CloudFormation User Guide, "DeletionPolicy attribute"). A replacement keeps the old
// resource too. `twinedge destroy` deletes what is retained.
const (
	retainData        = "RetainExceptOnCreate"
	retainReplacement = "Retain"
)

// Outputs of the regional stack, read by the deploy and written to the state file.
const (
	OutSiteBucket       = "SiteBucket"
	OutSiteBucketDomain = "SiteBucketDomain"
	OutFunctionName     = "ApiFunctionName"
	OutFunctionURL      = "FunctionUrl"
	OutAPIDomain        = "ApiDomain"
	OutTableName        = "TableName"
	OutReleasesBucket   = "ReleasesBucket"
)

// Environment of the API function, read by api/lambda's bootstrap. FailEnv is "0" in the
// template and switched to "1" by FailAWS.
const (
	EnvTable   = "TWINEDGE_TABLE"
	EnvRegions = "TWINEDGE_REGIONS"
	FailEnv    = api.FailEnv
)

// LogRetentionDays is how long the API's logs are kept.
const LogRetentionDays = 30

// Table layout, as dynamo.CreateTable makes it (api/dynamo explains it): keyed by message
// id, so "does this id exist?" is one conditional put, with the index api.NewestIndex
// (board, sk) that lists the newest messages in one Query. TestTableMatchesAPI checks the
// two agree.
var (
	tableAttributes = []attributeDefinition{{"id", "S"}, {"board", "S"}, {"sk", "S"}}
	tableKeys       = []keySchema{{"id", "HASH"}}
	tableIndexes    = []secondaryIndex{{
		IndexName:  api.NewestIndex,
		KeySchema:  []keySchema{{"board", "HASH"}, {"sk", "RANGE"}},
		Projection: projection{ProjectionType: "ALL"},
	}}
)

// Logical ids of the regional stack.
const (
	idSiteBucket        = "SiteBucket"
	idSiteBucketPolicy  = "SiteBucketPolicy"
	idReleasesBucket    = "ReleasesBucket"
	idReleasesPolicy    = "ReleasesBucketPolicy"
	idAPIRole           = "ApiRole"
	idAPILogGroup       = "ApiLogGroup"
	idAPIFunction       = "ApiFunction"
	idAPIFunctionURL    = "ApiFunctionUrl"
	idAPIURLPermission  = "CloudFrontInvokeFunctionUrl"
	idAPIFuncPermission = "CloudFrontInvokeFunction"
	idTable             = "Table"

	condIsPrimary       = "IsPrimary"
	condHasDistribution = "HasDistribution"
	condProtect         = "ProtectTable"
)

// Resource property shapes used by the regional stack.
type (
	s3Bucket struct {
		BucketEncryption               bucketEncryption      `json:"BucketEncryption"`
		LifecycleConfiguration         *lifecycle            `json:"LifecycleConfiguration,omitempty"`
		LoggingConfiguration           *loggingConfiguration `json:"LoggingConfiguration,omitempty"`
		OwnershipControls              ownershipControls     `json:"OwnershipControls"`
		PublicAccessBlockConfiguration publicAccessBlock     `json:"PublicAccessBlockConfiguration"`
		VersioningConfiguration        versioning            `json:"VersioningConfiguration"`
	}
	bucketEncryption struct {
		ServerSideEncryptionConfiguration []sseRule `json:"ServerSideEncryptionConfiguration"`
	}
	sseRule struct {
		BucketKeyEnabled              bool       `json:"BucketKeyEnabled,omitempty"`
		ServerSideEncryptionByDefault sseDefault `json:"ServerSideEncryptionByDefault"`
	}
	sseDefault struct {
		SSEAlgorithm string `json:"SSEAlgorithm"`
	}
	lifecycle struct {
		Rules []lifecycleRule `json:"Rules"`
	}
	lifecycleRule struct {
		Id                             string                `json:"Id"`
		Status                         string                `json:"Status"`
		AbortIncompleteMultipartUpload *abortMultipart       `json:"AbortIncompleteMultipartUpload,omitempty"`
		ExpirationInDays               int                   `json:"ExpirationInDays,omitempty"`
		NoncurrentVersionExpiration    *noncurrentExpiration `json:"NoncurrentVersionExpiration,omitempty"`
	}
	abortMultipart struct {
		DaysAfterInitiation int `json:"DaysAfterInitiation"`
	}
	noncurrentExpiration struct {
		NoncurrentDays int `json:"NoncurrentDays"`
	}
	ownershipControls struct {
		Rules []ownershipRule `json:"Rules"`
	}
	ownershipRule struct {
		ObjectOwnership string `json:"ObjectOwnership"`
	}
	publicAccessBlock struct {
		BlockPublicAcls       bool `json:"BlockPublicAcls"`
		BlockPublicPolicy     bool `json:"BlockPublicPolicy"`
		IgnorePublicAcls      bool `json:"IgnorePublicAcls"`
		RestrictPublicBuckets bool `json:"RestrictPublicBuckets"`
	}
	versioning struct {
		Status string `json:"Status"`
	}

	bucketPolicy struct {
		Bucket         Value          `json:"Bucket"`
		PolicyDocument policyTemplate `json:"PolicyDocument"`
	}
	// policyTemplate is a policy document whose statements may be intrinsics (an Fn::If
	// that keeps or drops a statement).
	policyTemplate struct {
		Version   string  `json:"Version"`
		Statement []Value `json:"Statement"`
	}

	iamRole struct {
		AssumeRolePolicyDocument PolicyDocument `json:"AssumeRolePolicyDocument"`
		Description              string         `json:"Description,omitempty"`
		Policies                 []iamPolicy    `json:"Policies"`
	}
	iamPolicy struct {
		PolicyName     string         `json:"PolicyName"`
		PolicyDocument PolicyDocument `json:"PolicyDocument"`
	}

	logGroup struct {
		LogGroupName    Value `json:"LogGroupName"`
		RetentionInDays int   `json:"RetentionInDays"`
	}

	lambdaFunction struct {
		Architectures []string          `json:"Architectures"`
		Code          lambdaCode        `json:"Code"`
		Description   string            `json:"Description,omitempty"`
		Environment   lambdaEnvironment `json:"Environment"`
		FunctionName  Value             `json:"FunctionName"`
		Handler       string            `json:"Handler"`
		LoggingConfig lambdaLogging     `json:"LoggingConfig"`
		MemorySize    int               `json:"MemorySize"`
		// ReservedConcurrentExecutions caps the function (omitted: uncapped).
		ReservedConcurrentExecutions *int   `json:"ReservedConcurrentExecutions,omitempty"`
		Role                         Value  `json:"Role"`
		Runtime                      string `json:"Runtime"`
		Timeout                      int    `json:"Timeout"`
	}
	lambdaCode struct {
		S3Bucket Value `json:"S3Bucket"`
		S3Key    Value `json:"S3Key"`
	}
	lambdaEnvironment struct {
		Variables map[string]Value `json:"Variables"`
	}
	lambdaLogging struct {
		LogFormat string `json:"LogFormat"`
		LogGroup  Value  `json:"LogGroup"`
	}
	lambdaURL struct {
		AuthType          string `json:"AuthType"`
		TargetFunctionArn Value  `json:"TargetFunctionArn"`
	}
	lambdaPermission struct {
		Action                string `json:"Action"`
		FunctionName          Value  `json:"FunctionName"`
		FunctionUrlAuthType   string `json:"FunctionUrlAuthType,omitempty"`
		InvokedViaFunctionUrl *bool  `json:"InvokedViaFunctionUrl,omitempty"`
		Principal             string `json:"Principal"`
		SourceArn             Value  `json:"SourceArn"`
	}

	globalTable struct {
		AttributeDefinitions   []attributeDefinition `json:"AttributeDefinitions"`
		BillingMode            string                `json:"BillingMode"`
		GlobalSecondaryIndexes []secondaryIndex      `json:"GlobalSecondaryIndexes"`
		KeySchema              []keySchema           `json:"KeySchema"`
		Replicas               []replica             `json:"Replicas"`
		SSESpecification       tableSSE              `json:"SSESpecification"`
		StreamSpecification    streamSpecification   `json:"StreamSpecification"`
		TableName              Value                 `json:"TableName"`
	}
	attributeDefinition struct {
		AttributeName string `json:"AttributeName"`
		AttributeType string `json:"AttributeType"`
	}
	keySchema struct {
		AttributeName string `json:"AttributeName"`
		KeyType       string `json:"KeyType"`
	}
	secondaryIndex struct {
		IndexName  string      `json:"IndexName"`
		KeySchema  []keySchema `json:"KeySchema"`
		Projection projection  `json:"Projection"`
	}
	projection struct {
		ProjectionType string `json:"ProjectionType"`
	}
	replica struct {
		DeletionProtectionEnabled        Value `json:"DeletionProtectionEnabled"`
		PointInTimeRecoverySpecification pitr  `json:"PointInTimeRecoverySpecification"`
		Region                           Value `json:"Region"`
	}
	pitr struct {
		PointInTimeRecoveryEnabled bool `json:"PointInTimeRecoveryEnabled"`
	}
	tableSSE struct {
		SSEEnabled bool `json:"SSEEnabled"`
	}
	streamSpecification struct {
		StreamViewType string `json:"StreamViewType"`
	}
)

// PolicyDocument is an IAM policy document (bucket, role and trust policies).
type PolicyDocument struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one IAM policy statement. Fields are Values so that a statement can name
// resources with intrinsics; FailAWS reads and writes the same shape as plain JSON.
type Statement struct {
	Sid       string         `json:"Sid,omitempty"`
	Effect    string         `json:"Effect"`
	Principal Value          `json:"Principal,omitempty"`
	Action    Value          `json:"Action"`
	Resource  Value          `json:"Resource,omitempty"`
	Condition map[string]any `json:"Condition,omitempty"`
}

// Sids of the bucket policy statements.
const (
	SidDenyInsecureTransport = "DenyInsecureTransport"
	SidAllowCloudFront       = "AllowCloudFrontServicePrincipalReadOnly"
)

// cloudFrontPrincipal is the service principal CloudFront uses with OAC.
var cloudFrontPrincipal = map[string]any{"Service": "cloudfront.amazonaws.com"}

// RegionalTemplate returns the regional stack's template.
func RegionalTemplate(opts Options) (*Template, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	tableArn := Sub("arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${" + ParamTableName + "}")
	functionName := Sub("${AWS::StackName}-api")

	t := &Template{
		FormatVersion: "2010-09-09",
		Description: fmt.Sprintf("twinedge regional stack (%s): site bucket, API function and URL; the global table in the primary region. Deployed by `twinedge deploy`.",
			opts.StackName),
		Parameters: map[string]Parameter{
			ParamPrimaryRegion: {Type: "String", Default: str(opts.Regions[0]), AllowedPattern: infra.RegionPattern,
				Description: "Region of the primary origins; its stack owns the global table."},
			ParamSecondaryRegion: {Type: "String", Default: str(opts.Regions[1]), AllowedPattern: infra.RegionPattern,
				Description: "Region of the secondary origins."},
			ParamTableName: {Type: "String", Default: str(opts.StackName + "-messages"), AllowedPattern: `^[a-zA-Z0-9_.-]{3,255}$`,
				Description: "Name of the global table, the same in every region."},
			ParamArtifactBucket: {Type: "String", AllowedPattern: `^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`,
				Description: "Bucket in this region holding the Lambda zip (created by twinedge deploy)."},
			ParamArtifactKey: {Type: "String", MinLength: intp(1),
				Description: "Key of the Lambda zip; content-addressed, so a new build replaces the code."},
			ParamDistributionArn: {Type: "String", Default: str(""),
				AllowedPattern: `^(arn:aws[a-z-]*:cloudfront::[0-9]{12}:distribution/[A-Z0-9]+)?$`,
				Description:    "ARN of the distribution allowed to read the bucket and call the API; empty until the global stack exists."},
			ParamDeletionProtection: {Type: "String", Default: str("true"), AllowedValues: []string{"true", "false"},
				Description: "Deletion protection of the table replicas; false only while the stack is created, so a failed creation rolls back cleanly."},
		},
		Conditions: map[string]any{
			condIsPrimary:       Equals(Ref("AWS::Region"), Ref(ParamPrimaryRegion)),
			condHasDistribution: Not(Equals(Ref(ParamDistributionArn), "")),
			condProtect:         Equals(Ref(ParamDeletionProtection), "true"),
		},
		Resources: map[string]Resource{
			// The site survives the stack: objects are the release's, not the stack's.
			idSiteBucket: dataBucket(accessLogPrefixSite),
			// Release records and rollback copies, apart from the site so no origin serves them.
			idReleasesBucket: dataBucket(accessLogPrefixRel),
			// Server access logs of both buckets (S3 needs the target in the same region).
			idLogBucket: logBucket(),
			idLogBucketPolicy: logBucketPolicy("logging.s3.amazonaws.com",
				[]Value{GetAtt(idSiteBucket, "Arn"), GetAtt(idReleasesBucket, "Arn")}),
			idReleasesPolicy: {
				Type: "AWS::S3::BucketPolicy", Metadata: joinedObjectArn,
				Properties: bucketPolicy{
					Bucket: Ref(idReleasesBucket),
					PolicyDocument: policyTemplate{Version: "2012-10-17", Statement: []Value{
						denyInsecureTransportOf(idReleasesBucket),
					}},
				},
			},
			idSiteBucketPolicy: {
				Type: "AWS::S3::BucketPolicy", Metadata: joinedObjectArn,
				Properties: bucketPolicy{
					Bucket: Ref(idSiteBucket),
					PolicyDocument: policyTemplate{Version: "2012-10-17", Statement: []Value{
						denyInsecureTransportOf(idSiteBucket),
						// The CloudFront statement exists only once the distribution does; until
						// then the bucket is readable by nobody outside the account.
						If(condHasDistribution, AllowCloudFrontStatement(Sub("${"+idSiteBucket+".Arn}/*"), Ref(ParamDistributionArn)), NoValue),
					}},
				},
			},
			idAPILogGroup: {
				Type: "AWS::Logs::LogGroup",
				Properties: logGroup{
					LogGroupName:    Sub("/aws/lambda/${AWS::StackName}-api"),
					RetentionInDays: LogRetentionDays,
				},
				DeletionPolicy: "Delete", UpdateReplacePolicy: "Delete",
			},
			idAPIRole: {
				Type: "AWS::IAM::Role",
				Properties: iamRole{
					Description: "twinedge API: read and write this deployment's table, write its own logs; nothing else.",
					AssumeRolePolicyDocument: PolicyDocument{Version: "2012-10-17", Statement: []Statement{{
						Effect: "Allow", Principal: map[string]any{"Service": "lambda.amazonaws.com"}, Action: "sts:AssumeRole",
					}}},
					Policies: []iamPolicy{
						{PolicyName: "table", PolicyDocument: PolicyDocument{Version: "2012-10-17", Statement: []Statement{{
							Effect:   "Allow",
							Action:   []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"},
							Resource: []Value{tableArn, Sub("arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${" + ParamTableName + "}/index/*")},
						}}}},
						{PolicyName: "logs", PolicyDocument: PolicyDocument{Version: "2012-10-17", Statement: []Statement{{
							Effect:   "Allow",
							Action:   []string{"logs:CreateLogStream", "logs:PutLogEvents"},
							Resource: GetAtt(idAPILogGroup, "Arn"),
						}}}},
					},
				},
			},
			idAPIFunction: {
				Type: "AWS::Lambda::Function",
				Properties: lambdaFunction{
					Architectures: []string{"arm64"},
					Code:          lambdaCode{S3Bucket: Ref(ParamArtifactBucket), S3Key: Ref(ParamArtifactKey)},
					Description:   "twinedge API (function URL, payload 2.0)",
					Environment: lambdaEnvironment{Variables: map[string]Value{
						EnvTable:   Ref(ParamTableName),
						EnvRegions: Join(",", Ref(ParamPrimaryRegion), Ref(ParamSecondaryRegion)),
						FailEnv:    "0",
					}},
					FunctionName:                 functionName,
					Handler:                      "bootstrap",
					LoggingConfig:                lambdaLogging{LogFormat: "JSON", LogGroup: Ref(idAPILogGroup)},
					MemorySize:                   256,
					Role:                         GetAtt(idAPIRole, "Arn"),
					ReservedConcurrentExecutions: reserved(*opts.ReservedConcurrency),
					Runtime:                      "provided.al2023",
					Timeout:                      infra.APILambdaTimeout, // the timeout rule: infra/timeouts.go
				},
			},
			idAPIFunctionURL: {
				Type:       "AWS::Lambda::Url",
				Properties: lambdaURL{AuthType: "AWS_IAM", TargetFunctionArn: GetAtt(idAPIFunction, "Arn")},
			},
			// Since October 2025 a function URL called through CloudFront OAC needs both
			// permissions (spec/cloudfront.md §5.3; aws/aws-cdk#35872).
			idAPIURLPermission: {
				Type: "AWS::Lambda::Permission", Condition: condHasDistribution,
				Properties: lambdaPermission{
					Action: "lambda:InvokeFunctionUrl", FunctionName: Ref(idAPIFunction), FunctionUrlAuthType: "AWS_IAM",
					Principal: "cloudfront.amazonaws.com", SourceArn: Ref(ParamDistributionArn),
				},
			},
			idAPIFuncPermission: {
				Type: "AWS::Lambda::Permission", Condition: condHasDistribution,
				Properties: lambdaPermission{
					Action: "lambda:InvokeFunction", FunctionName: Ref(idAPIFunction), InvokedViaFunctionUrl: boolp(true),
					Principal: "cloudfront.amazonaws.com", SourceArn: Ref(ParamDistributionArn),
				},
			},
			// One stack owns the global table and its replicas: CloudFormation creates the
			// replica in the other region, so no region is linked by hand.
			idTable: {
				Type: "AWS::DynamoDB::GlobalTable", Condition: condIsPrimary,
				DeletionPolicy: retainData, UpdateReplacePolicy: retainReplacement,
				Properties: globalTable{
					AttributeDefinitions:   tableAttributes,
					BillingMode:            "PAY_PER_REQUEST",
					GlobalSecondaryIndexes: tableIndexes,
					KeySchema:              tableKeys,
					Replicas: []replica{
						{Region: Ref(ParamPrimaryRegion), DeletionProtectionEnabled: If(condProtect, true, false), PointInTimeRecoverySpecification: pitr{true}},
						{Region: Ref(ParamSecondaryRegion), DeletionProtectionEnabled: If(condProtect, true, false), PointInTimeRecoverySpecification: pitr{true}},
					},
					SSESpecification: tableSSE{SSEEnabled: true},
					// Required for a global table with more than one replica.
					StreamSpecification: streamSpecification{StreamViewType: "NEW_AND_OLD_IMAGES"},
					TableName:           Ref(ParamTableName),
				},
			},
		},
		Outputs: map[string]Output{
			OutSiteBucket: {Description: "Site bucket", Value: Ref(idSiteBucket)},
			// The regional REST endpoint, spelled as infra.Region.BucketDomain documents it. It
			// is built rather than read from RegionalDomainName, whose form for us-east-1 has
			// varied (bucket.s3.amazonaws.com).
			OutSiteBucketDomain: {Description: "S3 REST endpoint of the site bucket (origin domain)",
				Value: Sub("${" + idSiteBucket + "}.s3.${AWS::Region}.${AWS::URLSuffix}")},
			OutFunctionName: {Description: "API function name", Value: Ref(idAPIFunction)},
			OutFunctionURL:  {Description: "API function URL", Value: GetAtt(idAPIFunctionURL, "FunctionUrl")},
			// "https://<id>.lambda-url.<region>.on.aws/" → "<id>.lambda-url.<region>.on.aws"
			OutAPIDomain:      {Description: "Function URL host (origin domain)", Value: Select(2, Split("/", GetAtt(idAPIFunctionURL, "FunctionUrl")))},
			OutTableName:      {Description: "Global table name", Value: Ref(ParamTableName)},
			OutReleasesBucket: {Description: "Bucket of the release records and rollback copies", Value: Ref(idReleasesBucket)},
			OutLogBucket:      {Description: "Bucket of the site and releases buckets' server access logs", Value: Ref(idLogBucket)},
		},
	}
	return t, nil
}

// dataBucket is a bucket holding a deployment's data: private, encrypted, versioned with
// 30 days of old versions, its access logs in the stack's log bucket.
func dataBucket(logPrefix string) Resource {
	return privateBucket(s3Bucket{
		LifecycleConfiguration: &lifecycle{Rules: []lifecycleRule{{
			Id: "ExpireOldVersions", Status: "Enabled",
			AbortIncompleteMultipartUpload: &abortMultipart{DaysAfterInitiation: 1},
			// Versions let a bad release be rolled back; 30 days is the window.
			NoncurrentVersionExpiration: &noncurrentExpiration{NoncurrentDays: 30},
		}}},
		LoggingConfiguration:    &loggingConfiguration{DestinationBucketName: Ref(idLogBucket), LogFilePrefix: logPrefix},
		VersioningConfiguration: versioning{Status: "Enabled"},
	})
}

// privateBucket completes b with what every bucket of a deployment has: SSE-S3 (OAC reads
// it without a KMS key policy, spec/cloudfront.md §5.3), bucket-owner-enforced ownership,
// Block Public Access on all four switches, and retention with the stack's data
// (retainData).
func privateBucket(b s3Bucket) Resource {
	b.BucketEncryption = bucketEncryption{ServerSideEncryptionConfiguration: []sseRule{{
		ServerSideEncryptionByDefault: sseDefault{SSEAlgorithm: "AES256"},
	}}}
	b.OwnershipControls = ownershipControls{Rules: []ownershipRule{{ObjectOwnership: "BucketOwnerEnforced"}}}
	b.PublicAccessBlockConfiguration = publicAccessBlock{BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true}
	return Resource{Type: "AWS::S3::Bucket", DeletionPolicy: retainData, UpdateReplacePolicy: retainReplacement, Properties: b}
}

// denyInsecureTransport is the statement every bucket of a deployment carries: S3 refuses
// any request over plain HTTP (AWS Security Hub control S3.5).
func denyInsecureTransport(resources Value) Statement {
	return Statement{
		Sid: SidDenyInsecureTransport, Effect: "Deny", Principal: "*", Action: "s3:*", Resource: resources,
		Condition: map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
	}
}

// joinedObjectArn is the Metadata of a bucket policy using denyInsecureTransportOf: the
// two judges disagree on how to spell the object ARN. cfn-lint's informational I1022
// prefers Fn::Sub to an Fn::Join with an empty delimiter; cfn-guard's CT.S3.PR.8 rule
// (rules/control-tower/cfn-guard/s3/ct-s3-pr-8.guard, check_local_bucket_object_arn_reference)
// accepts only the Fn::Join form. The Join is what both AWS and the rule read correctly.
var joinedObjectArn = lintIgnore("I1022")

// denyInsecureTransportOf is denyInsecureTransport for a bucket of the template, its
// object ARN spelled as a Join of the bucket's Arn and "/*": the form cfn-guard's Control
// Tower rule CT.S3.PR.8 recognises as a local reference (a Sub it cannot read).
func denyInsecureTransportOf(bucket string) Statement {
	return denyInsecureTransport([]Value{GetAtt(bucket, "Arn"), Join("", GetAtt(bucket, "Arn"), "/*")})
}

// AllowCloudFrontStatement is the bucket policy statement that lets one distribution read
// objects through OAC (spec/cloudfront.md §5.3). ListBucket is not granted, so a missing
// key answers 403, which is a failover status (infra.FailoverStatusCodes).
func AllowCloudFrontStatement(objects, distributionArn Value) Statement {
	return Statement{
		Sid: SidAllowCloudFront, Effect: "Allow", Principal: cloudFrontPrincipal, Action: "s3:GetObject",
		Resource:  objects,
		Condition: map[string]any{"StringEquals": map[string]any{"AWS:SourceArn": distributionArn}},
	}
}

func intp(n int) *int { return &n }

// reserved is the function's reserved concurrency property: omitted for 0 (uncapped).
func reserved(n int) *int {
	if n == 0 {
		return nil
	}
	return &n
}
func boolp(b bool) *bool { return &b }
