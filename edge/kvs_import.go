package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// A KeyValueStore created with an ImportSource starts with the keys of a file in S3 (API
// CreateKeyValueStore, ImportSource {SourceType: S3, SourceARN}). The file is UTF-8
// JSON, {"data": [{"key": …, "value": …}, …]}, with no duplicate keys, at most 5 MB,
// keys of at most 512 characters and values of at most 1024 (DG
// kvs-with-functions-create-s3-kvp, "File format for key-value pairs").
//
// CloudFront reads the file after it answers, the store staying PROVISIONING until the
// import is done; the control API reads it before it answers, so a file CloudFront would
// fail to import is refused with the reason and no store is made [INFER: the status and
// message of a failed import are undocumented; the outcome, a store that does not hold
// the file, is the same].

// MaxKVSImport is the largest import file: 5 MB.
const MaxKVSImport = 5 << 20

// S3Reader reads one object of S3 (bucket and key), at most limit bytes of it; a larger
// object is an error.
type S3Reader func(ctx context.Context, bucket, key string, limit int64) ([]byte, error)

// parseS3ObjectARN splits arn:PARTITION:s3:::BUCKET/KEY.
func parseS3ObjectARN(arn string) (bucket, key string, err error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "s3" || parts[3] != "" || parts[4] != "" {
		return "", "", fmt.Errorf("%q is not an S3 object ARN (arn:aws:s3:::BUCKET/KEY)", arn)
	}
	bucket, key, ok := strings.Cut(parts[5], "/")
	if !ok || bucket == "" || key == "" {
		return "", "", fmt.Errorf("%q names no object: give arn:aws:s3:::BUCKET/KEY", arn)
	}
	return bucket, key, nil
}

// ParseKVSImport reads an import file and returns its keys and values.
func ParseKVSImport(data []byte) (map[string]string, error) {
	if len(data) > MaxKVSImport {
		return nil, fmt.Errorf("the file is %d bytes; the limit is 5 MB", len(data))
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("the file is not UTF-8")
	}
	var doc struct {
		Data *[]struct {
			Key   *string `json:"key"`
			Value *string `json:"value"`
		} `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("the file is not the JSON of key-value pairs: %v", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("the file holds more than one JSON value")
	}
	if doc.Data == nil {
		return nil, fmt.Errorf(`the file has no "data" array`)
	}
	out := make(map[string]string, len(*doc.Data))
	for i, kv := range *doc.Data {
		if kv.Key == nil || kv.Value == nil {
			return nil, fmt.Errorf(`data[%d] needs both "key" and "value" strings`, i)
		}
		k, v := *kv.Key, *kv.Value
		if k == "" || utf8.RuneCountInString(k) > MaxKVSKey {
			return nil, fmt.Errorf("data[%d]: a key is 1-%d characters, not %d", i, MaxKVSKey, utf8.RuneCountInString(k))
		}
		if utf8.RuneCountInString(v) > MaxKVSValue {
			return nil, fmt.Errorf("data[%d]: the value of %q is %d characters; the limit is %d", i, k, utf8.RuneCountInString(v), MaxKVSValue)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("data[%d]: the key %q appears twice; the file can't include duplicate keys", i, k)
		}
		out[k] = v
	}
	return out, nil
}
