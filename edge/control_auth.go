package edge

import "net/http"

// authenticate checks the request's SigV4 signature against the world's credentials.
// TODO(control): call VerifySigV4 from sigv4.go once it lands.
func (c *Control) authenticate(r *http.Request) error {
	return nil
}
