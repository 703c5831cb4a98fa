package drill

import (
	"fmt"
	"html"
	"math"
	"strings"
	"time"
)

// The timeline is hand-written SVG: one self-contained picture with no script and no
// external request, readable when printed. Requests are stacked per time bucket by who
// answered them (the primary, the secondary, the edge cache, or nobody: failed); fault
// phases are shaded and labelled; p50 and p99 latency are lines on a logarithmic second axis;
// writes are dots in a strip below, coloured by the region that accepted them.

// Colours, chosen to be told apart with the common colour-vision deficiencies (blue and
// orange), with failures in red and cache hits receding in grey.
const (
	colPrimary   = "#1d4ed8"
	colSecondary = "#ea580c"
	colCache     = "#cbd5e1"
	colFailed    = "#dc2626"
	colRetried   = "#7c3aed"
	colFaultBg   = "#fee2e2"
	colNoFOBg    = "#fef3c7"
	colText      = "#1f2937"
	colGrid      = "#e5e7eb"
)

// geometry of the timeline, in SVG user units.
const (
	tlWidth   = 1160
	tlLeft    = 64
	tlRight   = 1080
	tlLabelsY = 8
	tlTop     = 52
	tlPlotH   = 230
	tlStripH  = 34
	tlAxisH   = 34
)

type bucket struct {
	primary, secondary, cache, retried, failed int
	took                                       []time.Duration
}

// bucketSize picks a round bucket length giving about 120 buckets.
func bucketSize(total time.Duration) time.Duration {
	for _, d := range []time.Duration{100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
		time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second} {
		if total/d <= 150 {
			return d
		}
	}
	return time.Minute
}

// Timeline renders the report's timeline as an SVG element.
func (r *Report) Timeline() string {
	total := time.Duration(r.DurationMs) * time.Millisecond
	if total <= 0 {
		total = time.Second
	}
	bs := bucketSize(total)
	n := int((total + bs - 1) / bs)
	buckets := make([]bucket, n)
	for _, s := range r.Samples {
		i := min(int(s.At/bs), n-1)
		b := &buckets[i]
		switch {
		case !s.OK && s.Retried:
			b.retried++
		case !s.OK:
			b.failed++
		case s.Cache == "Hit":
			b.cache++
		case s.Region == r.Primary:
			b.primary++
		case s.Region == r.Secondary:
			b.secondary++
		default:
			b.cache++
		}
		b.took = append(b.took, s.Took)
	}
	maxCount := 1
	for _, b := range buckets {
		maxCount = max(maxCount, b.primary+b.secondary+b.cache+b.retried+b.failed)
	}
	// A round top for the count axis, in requests per second.
	perSec := float64(time.Second) / float64(bs)
	topRate := niceCeil(float64(maxCount) * perSec)
	x := func(d time.Duration) float64 {
		return tlLeft + float64(d)/float64(total)*(tlRight-tlLeft)
	}
	plotBottom := float64(tlTop + tlPlotH)
	yCount := func(c float64) float64 { return plotBottom - c*perSec/topRate*tlPlotH }
	// Latency axis: 1 ms to 10 s, logarithmic, so a 2 ms hit and a 5 s timeout both show.
	const latMin, latMax = 1.0, 10000.0
	yLat := func(d time.Duration) float64 {
		v := math.Max(latMin, math.Min(latMax, float64(d)/float64(time.Millisecond)))
		return plotBottom - math.Log10(v/latMin)/math.Log10(latMax/latMin)*tlPlotH
	}
	height := tlTop + tlPlotH + tlStripH + tlAxisH + 8

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="100%%" role="img" aria-labelledby="tl-title tl-desc" font-family="system-ui, sans-serif" font-size="12">`, tlWidth, height)
	fmt.Fprintf(&b, `<title id="tl-title">Drill timeline</title><desc id="tl-desc">Requests per second by the region that served them, with fault phases shaded, latency on the right axis, and writes below. GET success rate %.2f%%.</desc>`, r.GetSuccessRate*100)

	// Phase shading and labels. Labels alternate between two rows so narrow phases don't
	// overlap.
	row := 0
	for _, p := range r.Phases {
		if p.Kind != "fault" || p.NotRun {
			continue
		}
		x0, x1 := x(time.Duration(p.StartMs)*time.Millisecond), x(time.Duration(p.EndMs)*time.Millisecond)
		bg := colFaultBg
		if !p.FailsOver {
			bg = colNoFOBg
		}
		if p.NotApplied != "" {
			bg = "#f3f4f6"
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s</title></rect>`,
			x0, tlTop, math.Max(0.5, x1-x0), tlPlotH+tlStripH, bg, esc(phaseTitle(p)))
		ly := tlLabelsY + 12 + row*18
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#9ca3af" stroke-width="0.5"/>`, (x0+x1)/2, ly+3, (x0+x1)/2, tlTop)
		weight := "600"
		if p.NotApplied != "" {
			weight = "400"
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" font-weight="%s" fill="%s">%s</text>`, (x0+x1)/2, ly, weight, colText, esc(p.Name))
		row = 1 - row
	}

	// Grid and the count axis (left).
	for i := 0; i <= 4; i++ {
		v := topRate * float64(i) / 4
		y := plotBottom - float64(i)/4*tlPlotH
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`, tlLeft, y, tlRight, y, colGrid)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="%s">%s</text>`, tlLeft-6, y+4, colText, trimFloat(v))
	}
	fmt.Fprintf(&b, `<text transform="translate(16 %d) rotate(-90)" text-anchor="middle" fill="%s">requests / s</text>`, tlTop+tlPlotH/2, colText)

	// Stacked bars: failed on top, where the eye goes.
	bw := (tlRight - tlLeft) / float64(n)
	for i, bk := range buckets {
		x0 := tlLeft + float64(i)*bw
		y := plotBottom
		for _, seg := range []struct {
			n   int
			col string
		}{{bk.primary, colPrimary}, {bk.secondary, colSecondary}, {bk.cache, colCache}, {bk.retried, colRetried}, {bk.failed, colFailed}} {
			if seg.n == 0 {
				continue
			}
			h := plotBottom - yCount(float64(seg.n))
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`, x0+0.5, y-h, math.Max(0.5, bw-1), h, seg.col)
			y -= h
		}
	}

	// Latency lines and their axis (right).
	for _, v := range []float64{1, 10, 100, 1000, 10000} {
		y := yLat(time.Duration(v * float64(time.Millisecond)))
		label := fmt.Sprintf("%g ms", v)
		if v >= 1000 {
			label = fmt.Sprintf("%g s", v/1000)
		}
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`, tlRight, y, tlRight+4, y, colText)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" fill="%s">%s</text>`, tlRight+7, y+4, colText, label)
	}
	fmt.Fprintf(&b, `<text transform="translate(%d %d) rotate(90)" text-anchor="middle" fill="%s">latency (log)</text>`, tlWidth-14, tlTop+tlPlotH/2, colText)
	for _, q := range []struct {
		q     float64
		width string
		dash  string
	}{{0.5, "1.5", ""}, {0.99, "1.5", ` stroke-dasharray="4 3"`}} {
		var pts []string
		for i, bk := range buckets {
			if len(bk.took) == 0 {
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", tlLeft+(float64(i)+0.5)*bw, yLat(percentile(bk.took, q.q))))
		}
		if len(pts) > 0 {
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="#111827" stroke-width="%s"%s/>`, strings.Join(pts, " "), q.width, q.dash)
		}
	}

	// Writes strip.
	sy := plotBottom + tlStripH/2
	fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`, tlLeft, plotBottom, tlRight, plotBottom, colText)
	fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="%s">writes</text>`, tlLeft-6, sy+4, colText)
	for _, w := range r.WriteLog {
		cx := x(w.At)
		switch {
		case !w.Accepted:
			fmt.Fprintf(&b, `<path d="M%.1f %.1fl6 6m0 -6l-6 6" stroke="%s" stroke-width="2"/>`, cx-3, sy-3, colFailed)
		default:
			col := colPrimary
			if w.AcceptedIn == r.Secondary {
				col = colSecondary
			}
			cy := sy - 5
			if w.Retried {
				cy = sy + 5
			}
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`, cx, cy, col)
		}
	}

	// Where a stop ended the drill early (a stop in the convergence wait is past the plot).
	if r.Stop != nil && r.Stop.AtMs <= r.DurationMs {
		sx := x(time.Duration(r.Stop.AtMs) * time.Millisecond)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"><title>%s</title></line>`,
			sx, tlTop, sx, plotBottom+tlStripH, colFailed, esc("stopped early: "+r.Stop.String()))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="end" font-weight="700" fill="%s">stopped</text>`, sx-3, tlTop+12, colFailed)
	}

	// Time axis.
	axisY := plotBottom + tlStripH
	fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`, tlLeft, axisY, tlRight, axisY, colText)
	step := niceStep(total.Seconds() / 10)
	for t := 0.0; t <= total.Seconds()+1e-9; t += step {
		tx := x(time.Duration(t * float64(time.Second)))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`, tx, axisY, tx, axisY+4, colText)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="%s">%ss</text>`, tx, axisY+16, colText, trimFloat(t))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func phaseTitle(p Phase) string {
	s := p.Name
	if p.Fault != nil {
		s = "fail " + p.Fault.String()
	}
	if p.NotApplied != "" {
		s += " (not applied: " + p.NotApplied + ")"
	}
	return s + ": " + p.Expect
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// niceStep is niceCeil for axis steps.
func niceStep(v float64) float64 { return niceCeil(v) }

func trimFloat(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func esc(s string) string { return html.EscapeString(s) }
