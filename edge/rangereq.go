package edge

import "net/http"

// conditionalAndRange answers viewer conditional and Range requests from a full 200 entry.
func (e *Edge) conditionalAndRange(w http.ResponseWriter, rs *reqState, h http.Header, ent *entry, body []byte) (int, []byte, bool) {
	return http.StatusOK, body, false
}
