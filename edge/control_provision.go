package edge

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/google/uuid"
)

// EnsureKeyValueStore returns the ARN of the key value store named name, creating it
// empty when there is none: what a stack's AWS::CloudFront::KeyValueStore does. A
// local world calls it at start for the stores its distribution's functions read; the
// store is then like one made with CreateKeyValueStore (listed, persisted, and served
// by the cloudfront-keyvaluestore API).
func (c *Control) EnsureKeyValueStore(name, comment string) (string, error) {
	if !kvsNameRE.MatchString(name) || len(comment) > 128 {
		return "", fmt.Errorf("key value store %q: invalid name or comment", name)
	}
	c.stores.mu.Lock()
	defer c.stores.mu.Unlock()
	if s, ok := c.stores.items[name]; ok {
		return s.arn(), nil
	}
	if len(c.stores.items) >= maxKVSStores {
		return "", fmt.Errorf("key value store %s: the account has the most stores CloudFront allows (%d)", name, maxKVSStores)
	}
	now := c.now()
	s := &storedKVS{Name: name, ID: uuid.NewString(), Comment: comment, ETag: mustID('E', 13), Created: now, Modified: now}
	s.store = NewKeyValueStore(s.ID, now)
	c.stores.items[name] = s
	if err := c.saveKVS(); err != nil {
		delete(c.stores.items, name)
		return "", err
	}
	return s.arn(), nil
}

// EnsureFunction makes the function named name hold code (runtime cloudfront-js-2.0)
// associated with the stores kvsARNs, in both its DEVELOPMENT and LIVE stages, and
// hands the LIVE stage to the edge: what a stack's AWS::CloudFront::Function with
// AutoPublish does. A function that already holds exactly that is left as it is, ETags
// included. The code is checked as CreateFunction checks it.
func (c *Control) EnsureFunction(name, comment string, code []byte, kvsARNs []string) error {
	if !functionNameRE.MatchString(name) || len(comment) > 128 {
		return fmt.Errorf("function %q: invalid name or comment", name)
	}
	if len(code) == 0 || len(code) > MaxFunctionSize {
		return fmt.Errorf("function %s: the code is %d bytes; CloudFront takes 1 to %d", name, len(code), MaxFunctionSize)
	}
	if len(kvsARNs) > 1 {
		return fmt.Errorf("function %s: a function can be associated with one key value store", name)
	}
	if err := c.checkKVSARNs(kvsARNs); err != nil {
		return err
	}
	host, ok := c.d.(functionHost)
	if !ok {
		return fmt.Errorf("function %s: this control API serves no edge that runs functions", name)
	}
	runtime := string(types.FunctionRuntimeCloudfrontJs20)
	c.functions.mu.Lock()
	defer c.functions.mu.Unlock()
	f, exists := c.functions.items[name]
	same := func(s *functionStage) bool {
		return s != nil && bytes.Equal(s.Code, code) && s.Runtime == runtime && s.Comment == comment && slices.Equal(s.KVS, kvsARNs)
	}
	if exists && same(&f.Dev) && same(f.Live) {
		return nil // loadFunctions has published it already
	}
	if !exists && len(c.functions.items) >= maxFunctions {
		return fmt.Errorf("function %s: the account has the most functions CloudFront allows (%d)", name, maxFunctions)
	}
	now := c.now()
	stage := functionStage{Code: code, ETag: mustID('E', 13), Modified: now, Comment: comment, Runtime: runtime, KVS: kvsARNs}
	next := &storedFunction{Name: name, Created: now, Dev: stage}
	if exists {
		next.Created = f.Created
	}
	live := stage
	live.ETag = mustID('E', 13)
	next.Live = &live
	if err := host.PutFunction(next.liveFunction(c)); err != nil {
		return errorf(http.StatusBadRequest, "InvalidArgument", "The function %s cannot be published: %v.", name, err)
	}
	c.functions.items[name] = next
	if err := c.saveFunctions(); err != nil {
		return err
	}
	return nil
}
