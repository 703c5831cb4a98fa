// Package fnapi is the contract between the edge and a CloudFront Functions runtime:
// what the edge gives one run (Env) and what the run gives back (Result). It has no
// dependencies, so the edge can name these types without compiling a JavaScript engine
// (edge/jsfunc implements Program with goja).
package fnapi

import (
	"encoding/json"
	"time"
)

// Program is compiled function code.
type Program interface {
	// Run calls the handler on the JSON event. The Result is never nil: a failed run
	// still reports its logs and compute utilization, as TestFunction does.
	Run(event []byte, env Env) (*Result, error)
}

// Env is what the edge offers one run.
type Env struct {
	// Now is what Date returns for the whole run: CloudFront freezes time at the start
	// of the function (DG functions-javascript-runtime-20, "Restricted features").
	Now time.Time
	// KVS is the key value store associated with the function, nil when none is.
	KVS KVS
	// EventType is the event's context.eventType ("viewer-request" or
	// "viewer-response"); the origin helpers work in viewer-request functions only.
	EventType string
}

// KVS is read access to a CloudFront KeyValueStore (DG kvs-with-functions-kvs-helper).
type KVS interface {
	// ID is the store's id (the last element of its ARN).
	ID() string
	// Get returns the value of key; found is false when the store has no such key.
	Get(key string) (value string, found bool)
	// Meta describes the store as kvsHandle.meta() reports it.
	Meta() KVSMeta
}

// KVSMeta is what kvsHandle.meta() resolves to.
type KVSMeta struct {
	Created     time.Time
	LastUpdated time.Time
	KeyCount    int
}

// Result is the outcome of one run.
type Result struct {
	// Output is the JSON of what the handler returned (a promise is awaited).
	Output []byte
	// Logs are the console lines, truncated at 10 KB in total
	// (DG cloudfront-function-restrictions, "Logs").
	Logs []string
	// ComputeUtilization is the share of the compute budget the run used, 0–100
	// (DG cloudfront-function-restrictions, "Compute utilization").
	ComputeUtilization int
	// Origin lists the origin changes the run asked for with the helper methods of the
	// 'cloudfront' module, in call order (DG helper-functions-origin-modification).
	Origin []OriginChange
}

// OriginChange is one call of cf.updateRequestOrigin, cf.selectRequestOriginById or
// cf.createRequestOriginGroup.
type OriginChange struct {
	// Method is "updateRequestOrigin", "selectRequestOriginById" or "createRequestOriginGroup".
	Method string
	// ID is the origin id given to selectRequestOriginById.
	ID string
	// Params is the JSON of the object argument (updateRequestOrigin,
	// createRequestOriginGroup, or selectRequestOriginById's optional second argument).
	Params json.RawMessage
}
