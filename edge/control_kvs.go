package edge

import (
	"net/http"
	"sync"
)

// kvsRegistry holds the KeyValueStores of the control API. The KeyValueStore
// operations (CreateKeyValueStore and the cloudfront-keyvaluestore data plane) are not
// served yet, so it is empty and a function can be associated with no store.
type kvsRegistry struct {
	mu    sync.Mutex
	items map[string]KVSReader // by ARN
}

// routesKVS registers the KeyValueStore operations: none yet (InvalidAction).
func (c *Control) routesKVS(m *http.ServeMux) {}

// checkKVSARNs refuses associations with stores that do not exist (EntityNotFound, as
// CloudFront answers for an unknown KeyValueStore ARN).
func (c *Control) checkKVSARNs(arns []string) error {
	c.stores.mu.Lock()
	defer c.stores.mu.Unlock()
	for _, a := range arns {
		if _, ok := c.stores.items[a]; !ok {
			return errorf(http.StatusNotFound, "EntityNotFound", "The key value store %s does not exist.", a)
		}
	}
	return nil
}

// kvsFor is the store a function associated with arns reads, nil for none.
func (c *Control) kvsFor(arns []string) KVSReader {
	if len(arns) == 0 {
		return nil
	}
	c.stores.mu.Lock()
	defer c.stores.mu.Unlock()
	return c.stores.items[arns[0]]
}
