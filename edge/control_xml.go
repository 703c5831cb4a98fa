package edge

// This file is the XML codec between the aws-sdk-go-v2 CloudFront types (DistributionConfig,
// Distribution, DistributionList and everything inside them) and CloudFront's restXml documents.
//
// It is driven by reflection over the SDK types plus the member table in control_xmlshapes.go,
// which is generated from the SDK's own deserializers: element names and, above all, the
// element name of a list item (<Aliases><Items><CNAME>, <AllowedMethods><Items><Method>, ...)
// are exactly the SDK's. A hand-written codec per field would drift from the SDK the day a
// field is added; this one is checked against the SDK by round-trip tests in both directions.

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

// xmlMember is one member of a CloudFront structure in XML.
type xmlMember struct {
	Field string // Go field of the SDK type
	XML   string // element name
	Item  string // for a list, the element name of one item
}

var timeType = reflect.TypeFor[time.Time]()

// membersOf returns the XML members of the SDK structure type t: the generated table when t is
// in it, otherwise its exported fields under their own names (a list's item then takes its Go
// element type's name).
func membersOf(t reflect.Type) []xmlMember {
	if m, ok := xmlShapes[t.Name()]; ok {
		return m
	}
	var ms []xmlMember
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		m := xmlMember{Field: f.Name, XML: f.Name}
		if f.Type.Kind() == reflect.Slice {
			m.Item = f.Type.Elem().Name()
		}
		ms = append(ms, m)
	}
	return ms
}

// marshalCloudFrontXML renders v (a pointer to an SDK structure) as the document root, in
// CloudFront's namespace.
func marshalCloudFrontXML(root string, v any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("marshal %s: want a non-nil pointer to a structure, got %T", root, v)
	}
	start := xml.StartElement{Name: xml.Name{Local: root}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: cloudFrontNS}}}
	if err := encodeStruct(enc, start, rv.Elem()); err != nil {
		return nil, fmt.Errorf("marshal %s: %w", root, err)
	}
	if err := enc.Flush(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func encodeStruct(enc *xml.Encoder, start xml.StartElement, v reflect.Value) error {
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	for _, m := range membersOf(v.Type()) {
		f := v.FieldByName(m.Field)
		if !f.IsValid() {
			continue
		}
		if err := encodeValue(enc, m.XML, m.Item, f); err != nil {
			return fmt.Errorf("%s: %w", m.XML, err)
		}
	}
	return enc.EncodeToken(start.End())
}

// encodeValue writes the member named name with value v. Nil pointers and slices, and empty
// enum strings, are absent members and write nothing, as in the SDK's serializers.
func encodeValue(enc *xml.Encoder, name, item string, v reflect.Value) error {
	start := xml.StartElement{Name: xml.Name{Local: name}}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return encodeValue(enc, name, item, v.Elem())
	case reflect.Struct:
		if v.Type() == timeType {
			return encodeText(enc, start, apiTime(v.Interface().(time.Time)))
		}
		return encodeStruct(enc, start, v)
	case reflect.Slice:
		if v.IsNil() {
			return nil
		}
		if item == "" {
			item = v.Type().Elem().Name()
		}
		if err := enc.EncodeToken(start); err != nil {
			return err
		}
		for i := range v.Len() {
			if err := encodeValue(enc, item, "", v.Index(i)); err != nil {
				return err
			}
		}
		return enc.EncodeToken(start.End())
	case reflect.String:
		if v.Len() == 0 && v.Type() != reflect.TypeFor[string]() {
			return nil // unset enum
		}
		return encodeText(enc, start, v.String())
	case reflect.Bool:
		return encodeText(enc, start, strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return encodeText(enc, start, strconv.FormatInt(v.Int(), 10))
	case reflect.Float32, reflect.Float64:
		return encodeText(enc, start, strconv.FormatFloat(v.Float(), 'g', -1, 64))
	default:
		return fmt.Errorf("unsupported %s", v.Type())
	}
}

func encodeText(enc *xml.Encoder, start xml.StartElement, s string) error {
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	if err := enc.EncodeToken(xml.CharData(s)); err != nil {
		return err
	}
	return enc.EncodeToken(start.End())
}

// maxConfigBody bounds an UpdateDistribution body. CloudFront's own quotas (25 origins, 75
// behaviours, ...) keep real configurations far below it.
const maxConfigBody = 1 << 20

// unmarshalDistributionConfig parses an UpdateDistribution body into a DistributionConfig. It
// returns an *apiError: MissingBody for an empty body, InvalidArgument for a document that is
// not a DistributionConfig or has a value of the wrong type, InconsistentQuantities when a
// Quantity differs from the number of Items. Elements the SDK does not know are skipped, as the
// SDK's own deserializers do.
func unmarshalDistributionConfig(body []byte) (*types.DistributionConfig, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errorf(400, "MissingBody", "This operation requires a body. Ensure that the body is present and the Content-Type header is set.")
	}
	var cfg types.DistributionConfig
	if err := unmarshalCloudFrontXML(body, "DistributionConfig", &cfg); err != nil {
		return nil, errorf(400, "InvalidArgument", "The request body is not a valid DistributionConfig document: %v", err)
	}
	return &cfg, nil
}

// unmarshalCloudFrontXML decodes a document whose root element is root into v, a pointer to
// an SDK structure.
func unmarshalCloudFrontXML(body []byte, root string, v any) error {
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return fmt.Errorf("no %s element", root)
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != root {
				return fmt.Errorf("root element is %s, want %s", t.Name.Local, root)
			}
			if err := decodeStruct(d, reflect.ValueOf(v).Elem()); err != nil {
				return err
			}
			return trailing(d)
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return fmt.Errorf("text before the %s element", root)
			}
		}
	}
}

// trailing accepts only whitespace, comments and processing instructions after the root.
func trailing(d *xml.Decoder) error {
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return fmt.Errorf("element %s after the document element", t.Name.Local)
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return fmt.Errorf("text after the document element")
			}
		}
	}
}

// decodeStruct reads the members of the structure v until its end element.
func decodeStruct(d *xml.Decoder, v reflect.Value) error {
	members := membersOf(v.Type())
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return fmt.Errorf("unexpected text in %s", v.Type().Name())
			}
		case xml.StartElement:
			m, ok := findMember(members, t.Name.Local)
			if !ok {
				if err := d.Skip(); err != nil {
					return err
				}
				continue
			}
			f := v.FieldByName(m.Field)
			if !f.IsValid() || !f.CanSet() {
				if err := d.Skip(); err != nil {
					return err
				}
				continue
			}
			if err := decodeValue(d, m.Item, f); err != nil {
				return fmt.Errorf("%s: %w", m.XML, err)
			}
		}
	}
}

func findMember(ms []xmlMember, name string) (xmlMember, bool) {
	for _, m := range ms {
		if m.XML == name {
			return m, true
		}
	}
	return xmlMember{}, false
}

// decodeValue reads one element (whose start has been consumed) into v.
func decodeValue(d *xml.Decoder, item string, v reflect.Value) error {
	switch v.Kind() {
	case reflect.Pointer:
		n := reflect.New(v.Type().Elem())
		if err := decodeValue(d, item, n.Elem()); err != nil {
			return err
		}
		v.Set(n)
		return nil
	case reflect.Struct:
		if v.Type() == timeType {
			s, err := readText(d)
			if err != nil {
				return err
			}
			t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
			if err != nil {
				return fmt.Errorf("bad timestamp %q", truncate(s, 40))
			}
			v.Set(reflect.ValueOf(t))
			return nil
		}
		return decodeStruct(d, v)
	case reflect.Slice:
		if item == "" {
			item = v.Type().Elem().Name()
		}
		s := reflect.MakeSlice(v.Type(), 0, 0)
		for {
			tok, err := d.Token()
			if err != nil {
				return err
			}
			switch t := tok.(type) {
			case xml.EndElement:
				v.Set(s)
				return nil
			case xml.CharData:
				if len(bytes.TrimSpace(t)) != 0 {
					return fmt.Errorf("unexpected text in a list")
				}
			case xml.StartElement:
				if t.Name.Local != item {
					return fmt.Errorf("list item is %s, want %s", t.Name.Local, item)
				}
				e := reflect.New(v.Type().Elem()).Elem()
				if err := decodeValue(d, "", e); err != nil {
					return err
				}
				s = reflect.Append(s, e)
			}
		}
	}
	text, err := readText(d)
	if err != nil {
		return err
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(text)
	case reflect.Bool:
		switch strings.TrimSpace(text) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			return fmt.Errorf("%q is not a boolean", truncate(text, 40))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(text), 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not an integer of %d bits", truncate(text, 40), v.Type().Bits())
		}
		v.SetInt(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(text), v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not a number", truncate(text, 40))
		}
		v.SetFloat(f)
	default:
		return fmt.Errorf("unsupported %s", v.Type())
	}
	return nil
}

// readText reads character data up to the end of the current element; a child element is an
// error.
func readText(d *xml.Decoder) (string, error) {
	var sb strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			sb.Write(t)
		case xml.StartElement:
			return "", fmt.Errorf("unexpected element %s in a value", t.Name.Local)
		case xml.EndElement:
			return sb.String(), nil
		}
	}
}
