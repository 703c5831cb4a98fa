package edge

import (
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Response documents of the invalidation operations (spec/cloudfront.md §4.4).

type xmlPaths struct {
	Items    *xmlPathItems `xml:"Items,omitempty"`
	Quantity int           `xml:"Quantity"`
}

type xmlPathItems struct {
	Path []string `xml:"Path"`
}

type xmlInvalidation struct {
	XMLName           xml.Name `xml:"Invalidation"`
	Xmlns             string   `xml:"xmlns,attr"`
	Id                string   `xml:"Id"`
	Status            string   `xml:"Status"`
	CreateTime        string   `xml:"CreateTime"`
	InvalidationBatch struct {
		Paths           xmlPaths `xml:"Paths"`
		CallerReference string   `xml:"CallerReference"`
	} `xml:"InvalidationBatch"`
}

type xmlInvalidationSummary struct {
	Id         string `xml:"Id"`
	CreateTime string `xml:"CreateTime"`
	Status     string `xml:"Status"`
}

type xmlInvalidationList struct {
	XMLName     xml.Name `xml:"InvalidationList"`
	Xmlns       string   `xml:"xmlns,attr"`
	Marker      string   `xml:"Marker"`
	NextMarker  string   `xml:"NextMarker,omitempty"`
	MaxItems    int      `xml:"MaxItems"`
	IsTruncated bool     `xml:"IsTruncated"`
	Quantity    int      `xml:"Quantity"`
	Items       *struct {
		Summary []xmlInvalidationSummary `xml:"InvalidationSummary"`
	} `xml:"Items,omitempty"`
}

// apiTime formats a timestamp as the API does (ISO 8601, UTC, milliseconds).
func apiTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (c *Control) invalidationDoc(inv invalidation, now time.Time) xmlInvalidation {
	doc := xmlInvalidation{Xmlns: cloudFrontNS, Id: inv.ID, Status: inv.status(now, c.opts.Propagation), CreateTime: apiTime(inv.CreateTime)}
	doc.InvalidationBatch.CallerReference = inv.CallerReference
	doc.InvalidationBatch.Paths = xmlPaths{Items: &xmlPathItems{Path: inv.Paths}, Quantity: len(inv.Paths)}
	return doc
}

// createInvalidation is CreateInvalidation: POST /2020-05-31/distribution/{id}/invalidation.
// Cached objects are dropped at once through the data plane; the invalidation is reported
// InProgress for the propagation delay and Completed afterwards.
func (c *Control) createInvalidation(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := c.checkDistribution(id); err != nil {
		c.fail(w, r, err)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxInvalidationBody+1))
	if err != nil {
		c.fail(w, r, errorf(http.StatusBadRequest, "InvalidArgument", "Reading the request body failed: %v", err))
		return
	}
	if len(body) > maxInvalidationBody {
		c.fail(w, r, errorf(http.StatusRequestEntityTooLarge, "BatchTooLarge", "The invalidation batch is larger than %d bytes.", maxInvalidationBody))
		return
	}
	ref, paths, err := parseInvalidationBatch(body)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	now := c.now()
	inv, created, err := c.invalidations.create(ref, paths, now, c.opts.Propagation)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if created {
		c.d.Invalidate(inv.Paths)
		if err := c.saveState(); err != nil {
			c.opts.Logger.Warn("save control state", "err", err)
		}
	}
	w.Header().Set("Location", c.baseURL(r)+apiVersionPrefix+"/distribution/"+id+"/invalidation/"+inv.ID)
	writeXML(w, http.StatusCreated, c.invalidationDoc(inv, now))
}

// getInvalidation is GetInvalidation: GET /2020-05-31/distribution/{id}/invalidation/{inv}.
func (c *Control) getInvalidation(w http.ResponseWriter, r *http.Request) {
	if err := c.checkDistribution(r.PathValue("id")); err != nil {
		c.fail(w, r, err)
		return
	}
	inv, ok := c.invalidations.get(r.PathValue("inv"))
	if !ok {
		c.fail(w, r, errorf(http.StatusNotFound, "NoSuchInvalidation", "The specified invalidation does not exist."))
		return
	}
	writeXML(w, http.StatusOK, c.invalidationDoc(inv, c.now()))
}

// listInvalidations is ListInvalidations: GET /2020-05-31/distribution/{id}/invalidation, newest
// first, paged by Marker (the Id of the last item of the previous page) and MaxItems.
func (c *Control) listInvalidations(w http.ResponseWriter, r *http.Request) {
	if err := c.checkDistribution(r.PathValue("id")); err != nil {
		c.fail(w, r, err)
		return
	}
	marker, max, err := pageParams(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	items, truncated, err := c.invalidations.page(marker, max)
	if errors.Is(err, errBadMarker) {
		c.fail(w, r, errorf(http.StatusBadRequest, "InvalidArgument", "The Marker %q does not name an invalidation of this distribution.", truncate(marker, 100)))
		return
	}
	now := c.now()
	doc := xmlInvalidationList{Xmlns: cloudFrontNS, Marker: marker, MaxItems: max, IsTruncated: truncated, Quantity: len(items)}
	if len(items) > 0 {
		doc.Items = &struct {
			Summary []xmlInvalidationSummary `xml:"InvalidationSummary"`
		}{}
		for _, inv := range items {
			doc.Items.Summary = append(doc.Items.Summary, xmlInvalidationSummary{Id: inv.ID, CreateTime: apiTime(inv.CreateTime), Status: inv.status(now, c.opts.Propagation)})
		}
		if truncated {
			doc.NextMarker = items[len(items)-1].ID
		}
	}
	writeXML(w, http.StatusOK, doc)
}

// pageParams reads the Marker and MaxItems query parameters of a List operation. MaxItems
// defaults to 100, CloudFront's default, and is capped at 1000 [INFER].
func pageParams(r *http.Request) (marker string, max int, err error) {
	q := r.URL.Query()
	marker = q.Get("Marker")
	max = 100
	if s := q.Get("MaxItems"); s != "" {
		n, perr := strconv.Atoi(s)
		if perr != nil || n < 1 {
			return "", 0, errorf(http.StatusBadRequest, "InvalidArgument", "MaxItems must be a positive integer, not %q.", truncate(s, 20))
		}
		max = min(n, 1000)
	}
	return marker, max, nil
}

// baseURL is the scheme and host the client used, for Location headers. The local control API
// speaks plain HTTP unless it sits behind TLS.
func (c *Control) baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
