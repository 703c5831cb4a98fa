package edge

import "net/http"

type jsPool struct{}

func (e *Edge) runViewerRequest(w http.ResponseWriter, rs *reqState, fn *Function) bool {
	return false
}

func (e *Edge) runViewerResponse(h http.Header, rs *reqState, status int, body []byte) (int, []byte, bool) {
	return status, body, true
}
