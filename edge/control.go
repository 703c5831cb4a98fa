package edge

// This file is the CloudFront control-plane REST API of the local edge: the subset of the
// CloudFront API (version 2020-05-31, restXml) that the release and the aws CLI use, for the
// one distribution the edge serves.
//
//	POST /2020-05-31/distribution/{Id}/invalidation        CreateInvalidation   (control_invalidation.go)
//	GET  /2020-05-31/distribution/{Id}/invalidation        ListInvalidations
//	GET  /2020-05-31/distribution/{Id}/invalidation/{Inv}  GetInvalidation
//	POST /2020-05-31/distribution                          CreateDistribution   (control_distribution.go)
//	GET  /2020-05-31/distribution                          ListDistributions
//	GET  /2020-05-31/distribution/{Id}                     GetDistribution
//	GET  /2020-05-31/distribution/{Id}/config              GetDistributionConfig
//	PUT  /2020-05-31/distribution/{Id}/config              UpdateDistribution
//
// Every request must be SigV4-signed (control_auth.go). Errors are CloudFront's XML error
// documents with the codes of the API model, so the SDK returns its typed errors. Choices where
// AWS documents nothing (spec/cloudfront.md §4, marked [INFER] in the code): a reused
// CallerReference with other paths is 409 InvalidationBatchAlreadyExists; BatchTooLarge (413)
// is a batch of more than 3,000 paths; a malformed document is InvalidArgument.

import (
	"encoding/xml"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/google/uuid"
)

// cloudFrontNS is the XML namespace of every CloudFront API document (API version 2020-05-31).
const cloudFrontNS = "http://cloudfront.amazonaws.com/doc/2020-05-31/"

// apiVersionPrefix starts every CloudFront REST path.
const apiVersionPrefix = "/2020-05-31"

// distribution is what the control API needs from the data plane. *Edge implements it; tests
// use a fake.
type distribution interface {
	// Config returns a copy of the configuration being served.
	Config() *types.DistributionConfig
	// Validate applies CloudFront's rules to cfg (validate.go) with what the data plane
	// knows of policies, OACs and functions; nil or a *ConfigError.
	Validate(cfg *types.DistributionConfig) error
	// Apply validates cfg and makes it the served configuration, or returns why not.
	Apply(cfg *types.DistributionConfig) error
	// Invalidate drops cached objects matching CloudFront invalidation paths.
	Invalidate(paths []string)
}

// ControlOptions configures a Control.
type ControlOptions struct {
	// DistributionID is the id the API answers to; any other id is NoSuchDistribution.
	// Required.
	DistributionID string
	// DomainName is the distribution's domain name as reported by GetDistribution, e.g. the
	// edge's local "d1234.cloudfront.net"-like name or host:port.
	DomainName string
	// Credentials are the world's key pair. Every request must be SigV4-signed with them for
	// service "cloudfront", region us-east-1.
	Credentials aws.Credentials
	// Propagation is how long an invalidation stays InProgress (and the distribution stays
	// InProgress after an update) before it is reported Completed (Deployed). Cached objects
	// are dropped at once; this only models CloudFront's "within a few seconds". Default 2s;
	// negative means no delay.
	Propagation time.Duration
	// StateFile, when set, is a JSON file holding the invalidation history and config ETag, so
	// a restarted world keeps them. Written atomically after every change. Optional.
	StateFile string
	// ReadS3 reads the file of a KeyValueStore's ImportSource from the world's S3. nil:
	// CreateKeyValueStore with an ImportSource is refused.
	ReadS3 S3Reader
	// Logger receives one line per failed request. Default: discard.
	Logger *slog.Logger
	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

// Control is the CloudFront control-plane REST API (the subset twinedge uses: invalidations and
// the distribution's config) for one distribution served by the local edge. It speaks restXml
// as the aws-sdk-go-v2 CloudFront client and the aws CLI expect.
type Control struct {
	d    distribution
	opts ControlOptions
	mux  *http.ServeMux

	invalidations invalidationLog
	functions     functionRegistry // control_functions.go
	stores        kvsRegistry      // control_kvs.go
	kvsData       *http.ServeMux   // the cloudfront-keyvaluestore API (control_kvs.go)

	mu           sync.Mutex // guards the fields below
	etag         string     // ETag of the current DistributionConfig
	lastModified time.Time  // of the distribution
	updatedAt    time.Time  // when the last update was applied; zero before any update

	saveMu     sync.Mutex // serializes writes of StateFile
	persistOff bool       // StateFile could not be loaded: never overwrite it
}

var (
	_ http.Handler = (*Control)(nil)
	_ distribution = (*Edge)(nil)
)

// NewControl returns the control API for the distribution d. With StateFile set it loads the
// saved state; a file it cannot use is logged, left untouched and not written to (OpenControl
// returns that error instead).
func NewControl(d distribution, opts ControlOptions) *Control {
	c := newControl(d, opts)
	if err := c.loadState(); err != nil {
		c.opts.Logger.Error("cloudfront control state not loaded; invalidation history will not persist", "err", err)
	}
	if err := c.loadKVS(); err != nil {
		c.opts.Logger.Error("key value stores not loaded; they will not persist", "err", err)
	}
	if err := c.loadFunctions(); err != nil {
		c.opts.Logger.Error("cloudfront functions not loaded; functions will not persist", "err", err)
	}
	return c
}

func newControl(d distribution, opts ControlOptions) *Control {
	if opts.Propagation == 0 {
		opts.Propagation = 2 * time.Second
	} else if opts.Propagation < 0 {
		opts.Propagation = 0
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Control{d: d, opts: opts}
	c.functions.items = map[string]*storedFunction{}
	c.stores.items = map[string]*storedKVS{}
	now := opts.Now().UTC().Truncate(time.Millisecond)
	c.lastModified = now
	c.etag = mustID('E', 13)
	c.routes()
	return c
}

func mustID(prefix byte, n int) string {
	id, err := newID(prefix, n)
	if err != nil {
		// crypto/rand does not fail on supported platforms (Go 1.24+ panics inside Read).
		panic(err)
	}
	return id
}

func (c *Control) routes() {
	m := http.NewServeMux()
	p := apiVersionPrefix + "/distribution"
	m.HandleFunc("POST "+p+"/{id}/invalidation", c.createInvalidation)
	m.HandleFunc("GET "+p+"/{id}/invalidation", c.listInvalidations)
	m.HandleFunc("GET "+p+"/{id}/invalidation/{inv}", c.getInvalidation)
	c.routesDistribution(m, p)
	c.routesFunctions(m)
	c.routesKVS(m)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, errorf(http.StatusBadRequest, "InvalidAction",
			"The local control API does not implement %s %s.", r.Method, r.URL.Path))
	})
	c.mux = m
}

// ServeHTTP authenticates the request and dispatches it to the operation.
func (c *Control) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-amzn-RequestId", uuid.NewString())
	if isKVSData(r) {
		c.serveKVSData(w, r)
		return
	}
	if err := c.authenticate(r); err != nil {
		c.fail(w, r, err)
		return
	}
	c.mux.ServeHTTP(w, r)
}

// now returns the current time in UTC at the millisecond precision the API reports.
func (c *Control) now() time.Time { return c.opts.Now().UTC().Truncate(time.Millisecond) }

// checkDistribution answers NoSuchDistribution unless id is ours.
func (c *Control) checkDistribution(id string) error {
	if id != c.opts.DistributionID {
		return errorf(http.StatusNotFound, "NoSuchDistribution", "The specified distribution does not exist.")
	}
	return nil
}

// apiError is an error answered in CloudFront's XML error format. The Code is one of the error
// shapes of the CloudFront API model, so the SDK surfaces it as the typed error (e.g.
// *types.TooManyInvalidationsInProgress).
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

type xmlErrorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	Type      string   `xml:"Error>Type"`
	Code      string   `xml:"Error>Code"`
	Message   string   `xml:"Error>Message"`
	RequestID string   `xml:"RequestId"`
}

// fail is the one error path: every failed request is answered here. Errors that are not an
// *apiError are the server's fault (500 InternalError, type Receiver).
func (c *Control) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	typ := "Sender"
	if !errors.As(err, &ae) {
		ae = &apiError{Status: http.StatusInternalServerError, Code: "InternalError", Message: "We encountered an internal error. Please try again."}
		typ = "Receiver"
	}
	reqID := w.Header().Get("x-amzn-RequestId")
	c.opts.Logger.Info("cloudfront control request failed", "method", r.Method, "path", r.URL.Path,
		"status", ae.Status, "code", ae.Code, "err", err, "requestId", reqID)
	writeXML(w, ae.Status, xmlErrorResponse{Xmlns: cloudFrontNS, Type: typ, Code: ae.Code, Message: ae.Message, RequestID: reqID})
}

// writeXML answers v as an XML document with the given status.
func writeXML(w http.ResponseWriter, status int, v any) {
	body, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, "marshal response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(body)
}
