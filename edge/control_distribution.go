package edge

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

// Distribution statuses: InProgress while a change propagates, then Deployed.
const (
	distInProgress = "InProgress"
	distDeployed   = "Deployed"
)

// accountID is the local world's account, as in the ARNs moto and LocalStack report.
const accountID = "000000000000"

// routesDistribution registers the distribution operations under prefix p
// ("/2020-05-31/distribution").
func (c *Control) routesDistribution(m *http.ServeMux, p string) {
	m.HandleFunc("GET "+p, c.listDistributions)
	m.HandleFunc("POST "+p, c.createDistribution)
	m.HandleFunc("GET "+p+"/{id}", c.getDistribution)
	m.HandleFunc("GET "+p+"/{id}/config", c.getDistributionConfig)
	m.HandleFunc("PUT "+p+"/{id}/config", c.updateDistribution)
}

// distState is a consistent snapshot of the distribution's control state.
type distState struct {
	etag         string
	lastModified time.Time
	status       string
}

func (c *Control) distState(now time.Time) distState {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := distState{etag: c.etag, lastModified: c.lastModified, status: distDeployed}
	if !c.updatedAt.IsZero() && now.Before(c.updatedAt.Add(c.opts.Propagation)) {
		s.status = distInProgress
	}
	return s
}

// distribution renders the Distribution document for cfg.
func (c *Control) distribution(cfg *types.DistributionConfig, s distState, now time.Time) *types.Distribution {
	_, _, batches := c.invalidationsInProgress(now)
	return &types.Distribution{
		ARN:                           aws.String(c.arn()),
		Id:                            aws.String(c.opts.DistributionID),
		DomainName:                    aws.String(c.opts.DomainName),
		Status:                        aws.String(s.status),
		LastModifiedTime:              aws.Time(s.lastModified),
		InProgressInvalidationBatches: aws.Int32(int32(batches)),
		ActiveTrustedKeyGroups:        &types.ActiveTrustedKeyGroups{Enabled: aws.Bool(false), Quantity: aws.Int32(0)},
		ActiveTrustedSigners:          &types.ActiveTrustedSigners{Enabled: aws.Bool(false), Quantity: aws.Int32(0)},
		DistributionConfig:            cfg,
	}
}

func (c *Control) invalidationsInProgress(now time.Time) (files, wildcards, batches int) {
	c.invalidations.mu.Lock()
	defer c.invalidations.mu.Unlock()
	return c.invalidations.inProgressCounts(now, c.opts.Propagation)
}

func (c *Control) arn() string {
	return "arn:aws:cloudfront::" + accountID + ":distribution/" + c.opts.DistributionID
}

// writeDoc marshals v as the document root and answers it with status.
func (c *Control) writeDoc(w http.ResponseWriter, r *http.Request, status int, root string, v any) {
	body, err := marshalCloudFrontXML(root, v)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// getDistribution is GetDistribution: GET /2020-05-31/distribution/{id}.
func (c *Control) getDistribution(w http.ResponseWriter, r *http.Request) {
	if err := c.checkDistribution(r.PathValue("id")); err != nil {
		c.fail(w, r, err)
		return
	}
	now := c.now()
	s := c.distState(now)
	w.Header().Set("ETag", s.etag)
	c.writeDoc(w, r, http.StatusOK, "Distribution", c.distribution(c.d.Config(), s, now))
}

// getDistributionConfig is GetDistributionConfig: GET /2020-05-31/distribution/{id}/config.
// The ETag header is the version UpdateDistribution must name in If-Match.
func (c *Control) getDistributionConfig(w http.ResponseWriter, r *http.Request) {
	if err := c.checkDistribution(r.PathValue("id")); err != nil {
		c.fail(w, r, err)
		return
	}
	s := c.distState(c.now())
	w.Header().Set("ETag", s.etag)
	cfg := c.d.Config()
	if cfg == nil {
		cfg = &types.DistributionConfig{}
	}
	c.writeDoc(w, r, http.StatusOK, "DistributionConfig", cfg)
}

// updateDistribution is UpdateDistribution: PUT /2020-05-31/distribution/{id}/config with
// If-Match set to the current ETag. The new configuration is applied to the running edge at
// once; the distribution then reports InProgress for the propagation delay.
func (c *Control) updateDistribution(w http.ResponseWriter, r *http.Request) {
	if err := c.checkDistribution(r.PathValue("id")); err != nil {
		c.fail(w, r, err)
		return
	}
	ifMatch := r.Header.Get("If-Match")
	if ifMatch == "" {
		c.fail(w, r, errorf(http.StatusBadRequest, "InvalidIfMatchVersion", "The If-Match version is missing or not valid for the resource."))
		return
	}
	cfg, err := readDistributionConfig(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}

	// The ETag check, the apply and the new ETag happen under one lock so that two updates
	// naming the same ETag cannot both succeed.
	c.mu.Lock()
	if ifMatch != c.etag {
		c.mu.Unlock()
		c.fail(w, r, errorf(http.StatusPreconditionFailed, "PreconditionFailed", "The precondition given in one or more of the request header fields evaluated to false: If-Match %q is not the current version.", truncate(ifMatch, 40)))
		return
	}
	if old := c.d.Config(); old != nil && aws.ToString(old.CallerReference) != "" && aws.ToString(old.CallerReference) != aws.ToString(cfg.CallerReference) {
		c.mu.Unlock()
		c.fail(w, r, errorf(http.StatusBadRequest, "IllegalUpdate", "The CallerReference of a distribution cannot be changed (%q, got %q).", aws.ToString(old.CallerReference), truncate(aws.ToString(cfg.CallerReference), 100)))
		return
	}
	// CloudFront validates the whole config before it changes anything (validate.go).
	if err := c.d.Validate(cfg); err != nil {
		c.mu.Unlock()
		c.fail(w, r, applyError(err))
		return
	}
	if err := c.d.Apply(cfg); err != nil {
		c.mu.Unlock()
		c.fail(w, r, applyError(err))
		return
	}
	now := c.now()
	c.etag = mustID('E', 13)
	c.lastModified = now
	c.updatedAt = now
	c.mu.Unlock()
	if err := c.saveState(); err != nil {
		c.opts.Logger.Warn("save control state", "err", err)
	}

	s := c.distState(now)
	w.Header().Set("ETag", s.etag)
	c.writeDoc(w, r, http.StatusOK, "Distribution", c.distribution(c.d.Config(), s, now))
}

// applyError turns the edge's refusal of a config into the API error: a *ConfigError
// carries CloudFront's status, code and message (validate.go); any other error is an
// InvalidArgument with its message.
func applyError(err error) *apiError {
	var ce *ConfigError
	if errors.As(err, &ce) && ce.Code != "" {
		status := ce.Status
		if status == 0 {
			status = cfgErr(ce.Code, "").Status
		}
		return &apiError{Status: status, Code: ce.Code, Message: ce.Message}
	}
	return errorf(http.StatusBadRequest, "InvalidArgument", "%v", err)
}

// createDistribution is CreateDistribution: POST /2020-05-31/distribution. The config is
// validated first, so a refused config gets CloudFront's error whatever else is true. The
// local edge serves one distribution, so the only create that can succeed is the retry of
// the one that made it: "If the CallerReference is a value that you already sent in a
// previous request to create a distribution, and the content of the DistributionConfig is
// identical to the original request …, the response includes the same information returned
// to the original request"; other content is DistributionAlreadyExists [API:CreateDistribution].
// A new CallerReference is TooManyDistributions: LOCAL LIMIT, one distribution per edge.
func (c *Control) createDistribution(w http.ResponseWriter, r *http.Request) {
	cfg, err := readDistributionConfig(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if err := c.d.Validate(cfg); err != nil {
		c.fail(w, r, applyError(err))
		return
	}
	cur := c.d.Config()
	if cur == nil || aws.ToString(cur.CallerReference) != aws.ToString(cfg.CallerReference) {
		c.fail(w, r, errorf(http.StatusBadRequest, "TooManyDistributions", "Processing your request would cause you to exceed the maximum number of distributions allowed (the local edge serves one distribution, %s; change it with UpdateDistribution).", c.opts.DistributionID))
		return
	}
	if !sameConfig(cur, cfg) {
		c.fail(w, r, errorf(http.StatusConflict, "DistributionAlreadyExists", "The caller reference you attempted to create the distribution with is associated with another distribution."))
		return
	}
	now := c.now()
	s := c.distState(now)
	w.Header().Set("ETag", s.etag)
	w.Header().Set("Location", c.baseURL(r)+apiVersionPrefix+"/distribution/"+c.opts.DistributionID)
	c.writeDoc(w, r, http.StatusCreated, "Distribution", c.distribution(cur, s, now))
}

// sameConfig compares two configs as documents: CloudFront compares the request content
// "ignoring white space".
func sameConfig(a, b *types.DistributionConfig) bool {
	x, err1 := marshalCloudFrontXML("DistributionConfig", a)
	y, err2 := marshalCloudFrontXML("DistributionConfig", b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// listDistributions is ListDistributions: GET /2020-05-31/distribution. The local world has
// one distribution.
func (c *Control) listDistributions(w http.ResponseWriter, r *http.Request) {
	marker, max, err := pageParams(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	list := &types.DistributionList{
		Marker:      aws.String(marker),
		MaxItems:    aws.Int32(int32(max)),
		IsTruncated: aws.Bool(false),
		Quantity:    aws.Int32(0),
	}
	// Markers are distribution ids; the page after our own id is empty.
	if marker == "" {
		now := c.now()
		list.Items = []types.DistributionSummary{c.summary(c.d.Config(), c.distState(now))}
		list.Quantity = aws.Int32(1)
	}
	c.writeDoc(w, r, http.StatusOK, "DistributionList", list)
}

// summary is the DistributionSummary of the distribution: the API marks all its members
// required, so absent parts of the config are reported as empty lists.
func (c *Control) summary(cfg *types.DistributionConfig, s distState) types.DistributionSummary {
	if cfg == nil {
		cfg = &types.DistributionConfig{}
	}
	zero := aws.Int32(0)
	sum := types.DistributionSummary{
		ARN:                  aws.String(c.arn()),
		Id:                   aws.String(c.opts.DistributionID),
		DomainName:           aws.String(c.opts.DomainName),
		Status:               aws.String(s.status),
		LastModifiedTime:     aws.Time(s.lastModified),
		Staging:              aws.Bool(aws.ToBool(cfg.Staging)),
		Aliases:              cfg.Aliases,
		CacheBehaviors:       cfg.CacheBehaviors,
		Comment:              aws.String(aws.ToString(cfg.Comment)),
		CustomErrorResponses: cfg.CustomErrorResponses,
		DefaultCacheBehavior: cfg.DefaultCacheBehavior,
		Enabled:              aws.Bool(aws.ToBool(cfg.Enabled)),
		HttpVersion:          cfg.HttpVersion,
		IsIPV6Enabled:        aws.Bool(aws.ToBool(cfg.IsIPV6Enabled)),
		OriginGroups:         cfg.OriginGroups,
		Origins:              cfg.Origins,
		PriceClass:           cfg.PriceClass,
		Restrictions:         cfg.Restrictions,
		ViewerCertificate:    cfg.ViewerCertificate,
		WebACLId:             aws.String(aws.ToString(cfg.WebACLId)),
	}
	if sum.Aliases == nil {
		sum.Aliases = &types.Aliases{Quantity: zero}
	}
	if sum.CacheBehaviors == nil {
		sum.CacheBehaviors = &types.CacheBehaviors{Quantity: zero}
	}
	if sum.CustomErrorResponses == nil {
		sum.CustomErrorResponses = &types.CustomErrorResponses{Quantity: zero}
	}
	if sum.OriginGroups == nil {
		sum.OriginGroups = &types.OriginGroups{Quantity: zero}
	}
	return sum
}

// readDistributionConfig reads the DistributionConfig document of a create or update
// request, bounded by maxConfigBody.
func readDistributionConfig(r *http.Request) (*types.DistributionConfig, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxConfigBody+1))
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "InvalidArgument", "Reading the request body failed: %v", err)
	}
	if len(body) > maxConfigBody {
		return nil, errorf(http.StatusBadRequest, "InvalidArgument", "The DistributionConfig document is larger than %d bytes.", maxConfigBody)
	}
	return unmarshalDistributionConfig(body)
}
