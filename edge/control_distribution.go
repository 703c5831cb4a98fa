package edge

import "net/http"

// routesDistribution registers the distribution operations under prefix p.
func (c *Control) routesDistribution(m *http.ServeMux, p string) {}
