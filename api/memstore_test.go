package api_test

import (
	"testing"

	"github.com/twinedge/twinedge/api"
	"github.com/twinedge/twinedge/api/storetest"
)

func TestMemoryStoreContract(t *testing.T) {
	storetest.Run(t, func(*testing.T) api.Store { return api.NewMemoryStore() })
}
