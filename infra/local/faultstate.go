package local

// This file keeps the world's faults across restarts: a world stopped while a region was
// failed or partitioned comes back failed the same way, and `up` says so in its integrity
// line, rather than coming back healthy without a word.
//
//	STATE/faults.json   {"faults": [FailRequest, ...]}   rewritten after every fail and heal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FaultsFileName is the file under the state directory that holds the active faults.
const FaultsFileName = "faults.json"

type faultsFile struct {
	Faults []FailRequest `json:"faults"`
}

// Fail applies a fault request to a region and records it in STATE/faults.json.
func (w *World) Fail(req FailRequest) error { return w.recorded(func() error { return w.fail(req) }) }

// Heal clears the faults of the named region, or of every region when name is empty, and
// records it in STATE/faults.json.
func (w *World) Heal(name string) error { return w.recorded(func() error { return w.heal(name) }) }

// recorded runs change, then records the faults in force, one change at a time.
func (w *World) recorded(change func() error) error {
	w.faultsMu.Lock()
	defer w.faultsMu.Unlock()
	if err := change(); err != nil {
		return err
	}
	return w.saveFaults()
}

// activeFaults lists the faults in force as the requests that would set them again.
func (w *World) activeFaults() []FailRequest {
	var out []FailRequest
	for _, rs := range w.status(context.Background(), false).Regions {
		for _, t := range []Target{TargetOrigin, TargetAPI} {
			if f, ok := rs.Faults[t]; ok {
				out = append(out, FailRequest{Region: rs.Name, Mode: f.Mode, Target: string(t), Delay: f.Delay})
			}
		}
		if rs.Partitioned {
			out = append(out, FailRequest{Region: rs.Name, Mode: ModePartition})
		}
	}
	return out
}

func (w *World) saveFaults() error {
	b, err := json.MarshalIndent(faultsFile{Faults: w.activeFaults()}, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(w.cfg.StateDir, FaultsFileName), append(b, '\n')); err != nil {
		return fmt.Errorf("the fault is set but could not be recorded for the next start: %w", err)
	}
	return nil
}

// restoreFaults sets again the faults recorded by the last run and says what it did. A file
// that does not decode, or a fault that no longer applies (another region), is reported and
// not restored: the world starts healthy rather than not at all.
func (w *World) restoreFaults() string {
	p := filepath.Join(w.cfg.StateDir, FaultsFileName)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "no faults recorded"
	}
	var ff faultsFile
	if err == nil {
		err = decodeStrict(strings.NewReader(string(b)), &ff)
	}
	if err != nil {
		return fmt.Sprintf("%s unreadable (%v): no faults restored, every region starts healthy", FaultsFileName, err)
	}
	if len(ff.Faults) == 0 {
		return "no faults recorded"
	}
	var done, skipped []string
	for _, req := range ff.Faults {
		what := req.Region + " " + req.Mode
		if req.Target != "" {
			what = req.Region + " " + req.Target + "=" + req.Mode
		}
		if err := w.fail(req); err != nil {
			skipped = append(skipped, fmt.Sprintf("%s (%v)", what, err))
			continue
		}
		done = append(done, what)
	}
	msg := "faults restored from the last run: " + strings.Join(done, ", ") + " (heal to clear)"
	if len(done) == 0 {
		msg = "no faults restored"
	}
	if len(skipped) > 0 {
		msg += "; not restored: " + strings.Join(skipped, ", ")
	}
	return msg
}
