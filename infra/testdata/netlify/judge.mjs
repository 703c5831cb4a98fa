// Netlify's own redirect parser and engine as a judge of twinedge's redirects
// (infra/netlify_test.go). Reads on stdin [{"rules": "<_redirects>", "paths": ["/a?q=1", …]}]
// and writes, for each case, what @netlify/redirect-parser parsed and what
// @netlify/redirects' RedirectsHandler answers for each path (the engine `netlify dev` runs).
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedirectsHandler } from '@netlify/redirects';
import { parseAllRedirects } from '@netlify/redirect-parser';

const input = JSON.parse(await new Promise((resolve) => {
  let s = '';
  process.stdin.on('data', (d) => (s += d));
  process.stdin.on('end', () => resolve(s));
}));
const out = [];
for (const c of input) {
  const dir = mkdtempSync(join(tmpdir(), 'netlify-judge-'));
  try {
    writeFileSync(join(dir, '_redirects'), c.rules);
    const parsed = await parseAllRedirects({ redirectsFiles: [join(dir, '_redirects')], minimal: false });
    const rules = parsed.redirects.map((r) => ({ from: r.from, to: r.to, status: r.status ?? 301, force: !!r.force }));
    const errors = parsed.errors.map((e) => String(e.message ?? e));
    const matches = [];
    const h = new RedirectsHandler({ projectDir: dir, publicDir: dir, configRedirects: [], jwtRoleClaim: '', jwtSecret: '' });
    for (const p of c.paths) {
      const m = await h.match(new Request('https://site.example' + p));
      if (!m || !m.redirect) {
        matches.push(null);
        continue;
      }
      matches.push({ status: m.statusCode, location: m.external ? m.target.href : m.targetRelative });
    }
    out.push({ rules, errors, matches });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
process.stdout.write(JSON.stringify(out));
