package infra

// The API's timeout rule, stated once. A viewer's API request passes CloudFront, which
// waits OriginReadTimeout for the first byte of the answer, then Lambda, which runs the
// init phase of a cold sandbox (outside the function timeout, AWS Lambda Developer Guide,
// "Lambda execution environment lifecycle") and then stops the handler at its Timeout.
// Were CloudFront to give up first, a slow read would fail over to the secondary while the
// primary's function still ran, and a write would be answered 504 and retried elsewhere
// while its first attempt could still land. So the function always ends first:
//
//	APILambdaTimeout + APIColdStartAllowance = APIOriginReadTimeout
//
// Only APILambdaTimeout is chosen; both values the deploy writes (the function's Timeout
// in infra/aws, the API origins' OriginReadTimeout in Distribution) derive from it, and
// infra/aws tests the rendered templates against the rule.
const (
	// APILambdaTimeout is the API function's Timeout in seconds: a conditional put or a
	// Query takes tens of milliseconds, and 4 s leaves room for the SDK's retries with
	// backoff on a throttled table while keeping a hung primary's cost to a viewer low.
	APILambdaTimeout = 4
	// APIColdStartAllowance is the init phase of a provided.al2023 Go bootstrap (a few
	// hundred milliseconds measured on arm64), rounded up to CloudFront's 1 s unit.
	APIColdStartAllowance = 1
	// APIOriginReadTimeout is CloudFront's OriginReadTimeout for the API origins.
	APIOriginReadTimeout = APILambdaTimeout + APIColdStartAllowance
)
