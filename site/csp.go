package site

// ContentSecurityPolicy is the policy the pages are built to satisfy: scripts, styles,
// images and API calls from the site's own origin only, no inline script or style, no
// plugins, no framing. The deploy sends it from the distribution's response headers policy
// (infra/aws), and the browser tests serve it and fail on any violation, so a page that
// needs more cannot ship unnoticed. The board's constructed style sheet needs no
// 'unsafe-inline' (board.js).
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
