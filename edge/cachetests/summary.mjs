// Summarise a cache-tests run of the edge beside the suite's published results.
//
//   node summary.mjs SUITE ENGINE RESULTS.json EXPECTED.json
//
// Counting is the suite's own: determineTestResult from its lib/results.mjs, over the
// tests of its tests/index.mjs (without the browser_only ones). "site view" honours depends_on as cache-tests.fyi does
// (a test whose dependency failed is a dependency failure); "alone" judges each test on
// its own result. A required test that is not a pass in the site view must be listed in
// EXPECTED.json (with the CloudFront documentation that explains it), or fail only
// through dependencies that are listed. Exit status 1 when any is unexplained.
import fs from 'fs'
import path from 'path'
import { pathToFileURL } from 'url'

const [suite, engine, resultsFile, expectedFile] = process.argv.slice(2)
const load = p => import(pathToFileURL(p).href)
const tests = (await load(path.join(suite, 'tests', 'index.mjs'))).default
// The checkout has lib/results.mjs; the npm package 0.4.5 has the same function in
// lib/display.mjs, without exporting its result types, so results are told apart by
// their symbol (the third element of each result type).
const resultsLib = ['results.mjs', 'display.mjs'].map(f => path.join(engine, 'lib', f)).find(f => fs.existsSync(f))
const { determineTestResult } = await load(resultsLib)
const symbol = { pass: '✅', yes: 'Y', dependencyFail: '⚪️' }

const edge = JSON.parse(fs.readFileSync(resultsFile, 'utf8'))
const expected = new Map(JSON.parse(fs.readFileSync(expectedFile, 'utf8')).failures.flatMap(f => f.ids.map(id => [id, f])))
const peers = [['nginx', 'nginx.json'], ['Varnish', 'varnish.json'], ['Fastly', 'fastly.json']]
  .map(([name, file]) => [name, path.join(suite, 'results', file)])
  .filter(([, file]) => fs.existsSync(file))
  .map(([name, file]) => [name, JSON.parse(fs.readFileSync(file, 'utf8'))])

// Tests only a browser can run are left out, as on cache-tests.fyi for proxies.
const all = tests.flatMap(s => s.tests).filter(t => !t.browser_only)
const kindOf = t => t.kind || 'required'
const passed = r => r[2] === symbol.pass || r[2] === symbol.yes

function totals (results, honour) {
  const t = { required: 0, optimal: 0, check: 0 }
  for (const test of all) {
    if (passed(determineTestResult(tests, test.id, results, honour))) t[kindOf(test)]++
  }
  return t
}
const size = { required: 0, optimal: 0, check: 0 }
for (const test of all) size[kindOf(test)]++

const rows = [['edge (site view)', totals(edge, true)], ['edge (alone)', totals(edge, false)]]
for (const [name, results] of peers) rows.push([name + ' (site view)', totals(results, true)])
console.log(`${'target'.padEnd(22)}${'required'.padStart(12)}${'optimal'.padStart(12)}${'check'.padStart(12)}`)
for (const [name, t] of rows) {
  const cell = k => `${t[k]}/${size[k]}`.padStart(12)
  console.log(`${name.padEnd(22)}${cell('required')}${cell('optimal')}${cell('check')}`)
}

// A required test that is not a pass must be explained.
const unexplained = []
const explained = []
for (const test of all.filter(t => kindOf(t) === 'required')) {
  const site = determineTestResult(tests, test.id, edge, true)
  if (passed(site)) continue
  if (expected.has(test.id)) {
    explained.push(test.id)
    continue
  }
  if (site[2] === symbol.dependencyFail) {
    const failedDeps = (test.depends_on || []).filter(d => !passed(determineTestResult(tests, d, edge, true)))
    if (failedDeps.every(d => expected.has(d))) {
      explained.push(test.id)
      continue
    }
  }
  const detail = Array.isArray(edge[test.id]) ? edge[test.id].slice(0, 2).join(': ') : String(edge[test.id])
  unexplained.push(`${test.id} (${site[2]}) ${detail}`)
}
const stale = [...expected.keys()].filter(id => all.some(t => t.id === id) && passed(determineTestResult(tests, id, edge, true)))
console.log(`\nrequired failures explained by expected-failures.json: ${explained.length}`)
if (stale.length) console.log(`listed as expected failures but passing now: ${stale.join(', ')}`)
console.log(`unexplained required failures: ${unexplained.length}`)
for (const u of unexplained) console.log('  ' + u)
process.exit(unexplained.length ? 1 : 0)
