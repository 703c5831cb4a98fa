package edge

// The CloudFront Functions operations of the control API (CloudFront API 2020-05-31, as
// the aws-sdk-go-v2 serializers send them):
//
//	POST   /2020-05-31/function                  CreateFunction
//	GET    /2020-05-31/function                  ListFunctions    (?Stage, Marker, MaxItems)
//	GET    /2020-05-31/function/{Name}           GetFunction      (?Stage): the code
//	GET    /2020-05-31/function/{Name}/describe  DescribeFunction (?Stage)
//	PUT    /2020-05-31/function/{Name}           UpdateFunction   (If-Match: the DEVELOPMENT ETag)
//	POST   /2020-05-31/function/{Name}/publish   PublishFunction  (If-Match: the DEVELOPMENT ETag)
//	POST   /2020-05-31/function/{Name}/test      TestFunction     (If-Match: the tested stage's ETag)
//	DELETE /2020-05-31/function/{Name}           DeleteFunction   (If-Match)
//
// A function has a DEVELOPMENT stage, which UpdateFunction changes, and once published a
// LIVE stage, which is what a distribution runs (spec/cloudfront.md §3.4): publishing
// hands the code to the edge (Edge.PutFunction), so a distribution that associates it,
// now or by a later UpdateDistribution, serves it on the next request. Each stage has its
// own ETag. Functions persist next to ControlOptions.StateFile, in functions.json.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

// functionHost is what the Functions API needs of the data plane; *Edge implements it.
type functionHost interface {
	PutFunction(fn *Function) error
	RemoveFunction(name string)
	TestFunction(fn *Function, event []byte, kvs KVSReader) (*FunctionTestResult, error)
}

// maxFunctions is CloudFront's quota of functions per account (DG cloudfront-limits).
const maxFunctions = 100

// maxTestEvent is the largest TestFunction event object: 40 KB (API TestFunction,
// EventObject).
const maxTestEvent = 40 * 1024

var functionNameRE = regexp.MustCompile(`^[a-zA-Z0-9-_]{1,64}$`)

// storedFunction is one function and its stages.
type storedFunction struct {
	Name    string         `json:"name"`
	Comment string         `json:"comment"`
	Runtime string         `json:"runtime"`
	KVS     []string       `json:"kvs,omitempty"` // KeyValueStore ARNs
	Created time.Time      `json:"created"`
	Dev     functionStage  `json:"development"`
	Live    *functionStage `json:"live,omitempty"`
}

type functionStage struct {
	Code     []byte    `json:"code"`
	ETag     string    `json:"etag"`
	Modified time.Time `json:"modified"`
	// Comment, Runtime and KVS as of this stage (a published stage keeps its own).
	Comment string   `json:"comment"`
	Runtime string   `json:"runtime"`
	KVS     []string `json:"kvs,omitempty"`
}

type functionRegistry struct {
	mu    sync.Mutex
	items map[string]*storedFunction
	file  string // functions.json; "" when not persisted
}

func (c *Control) routesFunctions(m *http.ServeMux) {
	p := apiVersionPrefix + "/function"
	m.HandleFunc("POST "+p, c.createFunction)
	m.HandleFunc("GET "+p, c.listFunctions)
	m.HandleFunc("GET "+p+"/{name}", c.getFunction)
	m.HandleFunc("GET "+p+"/{name}/describe", c.describeFunction)
	m.HandleFunc("PUT "+p+"/{name}", c.updateFunction)
	m.HandleFunc("POST "+p+"/{name}/publish", c.publishFunction)
	m.HandleFunc("POST "+p+"/{name}/test", c.testFunction)
	m.HandleFunc("DELETE "+p+"/{name}", c.deleteFunction)
}

// loadFunctions reads functions.json and publishes the LIVE stages to the edge again.
func (c *Control) loadFunctions() error {
	if c.opts.StateFile == "" {
		return nil
	}
	c.functions.file = filepath.Join(filepath.Dir(c.opts.StateFile), "functions.json")
	var items []*storedFunction
	if err := readJSONFile(c.functions.file, &items); err != nil {
		c.functions.file = "" // never overwrite what could not be read
		return fmt.Errorf("functions state: %w", err)
	}
	host, _ := c.d.(functionHost)
	for _, f := range items {
		c.functions.items[f.Name] = f
		if f.Live != nil && host != nil {
			if err := host.PutFunction(f.liveFunction(c)); err != nil {
				c.opts.Logger.Error("published function not loaded", "function", f.Name, "err", err)
			}
		}
	}
	return nil
}

func (c *Control) saveFunctions() error {
	if c.functions.file == "" {
		return nil
	}
	items := make([]*storedFunction, 0, len(c.functions.items))
	for _, f := range c.functions.items {
		items = append(items, f)
	}
	slices.SortFunc(items, func(a, b *storedFunction) int { return a.Created.Compare(b.Created) })
	b, err := json.MarshalIndent(items, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(c.functions.file, b)
}

func (f *storedFunction) arn() string {
	return "arn:aws:cloudfront::" + accountID + ":function/" + f.Name
}

// liveFunction is the edge's Function for the LIVE stage.
func (f *storedFunction) liveFunction(c *Control) *Function {
	return &Function{Name: f.Name, Runtime: f.Live.Runtime, Code: string(f.Live.Code), KVS: c.kvsFor(f.Live.KVS)}
}

// stage returns the stage a Stage parameter names ("" = DEVELOPMENT).
func (f *storedFunction) stage(name string) (*functionStage, error) {
	switch name {
	case "", string(types.FunctionStageDevelopment):
		return &f.Dev, nil
	case string(types.FunctionStageLive):
		if f.Live == nil {
			return nil, errorf(http.StatusNotFound, "NoSuchFunctionExists", "The function %s has not been published.", f.Name)
		}
		return f.Live, nil
	}
	return nil, errorf(http.StatusBadRequest, "InvalidArgument", "Stage must be DEVELOPMENT or LIVE.")
}

// summary is the FunctionSummary of a stage. Status: UNPUBLISHED until published, then
// DEPLOYED while the distribution associates the function, UNASSOCIATED otherwise.
func (c *Control) functionSummary(f *storedFunction, s *functionStage) *types.FunctionSummary {
	stage, status := types.FunctionStageDevelopment, "UNPUBLISHED"
	if s == f.Live {
		stage = types.FunctionStageLive
	}
	if f.Live != nil && (s == f.Live || s.ETag == f.Live.ETag) {
		status = "UNASSOCIATED"
		if Associates(c.d.Config(), f.Name) {
			status = "DEPLOYED"
		}
	}
	cfg := &types.FunctionConfig{Comment: aws.String(s.Comment), Runtime: types.FunctionRuntime(s.Runtime)}
	if len(s.KVS) > 0 {
		items := make([]types.KeyValueStoreAssociation, len(s.KVS))
		for i, a := range s.KVS {
			items[i] = types.KeyValueStoreAssociation{KeyValueStoreARN: aws.String(a)}
		}
		cfg.KeyValueStoreAssociations = &types.KeyValueStoreAssociations{Quantity: aws.Int32(int32(len(items))), Items: items}
	}
	return &types.FunctionSummary{
		Name: aws.String(f.Name), Status: aws.String(status), FunctionConfig: cfg,
		FunctionMetadata: &types.FunctionMetadata{FunctionARN: aws.String(f.arn()), Stage: stage,
			CreatedTime: aws.Time(f.Created), LastModifiedTime: aws.Time(s.Modified)},
	}
}

// functionRequest is the body of CreateFunction and UpdateFunction.
type functionRequest struct {
	XMLName        xml.Name
	Name           string `xml:"Name"`
	FunctionConfig *struct {
		Comment                   string `xml:"Comment"`
		Runtime                   string `xml:"Runtime"`
		KeyValueStoreAssociations *struct {
			Quantity int      `xml:"Quantity"`
			Items    []string `xml:"Items>KeyValueStoreAssociation>KeyValueStoreARN"`
		} `xml:"KeyValueStoreAssociations"`
	} `xml:"FunctionConfig"`
	FunctionCode string `xml:"FunctionCode"` // base64
}

// readFunctionRequest decodes and checks a Create/UpdateFunction body, whose root
// element is root, and the key value stores it associates.
func (c *Control) readFunctionRequest(r *http.Request, root string) (*functionRequest, []byte, error) {
	req, code, err := readFunctionRequest(r, root)
	if err == nil {
		err = c.checkKVSARNs(req.kvs())
	}
	return req, code, err
}

// readFunctionRequest decodes and checks a Create/UpdateFunction body.
func readFunctionRequest(r *http.Request, root string) (*functionRequest, []byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, nil, errorf(http.StatusBadRequest, "InvalidArgument", "The request body could not be read.")
	}
	var req functionRequest
	if err := xml.Unmarshal(body, &req); err != nil {
		return nil, nil, errorf(http.StatusBadRequest, "MalformedXML", "The XML document is malformed: %v.", err)
	}
	if req.XMLName.Local != root {
		return nil, nil, errorf(http.StatusBadRequest, "MalformedXML", "The document must be a %s, not %s.", root, req.XMLName.Local)
	}
	if req.FunctionConfig == nil {
		return nil, nil, errorf(http.StatusBadRequest, "InvalidArgument", "FunctionConfig is required.")
	}
	switch req.FunctionConfig.Runtime {
	case string(types.FunctionRuntimeCloudfrontJs10), string(types.FunctionRuntimeCloudfrontJs20):
	default:
		return nil, nil, errorf(http.StatusBadRequest, "InvalidArgument", "Runtime must be cloudfront-js-1.0 or cloudfront-js-2.0, not %q.", req.FunctionConfig.Runtime)
	}
	if len(req.FunctionConfig.Comment) > 128 {
		return nil, nil, errorf(http.StatusBadRequest, "InvalidArgument", "Comment is at most 128 characters.")
	}
	if kv := req.FunctionConfig.KeyValueStoreAssociations; kv != nil {
		if kv.Quantity != len(kv.Items) {
			return nil, nil, errorf(http.StatusBadRequest, "InconsistentQuantities", "KeyValueStoreAssociations.Quantity does not match the items.")
		}
		// One store per function (DG kvs-with-functions-associate), and only with 2.0.
		if len(kv.Items) > 1 {
			return nil, nil, errorf(http.StatusBadRequest, "InvalidArgument", "A function can be associated with one key value store.")
		}
		if len(kv.Items) == 1 && req.FunctionConfig.Runtime != string(types.FunctionRuntimeCloudfrontJs20) {
			return nil, nil, errorf(http.StatusBadRequest, "InvalidArgument", "Key value stores need runtime cloudfront-js-2.0.")
		}
	}
	code, err := base64.StdEncoding.DecodeString(req.FunctionCode)
	if err != nil {
		return nil, nil, errorf(http.StatusBadRequest, "InvalidArgument", "FunctionCode is not base64.")
	}
	if len(code) == 0 {
		return nil, nil, errorf(http.StatusBadRequest, "InvalidArgument", "FunctionCode is required.")
	}
	if len(code) > MaxFunctionSize {
		return nil, nil, errorf(http.StatusRequestEntityTooLarge, "FunctionSizeLimitExceeded", "The function code is %d bytes; the limit is 10 KB.", len(code))
	}
	return &req, code, nil
}

func (req *functionRequest) kvs() []string {
	if kv := req.FunctionConfig.KeyValueStoreAssociations; kv != nil {
		return kv.Items
	}
	return nil
}

func (c *Control) createFunction(w http.ResponseWriter, r *http.Request) {
	req, code, err := c.readFunctionRequest(r, "CreateFunctionRequest")
	if err == nil && !functionNameRE.MatchString(req.Name) {
		err = errorf(http.StatusBadRequest, "InvalidArgument", "The function name must be 1-64 letters, digits, hyphens or underscores.")
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.functions.mu.Lock()
	defer c.functions.mu.Unlock()
	if _, dup := c.functions.items[req.Name]; dup {
		c.fail(w, r, errorf(http.StatusConflict, "FunctionAlreadyExists", "A function with the name %s already exists.", req.Name))
		return
	}
	if len(c.functions.items) >= maxFunctions {
		c.fail(w, r, errorf(http.StatusBadRequest, "TooManyFunctions", "You have reached the maximum number of functions (100)."))
		return
	}
	now := c.now()
	f := &storedFunction{Name: req.Name, Created: now,
		Dev: functionStage{Code: code, ETag: mustID('E', 13), Modified: now, Comment: req.FunctionConfig.Comment, Runtime: req.FunctionConfig.Runtime, KVS: req.kvs()}}
	c.functions.items[f.Name] = f
	if err := c.saveFunctions(); err != nil {
		delete(c.functions.items, f.Name)
		c.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "https://cloudfront.amazonaws.com"+apiVersionPrefix+"/function/"+f.arn())
	w.Header().Set("ETag", f.Dev.ETag)
	c.writeDoc(w, r, http.StatusCreated, "FunctionSummary", c.functionSummary(f, &f.Dev))
}

// lookup returns the named function; callers hold c.functions.mu.
func (c *Control) lookupFunction(r *http.Request) (*storedFunction, error) {
	f, ok := c.functions.items[r.PathValue("name")]
	if !ok {
		return nil, errorf(http.StatusNotFound, "NoSuchFunctionExists", "The function %s does not exist.", r.PathValue("name"))
	}
	return f, nil
}

// ifMatch checks the If-Match header against the ETags: missing is
// InvalidIfMatchVersion, another version PreconditionFailed (412), as CloudFront answers.
func ifMatch(r *http.Request, etags ...string) error {
	got := r.Header.Get("If-Match")
	if got == "" {
		return errInvalidIfMatch
	}
	if !slices.Contains(etags, got) {
		return errorf(http.StatusPreconditionFailed, "PreconditionFailed", "The precondition given in one or more of the request header fields evaluated to false.")
	}
	return nil
}

var errInvalidIfMatch = errorf(http.StatusBadRequest, "InvalidIfMatchVersion", "The If-Match version is missing or not valid for the resource.")

// lookupStage returns the named function and the stage named by stage; callers hold
// c.functions.mu.
func (c *Control) lookupStage(r *http.Request, stage string) (*storedFunction, *functionStage, error) {
	f, err := c.lookupFunction(r)
	if err != nil {
		return nil, nil, err
	}
	s, err := f.stage(stage)
	return f, s, err
}

func (c *Control) describeFunction(w http.ResponseWriter, r *http.Request) {
	c.functions.mu.Lock()
	defer c.functions.mu.Unlock()
	f, s, err := c.lookupStage(r, r.URL.Query().Get("Stage"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", s.ETag)
	c.writeDoc(w, r, http.StatusOK, "FunctionSummary", c.functionSummary(f, s))
}

func (c *Control) getFunction(w http.ResponseWriter, r *http.Request) {
	c.functions.mu.Lock()
	defer c.functions.mu.Unlock()
	_, s, err := c.lookupStage(r, r.URL.Query().Get("Stage"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", s.ETag)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(s.Code)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(s.Code)
}

func (c *Control) updateFunction(w http.ResponseWriter, r *http.Request) {
	req, code, err := c.readFunctionRequest(r, "UpdateFunctionRequest")
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.functions.mu.Lock()
	defer c.functions.mu.Unlock()
	f, err := c.lookupFunction(r)
	if err == nil {
		err = ifMatch(r, f.Dev.ETag)
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	old := f.Dev
	f.Dev = functionStage{Code: code, ETag: mustID('E', 13), Modified: c.now(), Comment: req.FunctionConfig.Comment, Runtime: req.FunctionConfig.Runtime, KVS: req.kvs()}
	if err := c.saveFunctions(); err != nil {
		f.Dev = old
		c.fail(w, r, err)
		return
	}
	// The SDK reads UpdateFunction's ETag from a header spelled "ETtag" (its model has it
	// so); send both spellings.
	w.Header().Set("ETtag", f.Dev.ETag)
	w.Header().Set("ETag", f.Dev.ETag)
	c.writeDoc(w, r, http.StatusOK, "FunctionSummary", c.functionSummary(f, &f.Dev))
}

func (c *Control) publishFunction(w http.ResponseWriter, r *http.Request) {
	c.functions.mu.Lock()
	defer c.functions.mu.Unlock()
	f, err := c.lookupFunction(r)
	if err == nil {
		err = ifMatch(r, f.Dev.ETag)
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	host, ok := c.d.(functionHost)
	if !ok {
		c.fail(w, r, errorf(http.StatusBadRequest, "UnsupportedOperation", "This control API serves no edge that runs functions."))
		return
	}
	old := f.Live
	live := f.Dev // the published stage is a copy of DEVELOPMENT, with its own ETag
	live.ETag, live.Modified = mustID('E', 13), c.now()
	f.Live = &live
	if err := host.PutFunction(f.liveFunction(c)); err != nil {
		f.Live = old
		c.fail(w, r, errorf(http.StatusBadRequest, "InvalidArgument", "The function cannot be published: %v.", err))
		return
	}
	if err := c.saveFunctions(); err != nil {
		c.fail(w, r, err)
		return
	}
	c.writeDoc(w, r, http.StatusOK, "FunctionSummary", c.functionSummary(f, f.Live))
}

func (c *Control) deleteFunction(w http.ResponseWriter, r *http.Request) {
	c.functions.mu.Lock()
	defer c.functions.mu.Unlock()
	f, err := c.lookupFunction(r)
	if err == nil {
		etags := []string{f.Dev.ETag}
		if f.Live != nil {
			etags = append(etags, f.Live.ETag)
		}
		err = ifMatch(r, etags...)
	}
	if err == nil && Associates(c.d.Config(), f.Name) {
		err = errorf(http.StatusConflict, "FunctionInUse", "Cannot delete function %s: it is associated with a cache behavior.", f.Name)
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	delete(c.functions.items, f.Name)
	if err := c.saveFunctions(); err != nil {
		c.functions.items[f.Name] = f
		c.fail(w, r, err)
		return
	}
	if host, ok := c.d.(functionHost); ok {
		host.RemoveFunction(f.Name)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (c *Control) listFunctions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	maxItems := 100
	if s := q.Get("MaxItems"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			c.fail(w, r, errorf(http.StatusBadRequest, "InvalidArgument", "MaxItems must be 1-100."))
			return
		}
		maxItems = n
	}
	stage := q.Get("Stage")
	if stage != "" && stage != string(types.FunctionStageDevelopment) && stage != string(types.FunctionStageLive) {
		c.fail(w, r, errorf(http.StatusBadRequest, "InvalidArgument", "Stage must be DEVELOPMENT or LIVE."))
		return
	}
	c.functions.mu.Lock()
	defer c.functions.mu.Unlock()
	names := make([]string, 0, len(c.functions.items))
	for n := range c.functions.items {
		names = append(names, n)
	}
	slices.Sort(names)
	list := &types.FunctionList{MaxItems: aws.Int32(int32(maxItems)), Items: []types.FunctionSummary{}}
	for _, n := range names {
		if n <= q.Get("Marker") {
			continue
		}
		f := c.functions.items[n]
		s := &f.Dev
		if stage == string(types.FunctionStageLive) {
			if f.Live == nil {
				continue
			}
			s = f.Live
		}
		if len(list.Items) == maxItems {
			list.NextMarker = list.Items[len(list.Items)-1].Name
			break
		}
		list.Items = append(list.Items, *c.functionSummary(f, s))
	}
	list.Quantity = aws.Int32(int32(len(list.Items)))
	c.writeDoc(w, r, http.StatusOK, "FunctionList", list)
}

func (c *Control) testFunction(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var req struct {
		Stage       string `xml:"Stage"`
		EventObject string `xml:"EventObject"`
	}
	if err == nil {
		err = xml.Unmarshal(body, &req)
	}
	if err != nil {
		c.fail(w, r, errorf(http.StatusBadRequest, "MalformedXML", "The XML document is malformed."))
		return
	}
	event, err := base64.StdEncoding.DecodeString(req.EventObject)
	if err != nil || len(event) == 0 {
		c.fail(w, r, errorf(http.StatusBadRequest, "InvalidArgument", "EventObject must be the base64 of a JSON event object."))
		return
	}
	if len(event) > maxTestEvent {
		c.fail(w, r, errorf(http.StatusBadRequest, "InvalidArgument", "EventObject is %d bytes; the limit is 40 KB.", len(event)))
		return
	}
	c.functions.mu.Lock()
	f, s, err := c.lookupStage(r, req.Stage)
	if err == nil && r.Header.Get("If-Match") != s.ETag {
		// TestFunction's errors in the API model have no PreconditionFailed: a stale or
		// missing ETag is InvalidIfMatchVersion [INFER from the model's error list].
		err = errInvalidIfMatch
	}
	var fn *Function
	var summary *types.FunctionSummary
	if err == nil {
		fn = &Function{Name: f.Name, Runtime: s.Runtime, Code: string(s.Code)}
		summary = c.functionSummary(f, s)
	}
	var kvs KVSReader
	if err == nil {
		kvs = c.kvsFor(s.KVS)
	}
	c.functions.mu.Unlock()
	if err != nil {
		c.fail(w, r, err)
		return
	}
	host, ok := c.d.(functionHost)
	if !ok {
		c.fail(w, r, errorf(http.StatusBadRequest, "UnsupportedOperation", "This control API serves no edge that runs functions."))
		return
	}
	res, err := host.TestFunction(fn, event, kvs)
	if err != nil {
		c.fail(w, r, errorf(http.StatusBadRequest, "InvalidArgument", "The event object is not valid: %v.", err))
		return
	}
	tr := &types.TestResult{
		FunctionSummary:       summary,
		ComputeUtilization:    aws.String(strconv.Itoa(res.ComputeUtilization)),
		FunctionExecutionLogs: append([]string{}, res.Logs...),
	}
	if res.Error != "" {
		tr.FunctionErrorMessage = aws.String(res.Error)
	} else {
		tr.FunctionOutput = aws.String(res.Output)
	}
	c.writeDoc(w, r, http.StatusOK, "TestResult", tr)
}

// readJSONFile decodes path into v, strictly; a missing file leaves v as it is.
func readJSONFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s is corrupt: %w (fix or remove it)", path, err)
	}
	return nil
}
