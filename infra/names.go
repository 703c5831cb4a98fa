package infra

import (
	"fmt"
	"regexp"
	"strings"
)

// RegionPattern is the shape of an AWS region name ("us-east-1", "us-gov-west-1"). It is
// also the AllowedPattern of the templates' region parameters.
const RegionPattern = `^[a-z]{2}(-[a-z]+)+-[0-9]$`

var regionRE = regexp.MustCompile(RegionPattern)

// ValidRegion reports whether name is shaped like an AWS region name.
func ValidRegion(name string) bool { return len(name) <= 32 && regionRE.MatchString(name) }

// ValidDistributionID reports whether id is shaped like a CloudFront distribution id:
// upper-case letters and digits ("E2QWRUHAPOMQZL" on AWS; moto issues ids without the E).
func ValidDistributionID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	return strings.IndexFunc(id, func(c rune) bool { return !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') }) < 0
}

// Target names what a fault breaks in a region, locally (infra/local) and on AWS
// (infra/aws): the site's origin, the API, or both.
type Target string

// Fault targets.
const (
	TargetOrigin Target = "origin" // the region's bucket
	TargetAPI    Target = "api"    // the region's function URL
	TargetAll    Target = "all"    // both
)

// ParseTarget validates a --target value; "" is all.
func ParseTarget(s string) (Target, error) {
	switch t := Target(s); t {
	case TargetOrigin, TargetAPI, TargetAll:
		return t, nil
	case "":
		return TargetAll, nil
	}
	return "", fmt.Errorf("unknown target %q: use origin, api or all", s)
}
