package edge

// KeyValueStores in the control API.
//
// The CloudFront API's operations (restXml, SigV4 for "cloudfront"):
//
//	POST   /2020-05-31/key-value-store         CreateKeyValueStore
//	GET    /2020-05-31/key-value-store         ListKeyValueStores
//	GET    /2020-05-31/key-value-store/{Name}  DescribeKeyValueStore
//	PUT    /2020-05-31/key-value-store/{Name}  UpdateKeyValueStore (If-Match)
//	DELETE /2020-05-31/key-value-store/{Name}  DeleteKeyValueStore (If-Match)
//
// and the cloudfront-keyvaluestore data plane (restJson, SigV4A for
// "cloudfront-keyvaluestore", API reference "Amazon CloudFront KeyValueStore"):
//
//	GET    /key-value-stores/{KvsARN}             DescribeKeyValueStore
//	GET    /key-value-stores/{KvsARN}/keys        ListKeys (MaxResults, NextToken)
//	POST   /key-value-stores/{KvsARN}/keys        UpdateKeys (If-Match)
//	GET    /key-value-stores/{KvsARN}/keys/{Key}  GetKey
//	PUT    /key-value-stores/{KvsARN}/keys/{Key}  PutKey (If-Match)
//	DELETE /key-value-stores/{KvsARN}/keys/{Key}  DeleteKey (If-Match)
//
// Both are served on the control API's address (the data plane's SDK client takes it as
// its endpoint). Stores persist next to ControlOptions.StateFile, in kvs.json. An S3
// ImportSource is read through ControlOptions.ReadS3 (kvs_import.go); without it, refused.

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/google/uuid"

	"github.com/twinedge/twinedge/internal/sigv4"
)

// maxKVSStores is the quota of key value stores per account (DG cloudfront-limits).
const maxKVSStores = 50

var kvsNameRE = regexp.MustCompile(`^[a-zA-Z0-9-_]{1,64}$`)

// storedKVS is one store and its control-plane metadata.
type storedKVS struct {
	Name     string    `json:"name"`
	ID       string    `json:"id"`
	Comment  string    `json:"comment"`
	ETag     string    `json:"etag"` // of the resource (UpdateKeyValueStore / DeleteKeyValueStore)
	Created  time.Time `json:"created"`
	Modified time.Time `json:"modified"`
	// The data, as saved.
	DataETag string            `json:"dataEtag"`
	Data     map[string]string `json:"data"`

	store *KeyValueStore
}

func (s *storedKVS) arn() string {
	return "arn:aws:cloudfront::" + accountID + ":key-value-store/" + s.ID
}

func (s *storedKVS) doc() *types.KeyValueStore {
	return &types.KeyValueStore{ARN: aws.String(s.arn()), Comment: aws.String(s.Comment), Id: aws.String(s.ID),
		LastModifiedTime: aws.Time(s.Modified), Name: aws.String(s.Name), Status: aws.String("READY")}
}

// kvsRegistry holds the key value stores by name.
type kvsRegistry struct {
	mu    sync.Mutex
	items map[string]*storedKVS
	file  string // kvs.json; "" when not persisted
}

func (c *Control) routesKVS(m *http.ServeMux) {
	p := apiVersionPrefix + "/key-value-store"
	m.HandleFunc("POST "+p, c.createKVS)
	m.HandleFunc("GET "+p, c.listKVS)
	m.HandleFunc("GET "+p+"/{name}", c.describeKVS)
	m.HandleFunc("PUT "+p+"/{name}", c.updateKVS)
	m.HandleFunc("DELETE "+p+"/{name}", c.deleteKVS)

	d := http.NewServeMux()
	d.HandleFunc("GET /key-value-stores/{arn}", c.kvsDescribe)
	d.HandleFunc("GET /key-value-stores/{arn}/keys", c.kvsListKeys)
	d.HandleFunc("POST /key-value-stores/{arn}/keys", c.kvsUpdateKeys)
	d.HandleFunc("GET /key-value-stores/{arn}/keys/{key}", c.kvsGetKey)
	d.HandleFunc("PUT /key-value-stores/{arn}/keys/{key}", c.kvsPutKey)
	d.HandleFunc("DELETE /key-value-stores/{arn}/keys/{key}", c.kvsDeleteKey)
	d.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		kvsFail(w, &kvsError{404, "ResourceNotFoundException", "no such operation " + r.Method + " " + r.URL.Path})
	})
	c.kvsData = d
}

// kvsDataAuth is what a data-plane request's SigV4A signature must name.
var kvsDataAuth = sigv4.Rule{Service: "cloudfront-keyvaluestore", Regions: []string{"us-east-1"}, MaxBody: 8 << 20, ServerHashes: true}

// serveKVSData serves the cloudfront-keyvaluestore API, SigV4A-verified.
func (c *Control) serveKVSData(w http.ResponseWriter, r *http.Request) {
	if _, err := sigv4.VerifyV4A(r, c.opts.Credentials, kvsDataAuth, c.opts.Now()); err != nil {
		var se *sigv4.Error
		code, status := "AccessDeniedException", http.StatusForbidden
		if errors.As(err, &se) {
			code, status = se.Code, se.Status
		}
		c.opts.Logger.Info("cloudfront-keyvaluestore request refused", "method", r.Method, "path", r.URL.Path, "err", err)
		kvsFail(w, &kvsError{status, code, err.Error()})
		return
	}
	c.kvsData.ServeHTTP(w, r)
}

func kvsFail(w http.ResponseWriter, e *kvsError) {
	w.Header().Set("X-Amzn-Errortype", e.code)
	writeJSON(w, e.status, map[string]string{"message": e.msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// loadKVS reads kvs.json.
func (c *Control) loadKVS() error {
	if c.opts.StateFile == "" {
		return nil
	}
	c.stores.file = filepath.Join(filepath.Dir(c.opts.StateFile), "kvs.json")
	var items []*storedKVS
	if err := readJSONFile(c.stores.file, &items); err != nil {
		c.stores.file = ""
		return err
	}
	for _, s := range items {
		s.store = NewKeyValueStore(s.ID, s.Created)
		if s.Data == nil {
			s.Data = map[string]string{}
		}
		s.store.data, s.store.etag, s.store.modified = s.Data, s.DataETag, s.Modified
		for k, v := range s.Data {
			s.store.size += int64(len(k) + len(v))
		}
		c.stores.items[s.Name] = s
	}
	return nil
}

// saveKVS writes kvs.json; callers hold c.stores.mu.
func (c *Control) saveKVS() error {
	if c.stores.file == "" {
		return nil
	}
	items := make([]*storedKVS, 0, len(c.stores.items))
	for _, s := range c.stores.items {
		_, data, st := s.store.snapshot()
		s.Data, s.DataETag = data, st.ETag
		items = append(items, s)
	}
	slices.SortFunc(items, func(a, b *storedKVS) int { return a.Created.Compare(b.Created) })
	b, err := json.MarshalIndent(items, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(c.stores.file, b)
}

// checkKVSARNs refuses associations with stores that do not exist (EntityNotFound, as
// CloudFront answers for an unknown KeyValueStore ARN).
func (c *Control) checkKVSARNs(arns []string) error {
	for _, a := range arns {
		if c.kvsByARN(a) == nil {
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
	if s := c.kvsByARN(arns[0]); s != nil {
		return s.store
	}
	return nil
}

func (c *Control) kvsByARN(arn string) *storedKVS {
	c.stores.mu.Lock()
	defer c.stores.mu.Unlock()
	for _, s := range c.stores.items {
		if s.arn() == arn {
			return s
		}
	}
	return nil
}

// kvsInUse reports whether a function associates the store; callers do not hold
// c.stores.mu.
func (c *Control) kvsInUse(arn string) bool {
	c.functions.mu.Lock()
	defer c.functions.mu.Unlock()
	for _, f := range c.functions.items {
		if slices.Contains(f.Dev.KVS, arn) || f.Live != nil && slices.Contains(f.Live.KVS, arn) {
			return true
		}
	}
	return false
}

type kvsRequest struct {
	XMLName      xml.Name
	Name         string `xml:"Name"`
	Comment      string `xml:"Comment"`
	ImportSource *struct {
		SourceType string `xml:"SourceType"`
		SourceARN  string `xml:"SourceARN"`
	} `xml:"ImportSource"`
}

func readKVSRequest(r *http.Request, root string) (*kvsRequest, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	var req kvsRequest
	if err == nil {
		err = xml.Unmarshal(body, &req)
	}
	if err != nil || req.XMLName.Local != root {
		return nil, errorf(http.StatusBadRequest, "MalformedXML", "The document must be a %s.", root)
	}
	if len(req.Comment) > 128 {
		return nil, errorf(http.StatusBadRequest, "InvalidArgument", "Comment is at most 128 characters.")
	}
	return &req, nil
}

func (c *Control) createKVS(w http.ResponseWriter, r *http.Request) {
	req, err := readKVSRequest(r, "CreateKeyValueStoreRequest")
	if err == nil && !kvsNameRE.MatchString(req.Name) {
		err = errorf(http.StatusBadRequest, "InvalidArgument", "The key value store name must be 1-64 letters, digits, hyphens or underscores.")
	}
	var imported map[string]string
	if err == nil && req.ImportSource != nil {
		imported, err = c.importKVS(r.Context(), req.ImportSource.SourceType, req.ImportSource.SourceARN)
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.stores.mu.Lock()
	defer c.stores.mu.Unlock()
	if _, dup := c.stores.items[req.Name]; dup {
		c.fail(w, r, errorf(http.StatusConflict, "EntityAlreadyExists", "A key value store named %s already exists.", req.Name))
		return
	}
	if len(c.stores.items) >= maxKVSStores {
		c.fail(w, r, errorf(http.StatusBadRequest, "EntityLimitExceeded", "You have reached the maximum number of key value stores (50)."))
		return
	}
	now := c.now()
	s := &storedKVS{Name: req.Name, ID: uuid.NewString(), Comment: req.Comment, ETag: mustID('E', 13), Created: now, Modified: now}
	s.store = NewKeyValueStore(s.ID, now)
	if len(imported) > 0 {
		if _, err := s.store.Update(s.store.state().ETag, imported, nil, now); err != nil {
			c.fail(w, r, errorf(http.StatusBadRequest, "EntitySizeLimitExceeded", "The import source does not fit in a key value store: %v", err))
			return
		}
	}
	c.stores.items[s.Name] = s
	if err := c.saveKVS(); err != nil {
		delete(c.stores.items, s.Name)
		c.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", s.ETag)
	w.Header().Set("Location", "https://cloudfront.amazonaws.com"+apiVersionPrefix+"/key-value-store/"+s.arn())
	c.writeDoc(w, r, http.StatusCreated, "KeyValueStore", s.doc())
}

// importKVS reads the keys of an ImportSource (kvs_import.go).
func (c *Control) importKVS(ctx context.Context, sourceType, arn string) (map[string]string, error) {
	if sourceType != "S3" {
		return nil, errorf(http.StatusBadRequest, "InvalidArgument", "ImportSource.SourceType must be S3, not %q.", sourceType)
	}
	bucket, key, err := parseS3ObjectARN(arn)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "InvalidArgument", "ImportSource.SourceARN: %v.", err)
	}
	if c.opts.ReadS3 == nil {
		return nil, errorf(http.StatusBadRequest, "UnsupportedOperation", "This control API has no S3 to import a key value store from; create it empty and put the keys with UpdateKeys.")
	}
	data, err := c.opts.ReadS3(ctx, bucket, key, MaxKVSImport)
	if err != nil {
		// DG kvs-with-functions-create: without s3:GetObject on the file, "CloudFront can't
		// successfully create your key value store".
		return nil, errorf(http.StatusForbidden, "AccessDenied", "CloudFront cannot read the import source s3://%s/%s: %v", bucket, key, err)
	}
	kv, err := ParseKVSImport(data)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "InvalidArgument", "The import source s3://%s/%s is not a valid file of key-value pairs: %v", bucket, key, err)
	}
	return kv, nil
}

func (c *Control) lookupKVS(r *http.Request) (*storedKVS, error) {
	s, ok := c.stores.items[r.PathValue("name")]
	if !ok {
		return nil, errorf(http.StatusNotFound, "EntityNotFound", "The key value store %s does not exist.", r.PathValue("name"))
	}
	return s, nil
}

func (c *Control) describeKVS(w http.ResponseWriter, r *http.Request) {
	c.stores.mu.Lock()
	defer c.stores.mu.Unlock()
	s, err := c.lookupKVS(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", s.ETag)
	c.writeDoc(w, r, http.StatusOK, "KeyValueStore", s.doc())
}

func (c *Control) listKVS(w http.ResponseWriter, r *http.Request) {
	c.stores.mu.Lock()
	defer c.stores.mu.Unlock()
	list := &types.KeyValueStoreList{MaxItems: aws.Int32(100), Items: []types.KeyValueStore{}}
	for _, n := range slices.Sorted(func(yield func(string) bool) {
		for n := range c.stores.items {
			if !yield(n) {
				return
			}
		}
	}) {
		if n > r.URL.Query().Get("Marker") {
			list.Items = append(list.Items, *c.stores.items[n].doc())
		}
	}
	list.Quantity = aws.Int32(int32(len(list.Items)))
	c.writeDoc(w, r, http.StatusOK, "KeyValueStoreList", list)
}

func (c *Control) updateKVS(w http.ResponseWriter, r *http.Request) {
	req, err := readKVSRequest(r, "UpdateKeyValueStoreRequest")
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.stores.mu.Lock()
	defer c.stores.mu.Unlock()
	s, err := c.lookupKVS(r)
	if err == nil {
		err = ifMatch(r, s.ETag)
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	s.Comment, s.ETag, s.Modified = req.Comment, mustID('E', 13), c.now()
	if err := c.saveKVS(); err != nil {
		c.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", s.ETag)
	c.writeDoc(w, r, http.StatusOK, "KeyValueStore", s.doc())
}

func (c *Control) deleteKVS(w http.ResponseWriter, r *http.Request) {
	// The functions are checked first, without c.stores.mu: the functions' handlers take
	// c.functions.mu and then c.stores.mu, never the other way round.
	c.stores.mu.Lock()
	s, err := c.lookupKVS(r)
	c.stores.mu.Unlock()
	if err == nil && c.kvsInUse(s.arn()) {
		err = errorf(http.StatusConflict, "CannotDeleteEntityWhileInUse", "The key value store %s is associated with a function.", s.Name)
	}
	c.stores.mu.Lock()
	defer c.stores.mu.Unlock()
	if err == nil {
		s, err = c.lookupKVS(r)
	}
	if err == nil {
		err = ifMatch(r, s.ETag)
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	delete(c.stores.items, s.Name)
	if err := c.saveKVS(); err != nil {
		c.stores.items[s.Name] = s
		c.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// --- the cloudfront-keyvaluestore data plane ---

// dataStore is the store a data-plane path names by ARN.
func (c *Control) dataStore(w http.ResponseWriter, r *http.Request) *storedKVS {
	s := c.kvsByARN(r.PathValue("arn"))
	if s == nil {
		kvsFail(w, &kvsError{404, "ResourceNotFoundException", "no key value store " + r.PathValue("arn")})
	}
	return s
}

func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func (c *Control) kvsDescribe(w http.ResponseWriter, r *http.Request) {
	s := c.dataStore(w, r)
	if s == nil {
		return
	}
	_, _, st := s.store.snapshot()
	m := s.store.Meta()
	w.Header().Set("ETag", st.ETag)
	writeJSON(w, http.StatusOK, map[string]any{"KvsARN": s.arn(), "ItemCount": st.Items, "TotalSizeInBytes": st.Size,
		"Created": epoch(m.Created), "LastModified": epoch(m.LastUpdated), "Status": "READY"})
}

func (c *Control) kvsGetKey(w http.ResponseWriter, r *http.Request) {
	s := c.dataStore(w, r)
	if s == nil {
		return
	}
	key := r.PathValue("key")
	v, ok := s.store.Get(key)
	if !ok {
		kvsFail(w, &kvsError{404, "ResourceNotFoundException", "no key " + key})
		return
	}
	_, _, st := s.store.snapshot()
	writeJSON(w, http.StatusOK, map[string]any{"Key": key, "Value": v, "ItemCount": st.Items, "TotalSizeInBytes": st.Size})
}

func (c *Control) kvsListKeys(w http.ResponseWriter, r *http.Request) {
	s := c.dataStore(w, r)
	if s == nil {
		return
	}
	max := 50
	if v := r.URL.Query().Get("MaxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 50 {
			kvsFail(w, &kvsError{400, "ValidationException", "MaxResults must be 1-50"})
			return
		}
		max = n
	}
	keys, data, _ := s.store.snapshot()
	after := r.URL.Query().Get("NextToken")
	items := []map[string]string{}
	next := ""
	for _, k := range keys {
		if after != "" && k <= after {
			continue
		}
		if len(items) == max {
			next = items[len(items)-1]["Key"]
			break
		}
		items = append(items, map[string]string{"Key": k, "Value": data[k]})
	}
	out := map[string]any{"Items": items}
	if next != "" {
		out["NextToken"] = next
	}
	writeJSON(w, http.StatusOK, out)
}

// change applies puts and deletes under If-Match and answers the store's new state.
func (c *Control) kvsChange(w http.ResponseWriter, r *http.Request, puts map[string]string, deletes []string) {
	s := c.dataStore(w, r)
	if s == nil {
		return
	}
	ifm := r.Header.Get("If-Match")
	if ifm == "" {
		kvsFail(w, &kvsError{400, "ValidationException", "If-Match is required"})
		return
	}
	st, err := s.store.Update(ifm, puts, deletes, c.now())
	var ke *kvsError
	if errors.As(err, &ke) {
		kvsFail(w, ke)
		return
	}
	c.stores.mu.Lock()
	err = c.saveKVS()
	c.stores.mu.Unlock()
	if err != nil {
		kvsFail(w, &kvsError{500, "InternalServerException", err.Error()})
		return
	}
	w.Header().Set("ETag", st.ETag)
	writeJSON(w, http.StatusOK, map[string]any{"ItemCount": st.Items, "TotalSizeInBytes": st.Size})
}

func (c *Control) kvsPutKey(w http.ResponseWriter, r *http.Request) {
	var body struct{ Value *string }
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&body); err != nil || body.Value == nil {
		kvsFail(w, &kvsError{400, "ValidationException", "the body must be {\"Value\": string}"})
		return
	}
	c.kvsChange(w, r, map[string]string{r.PathValue("key"): *body.Value}, nil)
}

func (c *Control) kvsDeleteKey(w http.ResponseWriter, r *http.Request) {
	s := c.dataStore(w, r)
	if s == nil {
		return
	}
	if _, ok := s.store.Get(r.PathValue("key")); !ok {
		kvsFail(w, &kvsError{404, "ResourceNotFoundException", "no key " + r.PathValue("key")})
		return
	}
	c.kvsChange(w, r, nil, []string{r.PathValue("key")})
}

func (c *Control) kvsUpdateKeys(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Puts    []struct{ Key, Value *string }
		Deletes []struct{ Key *string }
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 8<<20)).Decode(&body); err != nil {
		kvsFail(w, &kvsError{400, "ValidationException", "the body is not an UpdateKeys document"})
		return
	}
	puts := map[string]string{}
	for _, p := range body.Puts {
		if p.Key == nil || p.Value == nil {
			kvsFail(w, &kvsError{400, "ValidationException", "each put needs Key and Value"})
			return
		}
		if _, dup := puts[*p.Key]; dup {
			kvsFail(w, &kvsError{400, "ValidationException", "key " + *p.Key + " is put twice"})
			return
		}
		puts[*p.Key] = *p.Value
	}
	var deletes []string
	for _, d := range body.Deletes {
		if d.Key == nil {
			kvsFail(w, &kvsError{400, "ValidationException", "each delete needs Key"})
			return
		}
		if _, both := puts[*d.Key]; both {
			kvsFail(w, &kvsError{400, "ValidationException", "key " + *d.Key + " is both put and deleted"})
			return
		}
		deletes = append(deletes, *d.Key)
	}
	c.kvsChange(w, r, puts, deletes)
}

// isKVSData reports whether r is a cloudfront-keyvaluestore request.
func isKVSData(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/key-value-stores/") }
