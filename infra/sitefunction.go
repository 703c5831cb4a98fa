package infra

import (
	"strings"

	"github.com/twinedge/twinedge/edge"
)

// SiteFunctionName is the viewer-request function of the site behaviours: it answers
// the site's redirects from the redirect store and otherwise rewrites deep links to
// the app shell. CloudFront runs one function per event type on a behaviour
// (DG edge-functions-restrictions, "one function of each type per cache behavior"),
// so both jobs are one function. On AWS the stack prefixes the name with its own
// (infra/aws); locally it is the name the world publishes.
const SiteFunctionName = "twinedge-site-request"

// RedirectStoreName is the KeyValueStore the release writes the site's redirects to
// (build/redirects.go), associated with the site function.
const RedirectStoreName = "twinedge-redirects"

// SiteFunctionJS is the cloudfront-js-2.0 source of the site function, deployed as is
// to AWS and run as is by the local edge. It reads the store it is associated with
// through cf.kvs(), opened in the first lines and read with sequential awaits as DG
// functions-custom-methods ("Helper methods for key value stores") asks, exists() before
// get() because get() of a missing key rejects: the key is the rule's FROM
// ("/old", or "/news/*" for a splat) and the value "<status> <target>"
// (build.Redirect.Entry). A request tries its path, then each splat prefix from the
// longest; the release refuses rule sets where Netlify's first-match order would
// pick another rule. A redirect is a response from the viewer-request function, which
// CloudFront returns "without checking the CloudFront cache or sending the request to
// the origin" (DG function-code-choose-purpose), so it is never cached at the edge. No
// rule: the SPA rewrite (edge.SPARewriteJS, the same source) decides the URI.
var SiteFunctionJS = siteFunctionPrefix +
	strings.Replace(edge.SPARewriteJS, "function handler(event)", "function spaRewrite(event)", 1)

const siteFunctionPrefix = `import cf from 'cloudfront';

const kvs = cf.kvs();
const reasons = { 301: 'Moved Permanently', 302: 'Found', 307: 'Temporary Redirect', 308: 'Permanent Redirect' };

async function handler(event) {
    var redirect = await findRedirect(event.request);
    return redirect || spaRewrite(event);
}

// ruleFor returns the value stored under key, or null. Most requests match no rule:
// exists() answers them without the rejection a get() of a missing key costs.
async function ruleFor(key) {
    if (key.length > 512 || !(await kvs.exists(key))) {
        return null;
    }
    return await kvs.get(key);
}

async function findRedirect(request) {
    var path = request.uri;
    if (path.length > 1 && path.endsWith('/')) {
        path = path.slice(0, -1);
    }
    var value = null;
    var splat = '';
    if (!path.endsWith('/*')) {
        value = await ruleFor(path);
    }
    if (value === null && path !== '/') {
        value = await ruleFor(path + '/*');
    }
    for (var i = path.length - 1; value === null && i >= 0; i--) {
        if (path[i] === '/') {
            value = await ruleFor(path.slice(0, i + 1) + '*');
            splat = path.slice(i + 1);
        }
    }
    if (value === null) {
        return null;
    }
    var space = value.indexOf(' ');
    var status = parseInt(value.slice(0, space), 10);
    var location = value.slice(space + 1).split(':splat').join(splat);
    // Netlify passes the query string on (the release refuses targets with their own).
    var query = queryString(request.querystring);
    if (query !== '') {
        location += '?' + query;
    }
    return { statusCode: status, statusDescription: reasons[status], headers: { location: { value: location } } };
}

function queryString(qs) {
    var parts = [];
    for (var name in qs) {
        var values = qs[name].multiValue || [qs[name]];
        for (var j = 0; j < values.length; j++) {
            parts.push(encodeURIComponent(name) + '=' + encodeURIComponent(values[j].value));
        }
    }
    return parts.join('&');
}

`
