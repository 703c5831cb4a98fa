package build

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
)

// StatusReport is what `twinedge release --status [ID]` reports: a recorded release
// and the state of the invalidation it sent, for a release run with --no-wait.
type StatusReport struct {
	ReleaseID string    `json:"releaseId"`
	Kind      string    `json:"kind"`
	Time      time.Time `json:"time"`
	// InvalidationID is empty when the release changed no cached path.
	InvalidationID string `json:"invalidationId,omitempty"`
	// InvalidationStatus is "Completed", "InProgress", or "none" (nothing was invalidated).
	InvalidationStatus string `json:"invalidationStatus"`
	// InvalidationCreated is when CloudFront accepted the invalidation.
	InvalidationCreated *time.Time `json:"invalidationCreated,omitempty"`
}

// Status reports the release id (a unique prefix of at least 4 characters; empty: the
// newest) and its invalidation, read from the first region that has records and from
// CloudFront. It changes nothing.
func Status(ctx context.Context, opts Options, id string) (*StatusReport, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	rec, err := findRecord(ctx, o, id)
	if err != nil {
		return nil, err
	}
	st := &StatusReport{ReleaseID: rec.ID, Kind: rec.Kind, Time: rec.Time, InvalidationID: rec.Invalidation, InvalidationStatus: "none"}
	if rec.Invalidation != "" {
		if o.CloudFront == nil {
			return nil, fmt.Errorf("release %s sent invalidation %s, but there is no CloudFront client to ask about it", rec.ID, rec.Invalidation)
		}
		out, err := o.CloudFront.GetInvalidation(ctx, &cloudfront.GetInvalidationInput{DistributionId: aws.String(o.DistributionID), Id: aws.String(rec.Invalidation)})
		if err != nil {
			return nil, fmt.Errorf("get invalidation %s of release %s: %w", rec.Invalidation, rec.ID, err)
		}
		st.InvalidationStatus = "InProgress"
		if inv := out.Invalidation; inv != nil {
			if isCompleted(aws.ToString(inv.Status)) {
				st.InvalidationStatus = "Completed"
			}
			st.InvalidationCreated = inv.CreateTime
		}
	}
	if o.Out != nil {
		if o.JSON {
			enc := json.NewEncoder(o.Out)
			enc.SetIndent("", "  ")
			err = enc.Encode(st)
		} else {
			err = st.WriteText(o.Out)
		}
	}
	return st, err
}

// WriteText writes the status as one line.
func (s *StatusReport) WriteText(w io.Writer) error {
	var err error
	switch s.InvalidationID {
	case "":
		_, err = fmt.Fprintf(w, "%s %s (%s): live; it invalidated nothing (no cached path changed)\n", s.Kind, s.ReleaseID, s.Time.Format(time.RFC3339))
	default:
		_, err = fmt.Fprintf(w, "%s %s (%s): invalidation %s %s\n", s.Kind, s.ReleaseID, s.Time.Format(time.RFC3339), s.InvalidationID, s.InvalidationStatus)
	}
	return err
}
