package edge

import (
	"crypto/rand"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Invalidation limits, spec/cloudfront.md §4.1 and §4.2.
const (
	// maxInvalidationPathLen is the longest path CloudFront accepts in an invalidation.
	maxInvalidationPathLen = 4000
	// maxFilePathsInProgress is the number of non-wildcard paths that may be InProgress per
	// distribution, summed over all invalidations.
	maxFilePathsInProgress = 3000
	// maxWildcardPathsInProgress is the number of wildcard paths that may be InProgress per
	// distribution, independent of maxFilePathsInProgress.
	maxWildcardPathsInProgress = 15
	// maxBatchPaths is the largest batch accepted in one request. CloudFront does not document
	// the trigger of BatchTooLarge; a batch that could never fit under the in-progress limit is
	// the natural one [INFER, spec/cloudfront.md §4.2].
	maxBatchPaths = maxFilePathsInProgress
	// maxInvalidationBody bounds the request body we read: 3,000 paths of 4,000 characters
	// plus markup fit well inside it.
	maxInvalidationBody = 16 << 20
)

// Invalidation statuses as the API reports them. CloudFront uses "InProgress" and then
// "Completed"; the SDK's InvalidationCompleted waiter compares with "Completed" exactly.
const (
	statusInProgress = "InProgress"
	statusCompleted  = "Completed"
)

// invalidation is one accepted invalidation batch. Its status is derived from CreateTime and
// the control's propagation delay, so nothing has to tick in the background.
type invalidation struct {
	ID              string    `json:"id"`
	CallerReference string    `json:"callerReference"`
	Paths           []string  `json:"paths"`
	CreateTime      time.Time `json:"createTime"`
}

// status reports the invalidation's status at now.
func (inv *invalidation) status(now time.Time, propagation time.Duration) string {
	if now.Before(inv.CreateTime.Add(propagation)) {
		return statusInProgress
	}
	return statusCompleted
}

// invalidationLog holds a distribution's invalidation history, oldest first.
type invalidationLog struct {
	mu    sync.Mutex
	items []*invalidation
}

// errorf builds an *apiError: the one error type the control API answers with.
func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// validateInvalidationPath checks one path against CloudFront's rules (spec/cloudfront.md §4.1).
func validateInvalidationPath(p string) error {
	switch {
	case p == "":
		return errorf(400, "InvalidArgument", "Your request contains an empty path.")
	case !strings.HasPrefix(p, "/"):
		return errorf(400, "InvalidArgument", "Your request contains one or more invalid invalidation paths: %q does not begin with /.", truncate(p, 100))
	case len(p) > maxInvalidationPathLen:
		return errorf(400, "InvalidArgument", "Your request contains a path longer than %d characters.", maxInvalidationPathLen)
	}
	if i := strings.IndexByte(p, '*'); i >= 0 && i != len(p)-1 {
		return errorf(400, "InvalidArgument", "Your request contains one or more invalid invalidation paths: %q has a * that is not the last character.", truncate(p, 100))
	}
	for _, r := range p {
		// CloudFront requires unsafe characters to be URL-encoded (§4.1); control characters
		// are never part of a path that could be cached [INFER].
		if r < 0x20 || r == 0x7f {
			return errorf(400, "InvalidArgument", "Your request contains one or more invalid invalidation paths: %q contains a control character.", truncate(p, 100))
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// xmlInvalidationBatch is the request body of CreateInvalidation. Quantity is kept as text so a
// non-number is an InvalidArgument rather than a decoding failure of the whole document.
type xmlInvalidationBatch struct {
	XMLName         xml.Name `xml:"InvalidationBatch"`
	CallerReference *string  `xml:"CallerReference"`
	Paths           *struct {
		Quantity *string `xml:"Quantity"`
		Items    *struct {
			Path []string `xml:"Path"`
		} `xml:"Items"`
	} `xml:"Paths"`
}

// parseInvalidationBatch decodes and validates a CreateInvalidation body. It returns the
// caller reference and the paths, or an *apiError with CloudFront's code.
func parseInvalidationBatch(body []byte) (ref string, paths []string, err error) {
	if len(strings.TrimSpace(string(body))) == 0 {
		return "", nil, errorf(400, "MissingBody", "This operation requires a body. Ensure that the body is present and the Content-Type header is set.")
	}
	var b xmlInvalidationBatch
	if err := xml.Unmarshal(body, &b); err != nil {
		// CloudFront answers a document it cannot read with a 400; the SDK models no
		// MalformedXML for this operation, so InvalidArgument is the typed code callers see [INFER].
		return "", nil, errorf(400, "InvalidArgument", "The request body is not a valid InvalidationBatch document: %v", err)
	}
	if b.CallerReference == nil || strings.TrimSpace(*b.CallerReference) == "" {
		return "", nil, errorf(400, "InvalidArgument", "CallerReference is required.")
	}
	if b.Paths == nil || b.Paths.Quantity == nil {
		return "", nil, errorf(400, "InvalidArgument", "Paths.Quantity is required.")
	}
	q, perr := strconv.Atoi(strings.TrimSpace(*b.Paths.Quantity))
	if perr != nil || q < 0 {
		return "", nil, errorf(400, "InvalidArgument", "Paths.Quantity must be a non-negative integer.")
	}
	if b.Paths.Items != nil {
		paths = b.Paths.Items.Path
	}
	if q != len(paths) {
		return "", nil, errorf(400, "InconsistentQuantities", "The value of Quantity (%d) and the size of Items (%d) do not match.", q, len(paths))
	}
	if len(paths) == 0 {
		return "", nil, errorf(400, "InvalidArgument", "Your request contains no invalidation paths.")
	}
	if len(paths) > maxBatchPaths {
		return "", nil, errorf(413, "BatchTooLarge", "Your invalidation batch has %d paths; at most %d are allowed in one batch.", len(paths), maxBatchPaths)
	}
	for _, p := range paths {
		if err := validateInvalidationPath(p); err != nil {
			return "", nil, err
		}
	}
	return *b.CallerReference, paths, nil
}

// inProgressCounts returns the number of file and wildcard paths InProgress at now.
func (l *invalidationLog) inProgressCounts(now time.Time, propagation time.Duration) (files, wildcards, batches int) {
	for _, inv := range l.items {
		if inv.status(now, propagation) != statusInProgress {
			continue
		}
		batches++
		f, w := countPaths(inv.Paths)
		files += f
		wildcards += w
	}
	return files, wildcards, batches
}

func countPaths(paths []string) (files, wildcards int) {
	for _, p := range paths {
		if strings.HasSuffix(p, "*") {
			wildcards++
		} else {
			files++
		}
	}
	return files, wildcards
}

// create records a validated batch. created is false when the CallerReference was already used
// with the same paths: CloudFront then returns the earlier invalidation and creates nothing
// (spec/cloudfront.md §4.3).
func (l *invalidationLog) create(ref string, paths []string, now time.Time, propagation time.Duration) (inv invalidation, created bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, old := range l.items {
		if old.CallerReference != ref {
			continue
		}
		if samePaths(old.Paths, paths) {
			return old.clone(), false, nil
		}
		// Not in the SDK's modelled errors; 409 like CloudFront's other *AlreadyExists
		// errors (DistributionAlreadyExists, CachePolicyAlreadyExists) [INFER].
		return invalidation{}, false, errorf(409, "InvalidationBatchAlreadyExists",
			"An invalidation batch with CallerReference %q already exists (%s) with different paths.", ref, old.ID)
	}
	files, wildcards, _ := l.inProgressCounts(now, propagation)
	nf, nw := countPaths(paths)
	if files+nf > maxFilePathsInProgress {
		return invalidation{}, false, errorf(400, "TooManyInvalidationsInProgress",
			"Processing your request would cause you to exceed the maximum number of in-progress file invalidations (%d): %d in progress, %d requested.", maxFilePathsInProgress, files, nf)
	}
	if wildcards+nw > maxWildcardPathsInProgress {
		return invalidation{}, false, errorf(400, "TooManyInvalidationsInProgress",
			"Processing your request would cause you to exceed the maximum number of in-progress wildcard invalidations (%d): %d in progress, %d requested.", maxWildcardPathsInProgress, wildcards, nw)
	}
	id, err := newID('I', 14)
	if err != nil {
		return invalidation{}, false, err
	}
	n := &invalidation{ID: id, CallerReference: ref, Paths: slices.Clone(paths), CreateTime: now.UTC().Truncate(time.Millisecond)}
	l.items = append(l.items, n)
	return n.clone(), true, nil
}

func (inv *invalidation) clone() invalidation {
	c := *inv
	c.Paths = slices.Clone(inv.Paths)
	return c
}

// samePaths compares two batches as sets of paths in any order [INFER: CloudFront says "the
// content of any Path is different"].
func samePaths(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// get returns the invalidation with the given id.
func (l *invalidationLog) get(id string) (invalidation, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, inv := range l.items {
		if inv.ID == id {
			return inv.clone(), true
		}
	}
	return invalidation{}, false
}

// errBadMarker reports a Marker that names no invalidation.
var errBadMarker = errors.New("marker names no invalidation")

// page returns up to max invalidations, newest first, starting after the one whose Id is
// marker (or from the newest when marker is empty), and whether more follow.
func (l *invalidationLog) page(marker string, max int) (items []invalidation, truncated bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := len(l.items) - 1
	if marker != "" {
		start = -2
		for i, inv := range l.items {
			if inv.ID == marker {
				start = i - 1
				break
			}
		}
		if start == -2 {
			return nil, false, errBadMarker
		}
	}
	for i := start; i >= 0; i-- {
		if len(items) == max {
			return items, true, nil
		}
		items = append(items, l.items[i].clone())
	}
	return items, false, nil
}

// newID returns prefix followed by n characters of [A-Z0-9], the shape of CloudFront's ids
// (distribution E2QWRUHAPOMQZL, invalidation IDFDVBD632BHDS5).
func newID(prefix byte, n int) (string, error) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("generate id: %w", err)
	}
	for i, b := range buf {
		buf[i] = alphabet[int(b)%len(alphabet)]
	}
	return string(prefix) + string(buf), nil
}
