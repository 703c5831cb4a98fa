package drill

import (
	"fmt"
	"html/template"
	"io"
	"strings"
)

// WriteHTML writes the report as one self-contained HTML page: inline CSS and SVG, no
// script, no external request, so it can be mailed, archived or opened offline.
func (r *Report) WriteHTML(w io.Writer) error {
	return reportPage.Execute(w, r)
}

// row is one line of the phase table.
type row struct {
	Phase
	Healthy bool
}

// TableRows are the rows of the HTML table: every fault phase, and one row for the
// healthy phases together (baseline, the intervals after each heal, final).
func (r *Report) tableRows() []row {
	var rows []row
	var healthy []Sample
	for i, p := range r.Phases {
		if p.Kind == "fault" {
			rows = append(rows, row{Phase: p})
			continue
		}
		for _, s := range r.Samples {
			if s.Phase == i {
				healthy = append(healthy, s)
			}
		}
	}
	h := Phase{Name: "healthy", Kind: "healthy", FailsOver: true,
		Expect: "baseline, the intervals after each heal, and the final phase"}
	summarisePhase(&h, healthy)
	for _, rec := range r.WriteLog {
		if r.Phases[rec.Phase].Kind != "fault" {
			h.Writes.Attempted++
			if rec.Retried {
				h.Writes.Retried++
			}
			if rec.Accepted {
				h.Writes.Accepted++
			} else {
				h.Writes.Rejected++
			}
		}
	}
	return append([]row{{Phase: h, Healthy: true}}, rows...)
}

var funcs = template.FuncMap{
	"pct": func(v float64) string {
		if v == 1 {
			return "100%"
		}
		return fmt.Sprintf("%.2f%%", v*100)
	},
	"msf": func(x any) string {
		var v float64
		switch x := x.(type) {
		case float64:
			v = x
		case int64:
			v = float64(x)
		case int:
			v = float64(x)
		}
		if v >= 1000 {
			return fmt.Sprintf("%.2f s", v/1000)
		}
		return fmt.Sprintf("%.0f ms", v)
	},
	"secs":     func(ms int64) string { return fmt.Sprintf("%.0f s", float64(ms)/1000) },
	"timeline": func(r *Report) template.HTML { return template.HTML(r.Timeline()) },
	"rows":     func(r *Report) []row { return r.tableRows() },
	"served": func(r *Report, p Phase) template.HTML {
		total := 0
		for _, n := range p.ServedBy {
			total += n
		}
		if total == 0 {
			return "—"
		}
		var bar, text strings.Builder
		bar.WriteString(`<span class="bar">`)
		for _, k := range sortedKeys(p.ServedBy) {
			col := colCache
			switch k {
			case r.Primary:
				col = colPrimary
			case r.Secondary:
				col = colSecondary
			}
			fmt.Fprintf(&bar, `<span style="width:%.1f%%;background:%s" title="%s: %d"></span>`,
				float64(p.ServedBy[k])/float64(total)*100, col, esc(k), p.ServedBy[k])
			if text.Len() > 0 {
				text.WriteString(", ")
			}
			fmt.Fprintf(&text, "%s %d", esc(k), p.ServedBy[k])
		}
		bar.WriteString(`</span>`)
		return template.HTML(bar.String() + `<small>` + text.String() + `</small>`)
	},
	"outcomes": func(p Phase) []string {
		var out []string
		for i, k := range sortedKeys(p.Outcomes) {
			if i == 5 && len(p.Outcomes) > 6 {
				out = append(out, fmt.Sprintf("… and %d more", len(p.Outcomes)-5))
				break
			}
			out = append(out, fmt.Sprintf("%s × %d", k, p.Outcomes[k]))
		}
		return out
	},
	"fault": func(p Phase) string {
		if p.Fault == nil {
			return ""
		}
		return "fail " + p.Fault.String()
	},
	"mark": func(v string) template.HTML {
		switch v {
		case VerdictMet:
			return `<span class="met">✓ met</span>`
		case VerdictMissed:
			return `<span class="bad">✗ missed</span>`
		}
		return `<small>– not measured</small>`
	},
	"measured":   func(t Transition) string { return t.measured() },
	"target":     func(t Transition) string { return t.target() },
	"minsamples": func() int { return MinStopSamples },
	"colP":       func() template.CSS { return template.CSS(colPrimary) },
	"colS":       func() template.CSS { return template.CSS(colSecondary) },
	"colC":       func() template.CSS { return template.CSS(colCache) },
	"colF":       func() template.CSS { return template.CSS(colFailed) },
}

var reportPage = template.Must(template.New("report").Funcs(funcs).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>twinedge drill {{.RunID}}: {{if .Pass}}passed{{else}}failed{{end}}</title>
<style>
:root{color-scheme:light;--p:{{colP}};--s:{{colS}};--c:{{colC}};--f:{{colF}}}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2937;margin:0;background:#f9fafb}
main{max-width:1200px;margin:0 auto;padding:20px 24px 40px}
h1{font-size:22px;margin:0 0 2px}
h2{font-size:16px;margin:28px 0 8px}
.meta{color:#4b5563;margin:0 0 16px}
.verdict{display:inline-block;padding:2px 10px;border-radius:999px;font-weight:700;font-size:14px;vertical-align:3px;margin-left:8px}
.pass{background:#dcfce7;color:#14532d}.fail{background:#fee2e2;color:#7f1d1d}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:12px}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:12px 14px}
.card b{display:block;font-size:26px;line-height:1.2}
.card span{color:#4b5563}
.figure{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:8px 8px 4px;margin-top:16px}
.legend{display:flex;flex-wrap:wrap;gap:14px;margin:6px 8px 4px;color:#374151}
.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-1px;margin-right:5px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #e5e7eb;font-size:13px}
th,td{padding:6px 8px;border-bottom:1px solid #e5e7eb;text-align:left;vertical-align:top}
th{background:#f3f4f6;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.nofo td{background:#fffbeb}
tr.na td{color:#6b7280;background:#f9fafb}
tr.healthy td{background:#f0fdf4}
.bad{color:#b91c1c;font-weight:700}
.met{color:#15803d;font-weight:700}
.stop{background:#fee2e2;border:1px solid #fca5a5;border-radius:8px;padding:10px 14px;margin:0 0 16px}
.bar{display:flex;width:120px;height:8px;border-radius:2px;overflow:hidden;background:#f3f4f6;margin:3px 0}
.bar span{display:block;height:100%}
small{color:#4b5563}
ul.o{margin:0;padding-left:16px;min-width:210px}
td small{display:block}
.notes li{margin:2px 0}
code{font-size:12px}
</style>
</head>
<body>
<main>
<h1>Failover drill <span class="verdict {{if .Pass}}pass{{else}}fail{{end}}">{{if .Pass}}PASS{{else}}FAIL{{end}}</span></h1>
<p class="meta">Run {{.RunID}} · {{.StartedAt.Format "2006-01-02 15:04:05 UTC"}} · {{secs .DurationMs}} · {{.Rate}} requests/s through <code>{{.Edge}}</code> · primary <b style="color:var(--p)">{{.Primary}}</b>, secondary <b style="color:var(--s)">{{.Secondary}}</b></p>

{{with .Stop}}<p class="stop" role="alert"><b>Stopped early.</b> {{.}}. The phases after it did not run.</p>{{end}}
{{if .StopConditions}}<p class="meta">Stop conditions, checked every 250 ms over a sliding window of at least {{minsamples}} viewer operations: {{range $i, $c := .StopConditions}}{{if $i}}; {{end}}<code>{{$c.Condition}}</code> {{if $c.Breached}}<b class="bad">breached</b>{{else if not $c.Checks}}never checked{{else}}held (worst {{$c.Worst}}){{end}}{{end}}.</p>{{end}}
<section class="cards" aria-label="Headline figures">
<div class="card"><b{{if lt .GetSuccessRate 1.0}} class="bad"{{end}}>{{pct .GetSuccessRate}}</b><span>of {{.GETs}} GETs succeeded in the phases where CloudFront fails over</span></div>
{{if .Writes.Measured}}<div class="card"><b>{{.Writes.Accepted}} / {{.Writes.Attempted}}</b><span>writes accepted · {{.Writes.Retried}} retried pinned to {{.Secondary}} · {{.Writes.Rejected}} rejected</span></div>
<div class="card"><b{{if or .Writes.Lost .Writes.Duplicated}} class="bad"{{end}}>{{.Writes.Lost}} lost · {{.Writes.Duplicated}} dup.</b><span>writes after the final heal{{if .Writes.StoredAfterRejection}} · {{.Writes.StoredAfterRejection}} stored though the viewer saw a failure{{end}}</span></div>
<div class="card"><b{{if not .Convergence.Converged}} class="bad"{{end}}>{{if .Convergence.Converged}}{{msf .Convergence.Ms}}{{else}}no{{end}}</b><span>{{if .Convergence.Converged}}until both regions listed the same messages{{else}}convergence: {{.Convergence.Note}}{{end}}</span></div>
{{else}}<div class="card"><b>not measured</b><span>API and writes: {{.API.Note}}</span></div>{{end}}
</section>
{{if .Failures}}<h2>What did not hold</h2><ul class="notes">{{range .Failures}}<li class="bad">{{.}}</li>{{end}}</ul>{{end}}

<div class="figure">
{{timeline .}}
<div class="legend">
<span><i style="background:var(--p)"></i>served by {{.Primary}}</span>
<span><i style="background:var(--s)"></i>served by {{.Secondary}}</span>
<span><i style="background:var(--c)"></i>edge cache hit</span>
<span><i style="background:#7c3aed"></i>write failed, retried by the app</span>
<span><i style="background:var(--f)"></i>failed</span>
<span><i style="background:#fee2e2;border:1px solid #fca5a5"></i>fault (CloudFront fails over)</span>
<span><i style="background:#fef3c7;border:1px solid #fcd34d"></i>fault CloudFront cannot fail over</span>
<span>— p50 · - - p99 latency (right axis)</span>
<span>writes: ● accepted (low row: after the pinned retry), ✕ rejected</span>
</div>
</div>

<h2>Per phase</h2>
<table>
<thead><tr><th scope="col">Phase</th><th scope="col">CloudFront</th><th scope="col" class="n">Requests</th><th scope="col" class="n">GETs ok</th><th scope="col" class="n">p50 · p99</th><th scope="col" class="n" title="requests that reached an origin, not cache hits">to origin<br>p50 · p99</th><th scope="col">Served by</th><th scope="col" class="n" title="Share of page, asset and probe GETs that reached an origin">share to origin</th><th scope="col" class="n" title="accepted / retried / rejected">Writes</th><th scope="col">What the viewer saw</th></tr></thead>
<tbody>
{{range rows .}}<tr class="{{if .Healthy}}healthy{{else if or .NotApplied .NotRun}}na{{else if not .FailsOver}}nofo{{end}}">
<th scope="row">{{.Name}}{{with fault .Phase}}<br><small><code>{{.}}</code></small>{{end}}</th>
<td>{{if .NotRun}}<small>not run: the drill stopped before it</small>{{else if .NotApplied}}<small>not applied: {{.NotApplied}}</small>{{else if .Healthy}}<small>{{.Expect}}</small>{{else if .FailsOver}}<small>fails over — {{.Expect}}</small>{{else}}<small><b>does not fail over</b> — {{.Expect}}{{if and .GETs (eq .GETsOK .GETs)}}<br><b class="bad">yet every GET succeeded here: this target answered where CloudFront would not</b>{{end}}</small>{{end}}</td>
<td class="n">{{.Requests}}</td>
<td class="n{{if and .FailsOver (lt .GETsOK .GETs)}} bad{{end}}">{{.GETsOK}} / {{.GETs}}</td>
<td class="n">{{msf .P50Ms}} · {{msf .P99Ms}}</td>
<td class="n">{{msf .OriginP50Ms}} · {{msf .OriginP99Ms}}</td>
<td>{{served $ .Phase}}</td>
<td class="n">{{pct .OriginShare}}</td>
<td class="n">{{.Writes.Accepted}} / {{.Writes.Retried}} / {{.Writes.Rejected}}</td>
<td><ul class="o">{{range outcomes .Phase}}<li>{{.}}</li>{{end}}</ul></td>
</tr>
{{end}}</tbody>
</table>

{{if or .Targets.Met .Targets.Missed .Targets.NotMeasured}}<h2>Time to failover and to recovery</h2>
<table>
<thead><tr><th scope="col">Phase</th><th scope="col">Origin group</th><th scope="col" class="n" title="fault set → first success from {{.Secondary}}">Failover</th><th scope="col">Target</th><th scope="col" class="n" title="heal → first success from {{.Primary}}">Recovery</th><th scope="col">Target</th></tr></thead>
<tbody>
{{range .Phases}}{{$p := .}}{{range .Timings}}<tr>
<th scope="row">{{$p.Name}}</th><td>{{.Group}}</td>
<td class="n">{{measured .Failover}}<br>{{mark .Failover.Verdict}}</td>
<td><small>{{target .Failover}}: {{.Failover.Target}}{{with .Failover.Note}}<br><b>{{.}}</b>{{end}}</small></td>
<td class="n">{{measured .Recovery}}<br>{{mark .Recovery.Verdict}}</td>
<td><small>{{target .Recovery}}: {{.Recovery.Target}}{{with .Recovery.Note}}<br><b>{{.}}</b>{{end}}</small></td>
</tr>
{{end}}{{end}}</tbody>
</table>
{{end}}

<h2>How to read this</h2>
<ul class="notes">
<li>Every GET counts as succeeded only with status 200 and exactly the bytes the path holds; a truncated or foreign body is a failure.</li>
<li>A cache hit never reaches an origin, so it proves nothing about failover. The drill invalidates <code>/*</code> at each fault and heal ({{.Invalidations}} invalidations) and requests {{.Probes}} probe objects it uploaded to both buckets, each once, so they miss the cache by construction. "To origin" is the share of site GETs that reached an origin (X-Cache not Hit).</li>
<li>POSTs never fail over at CloudFront. Writes follow the app's rule: POST <code>/api/r/{{.Primary}}/messages</code>, and on failure retry once on <code>/api/r/{{.Secondary}}/messages</code> with the same id (the <code>/api/*</code> behaviour, bound to the origin group, allows only GET, HEAD and OPTIONS). Lost and duplicated are counted after the final heal, once both regions list the same messages.</li>
<li>Time to failover runs from the moment the switch has set the fault to the first complete success a viewer got from {{.Secondary}} through that origin group; time to recovery from the heal to the first success from {{.Primary}}. Only answers that reached an origin count. Each target is derived from the distribution's origin settings (connection attempts, connection and read timeouts, failover status codes); a missed target is marked, and does not fail the drill, since it times this machine as much as the edge.</li>
{{range .Notes}}<li>{{.}}</li>{{end}}
</ul>
</main>
</body>
</html>`))
