package build

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Report is the outcome of a release, a rollback or a dry run. Its JSON form is the
// `twinedge release --json` contract: releaseId, uploaded, deleted, skipped,
// invalidationPaths and bytes are always present.
type Report struct {
	ReleaseID string `json:"releaseId"`
	// Previous is the release that was live before (empty for the first release).
	Previous string `json:"previousReleaseId,omitempty"`
	// Kind is "release" or "rollback".
	Kind string `json:"kind"`
	// RollbackTo is the release a rollback restored.
	RollbackTo string `json:"rollbackTo,omitempty"`
	DryRun     bool   `json:"dryRun"`
	// Unchanged is true when the buckets already served exactly this site: nothing
	// was written, not even a record, and ReleaseID is the live release.
	Unchanged bool `json:"unchanged"`
	// Uploaded counts PUTs (and server-side copies) of site objects over all buckets,
	// done (after a stop, the ones done before it) or, in a dry run, planned. Bytes
	// likewise.
	Uploaded int   `json:"uploaded"`
	Deleted  int   `json:"deleted"`
	Skipped  int   `json:"skipped"`
	Bytes    int64 `json:"bytes"`
	// InvalidationPaths are the paths sent to CloudFront (or that would be sent).
	InvalidationPaths []string `json:"invalidationPaths"`
	// InvalidationCostUSD is what the paths cost once the month's 1,000 free paths are used.
	InvalidationCostUSD float64 `json:"invalidationCostUSD"`
	InvalidationID      string  `json:"invalidationId,omitempty"`
	// InvalidationStatus is "Completed", "InProgress" (the wait timed out or was not
	// requested) or empty when nothing was invalidated.
	InvalidationStatus string         `json:"invalidationStatus,omitempty"`
	Buckets            []BucketReport `json:"buckets"`
	// Redirects is the change of the redirect store; absent without one.
	Redirects *RedirectReport `json:"redirects,omitempty"`
	// PrunedCopies counts rollback copies deleted because no kept release needs them.
	PrunedCopies int `json:"prunedRollbackCopies,omitempty"`
	// PrunedRecords counts release records deleted beyond Options.History.
	PrunedRecords int      `json:"prunedRecords,omitempty"`
	Warnings      []string `json:"warnings,omitempty"`
	Error         string   `json:"error,omitempty"`
	DurationMS    int64    `json:"durationMs"`
	// Phases is where the time went, in the order the phases ended: hash, plan, lock,
	// assets and pages per region (the regions' run at once), deletes, invalidate
	// (until CloudFront accepted it), records, and wait (for the invalidation to
	// complete; absent with --no-wait).
	Phases []PhaseTime `json:"phases"`
}

// PhaseTime is the wall time of one phase of a release.
type PhaseTime struct {
	Phase string `json:"phase"`
	// Region is set for the phases that run per region.
	Region string  `json:"region,omitempty"`
	MS     float64 `json:"ms"`
}

// phaseMS returns the time of phase (the longest region's), and whether it ran.
func (r *Report) phaseMS(phase string) (float64, bool) {
	var ms float64
	ran := false
	for _, p := range r.Phases {
		if p.Phase == phase {
			ms, ran = max(ms, p.MS), true
		}
	}
	return ms, ran
}

// BucketReport is the plan for one bucket and what became of it.
type BucketReport struct {
	BucketPlan
	// State says what the bucket serves after the run, in words.
	State        string            `json:"state"`
	DeleteErrors map[string]string `json:"deleteErrors,omitempty"`
}

// ReleaseError is returned when a release stops part way. It names the phase and says
// what each bucket serves, so the operator knows the site is intact and that re-running
// the same release completes it.
type ReleaseError struct {
	ReleaseID string
	Phase     string
	Err       error
	// States holds "<region> (<bucket>): <state>" for every bucket.
	States []string
}

func (e *ReleaseError) Error() string {
	return fmt.Sprintf("release %s stopped in the %s phase: %v; %s; re-run the release to complete it",
		e.ReleaseID, e.Phase, e.Err, strings.Join(e.States, "; "))
}

func (e *ReleaseError) Unwrap() error { return e.Err }

// stoppedBefore records a release stopped before it changed anything, and why: nothing
// uploaded or deleted, every bucket unchanged.
func (r *Report) stoppedBefore(why string) {
	r.Uploaded, r.Deleted, r.Bytes = 0, 0, 0
	for i := range r.Buckets {
		r.Buckets[i].State = "unchanged: " + why
	}
}

// ErrTooManyDeletes is wrapped by the error of a release whose plan deletes more
// objects from a bucket than Options.MaxDeletes allows. Nothing has been changed.
var ErrTooManyDeletes = errors.New("too many deletes")

// WriteJSON writes the report as one JSON object and a newline.
func (r *Report) WriteJSON(w io.Writer) error {
	if r.InvalidationPaths == nil {
		r.InvalidationPaths = []string{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the plan (for a dry run, every upload with its reason) or a summary.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	verb := "release"
	if r.Kind == "rollback" {
		verb = "rollback to " + r.RollbackTo + " as release"
	}
	switch {
	case r.Unchanged:
		fmt.Fprintf(&b, "unchanged: release %s is live in every bucket; nothing to upload, delete or invalidate\n", r.ReleaseID)
		_, err := io.WriteString(w, b.String())
		return err
	case r.DryRun:
		fmt.Fprintf(&b, "dry run: %s %s (previous %s); nothing was changed\n", verb, r.ReleaseID, orNone(r.Previous))
	default:
		fmt.Fprintf(&b, "%s %s (previous %s)\n", verb, r.ReleaseID, orNone(r.Previous))
	}
	for _, bk := range r.Buckets {
		fmt.Fprintf(&b, "%s %s: upload %d (%s), delete %d, unchanged %d", bk.Region, bk.Bucket,
			len(bk.Uploads), humanBytes(bk.Bytes()), len(bk.Deletes), bk.Skipped)
		if !r.DryRun && bk.State != "" {
			fmt.Fprintf(&b, "; %s", bk.State)
		}
		b.WriteString("\n")
		if r.DryRun {
			for _, k := range bk.Recover {
				fmt.Fprintf(&b, "  recover %s\n", k)
			}
			for _, u := range bk.Uploads {
				fmt.Fprintf(&b, "  %-6s %-10s %8s  %s\n", u.Phase, u.Reason, humanBytes(u.Size), u.Path)
			}
			for _, d := range bk.Deletes {
				fmt.Fprintf(&b, "  delete %s\n", d)
			}
		}
		for k, e := range bk.DeleteErrors {
			fmt.Fprintf(&b, "  delete failed %s: %s\n", k, e)
		}
	}
	if rd := r.Redirects; rd != nil {
		fmt.Fprintf(&b, "redirects: %d rules; put %d, delete %d, unchanged %d\n", rd.Rules, len(rd.Put), len(rd.Deleted), rd.Unchanged)
		if r.DryRun {
			for _, k := range rd.Put {
				fmt.Fprintf(&b, "  put    %s\n", k)
			}
			for _, k := range rd.Deleted {
				fmt.Fprintf(&b, "  delete %s\n", k)
			}
		}
	}
	if len(r.InvalidationPaths) == 0 {
		b.WriteString("invalidate: nothing (no cached path changed)\n")
	} else {
		verb := "invalidate"
		if r.InvalidationID == "" && (r.DryRun || r.Error != "") {
			verb = "would invalidate"
		}
		fmt.Fprintf(&b, "%s %d paths ($%.3f once the 1,000 free paths of the month are used)",
			verb, len(r.InvalidationPaths), r.InvalidationCostUSD)
		if r.InvalidationID != "" {
			fmt.Fprintf(&b, " as %s, %s", r.InvalidationID, r.InvalidationStatus)
			if ms, ok := r.phaseMS("wait"); ok {
				fmt.Fprintf(&b, " after a %.1fs wait", ms/1000)
			} else if r.InvalidationStatus == "InProgress" && r.Error == "" {
				b.WriteString(" (not waited for; `twinedge release --status` reports it)")
			}
		}
		fmt.Fprintf(&b, ": %s\n", strings.Join(r.InvalidationPaths, " "))
	}
	for _, wmsg := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", wmsg)
	}
	if !r.DryRun {
		fmt.Fprintf(&b, "uploaded %d (%s), deleted %d, skipped %d in %.1fs", r.Uploaded, humanBytes(r.Bytes), r.Deleted, r.Skipped, float64(r.DurationMS)/1000)
		if ms, ok := r.phaseMS("wait"); ok {
			fmt.Fprintf(&b, " (%.1fs of it waiting for the invalidation)", ms/1000)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
