package edge

import (
	"strings"
	"testing"
)

const pageKVSFile = "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/kvs-with-functions-create-s3-kvp.html"

func TestParseKVSImport(t *testing.T) {
	kv, err := ParseKVSImport([]byte(`{"data":[{"key":"key1","value":"value"},{"key":"ключ","value":"` + strings.Repeat("v", MaxKVSValue) + `"}]}`))
	if err != nil || len(kv) != 2 || kv["key1"] != "value" {
		t.Fatalf("the page's format: %v %v", kv, err)
	}
	for _, bad := range []string{
		``,
		`[]`,
		`{"rows":[]}`,
		`{"data":[{"key":"a"}]}`,
		`{"data":[{"key":"","value":"x"}]}`,
		`{"data":[{"key":"a","value":1}]}`,
		`{"data":[{"key":"a","value":"1"},{"key":"a","value":"2"}]}`,                  // "can't include duplicate keys"
		`{"data":[{"key":"` + strings.Repeat("k", MaxKVSKey+1) + `","value":"v"}]}`,   // key size 512 characters
		`{"data":[{"key":"k","value":"` + strings.Repeat("v", MaxKVSValue+1) + `"}]}`, // value size 1024 characters
		`{"data":[]} {"data":[]}`,
		"{\"data\":[{\"key\":\"\xff\",\"value\":\"v\"}]}",                                // not UTF-8
		`{"data":[` + strings.Repeat(`{"key":"k","value":"v"},`, MaxKVSImport/20) + `]}`, // over 5 MB
	} {
		if _, err := ParseKVSImport([]byte(bad)); err == nil {
			t.Errorf("accepted %.80q (%s)", bad, pageKVSFile)
		}
	}
}

func TestParseS3ObjectARN(t *testing.T) {
	if b, k, err := parseS3ObjectARN("arn:aws:s3:::bucket/dir/data.json"); err != nil || b != "bucket" || k != "dir/data.json" {
		t.Errorf("%q %q %v", b, k, err)
	}
	if b, _, err := parseS3ObjectARN("arn:aws-cn:s3:::b/k"); err != nil || b != "b" {
		t.Errorf("China partition: %v", err)
	}
	for _, bad := range []string{"s3://bucket/key", "arn:aws:s3:::bucket", "arn:aws:s3:::bucket/", "arn:aws:s3:us-east-1::b/k", "arn:aws:iam:::b/k"} {
		if _, _, err := parseS3ObjectARN(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func FuzzParseKVSImport(f *testing.F) {
	f.Add([]byte(`{"data":[{"key":"key1","value":"value"},{"key":"key2","value":"value"}]}`))
	f.Add([]byte(`{"data":[{"key":"a","value":"1"},{"key":"a","value":"2"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		kv, err := ParseKVSImport(data)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		for k, v := range kv {
			if k == "" || len([]rune(k)) > MaxKVSKey || len([]rune(v)) > MaxKVSValue {
				t.Errorf("accepted key %q value %q", k, v)
			}
		}
	})
}
