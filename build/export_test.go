package build

import (
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Exported for local_test.go (package build_test), which cannot be in package build:
// infra/local imports build.

// TestWorld is a testWorld built outside the package.
type TestWorld = testWorld

// NewTestWorld describes a world for the release suite. edgeURL, when set, lets the
// suite check what viewers get; failPrimary and heal break and mend the primary origin.
func NewTestWorld(targets []Target, raw []*s3.Client, cf *cloudfront.Client, distID, edgeURL string, failPrimary, heal func()) *TestWorld {
	return &testWorld{targets: targets, raw: raw, cf: cf, distID: distID, edgeURL: edgeURL, failPrimary: failPrimary, heal: heal}
}

// RunReleaseSuite runs the release tests against worlds from newWorld.
var RunReleaseSuite = runReleaseSuite
