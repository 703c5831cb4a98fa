// Package api is twinedge's message-board API: the Lambda handler for function-URL events
// (payload 2.0), the message model, the Store interface and its DynamoDB implementation.
// It never imports infra: infra/local hosts the same handler the way Lambda does.
package api

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Size limits of a posted message. A body or field over its limit is answered with 413 and
// the limit in the error text; a client can rely on these numbers. The field limits count
// characters (Unicode code points) after JSON decoding, however they were encoded.
const (
	// MaxBodyBytes is the largest accepted POST body, after base64 decoding by the host. It
	// holds both fields at their limits in the most verbose JSON encoding there is, 12 bytes
	// a character (an astral character as a surrogate-pair escape, "\ud83d\ude00"): 1,064
	// such characters are 12,768 bytes, with room to spare for the id and the keys.
	MaxBodyBytes = 16 << 10
	// MaxAuthorChars is the longest author name, in Unicode code points.
	MaxAuthorChars = 64
	// MaxTextChars is the longest message text, in Unicode code points.
	MaxTextChars = 1000
)

// Page sizes for GET /api/messages.
const (
	// DefaultLimit is used when the request has no limit parameter.
	DefaultLimit = 50
	// MaxLimit is the largest limit a request may ask for.
	MaxLimit = 100
)

// Message is one post on the board. ID, Author and Text come from the client; AcceptedIn and
// AcceptedAt are set by the region that accepted the write and never change afterwards.
type Message struct {
	// ID is chosen by the client (a UUID, v7 by convention) so that a retried write, in the
	// same region or the other one, is recognised as the same message.
	ID     string `json:"id"`
	Author string `json:"author"`
	Text   string `json:"text"`
	// AcceptedIn is the region whose API accepted the write.
	AcceptedIn string `json:"acceptedIn"`
	// AcceptedAt is when that region accepted it, in UTC with millisecond precision.
	AcceptedAt time.Time `json:"acceptedAt"`
}

// SameContent reports whether m and o carry the same client-chosen content: the test for
// "the retry of a write that had succeeded" (200) versus "another message under a used id" (409).
func (m Message) SameContent(o Message) bool {
	return m.ID == o.ID && m.Author == o.Author && m.Text == o.Text
}

// SortKey orders messages newest last when compared as strings: the acceptance time in a
// fixed-width UTC form, then the id to break ties. Stores index on it.
func (m Message) SortKey() string {
	return m.AcceptedAt.UTC().Format(sortTimeLayout) + "#" + m.ID
}

// sortTimeLayout is fixed width (always three fractional digits), so string order is time order.
const sortTimeLayout = "2006-01-02T15:04:05.000Z"

// FieldError is a problem with one field of a posted message. TooLarge distinguishes a
// size limit (413) from a malformed value (400).
type FieldError struct {
	Field    string
	Problem  string
	TooLarge bool
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// validate checks the client-chosen fields of m and returns it normalised (lower-case id).
// Author and text are kept exactly as sent, apart from the checks: they are data, and the
// app renders them as text.
func validate(m Message) (Message, *FieldError) {
	m.ID = strings.ToLower(m.ID)
	switch {
	case m.ID == "":
		return m, &FieldError{Field: "id", Problem: "required (a UUID chosen by the client)"}
	case !uuidRE.MatchString(m.ID):
		return m, &FieldError{Field: "id", Problem: "must be a UUID like 0190a6b2-7c1e-7d3a-9f00-1234567890ab"}
	}
	if fe := checkText("author", m.Author, MaxAuthorChars); fe != nil {
		return m, fe
	}
	if fe := checkText("text", m.Text, MaxTextChars); fe != nil {
		return m, fe
	}
	return m, nil
}

// checkText applies the rules author and text share: not blank, not over max characters,
// no control characters but newline and tab. (Invalid UTF-8 and lone surrogates never get
// here: the handler refuses the body, see checkUTF8.)
func checkText(field, s string, max int) *FieldError {
	if !utf8.ValidString(s) {
		return &FieldError{Field: field, Problem: "must be valid UTF-8"}
	}
	if blank(s) {
		return &FieldError{Field: field, Problem: "required and must not be blank (spaces and invisible characters only)"}
	}
	if n := utf8.RuneCountInString(s); n > max {
		return &FieldError{Field: field, Problem: fmt.Sprintf("%d characters, the limit is %d", n, max), TooLarge: true}
	}
	for _, r := range s {
		// Control characters other than newline and tab have no place in a chat line and
		// would only serve to confuse a terminal or a log reader. unicode.IsControl is
		// category Cc: C0, DEL and C1 (U+0080–U+009F) alike.
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return &FieldError{Field: field, Problem: fmt.Sprintf("must not contain control character %U", r)}
		}
	}
	return nil
}

// blank reports whether s shows nothing: only white space (Unicode White_Space) and
// characters rendered as nothing — format characters (Cf: zero-width space and joiners,
// bidi marks, the BOM, tags), variation selectors and the other default-ignorable code
// points (Hangul fillers, the combining grapheme joiner), and U+2800 BRAILLE PATTERN BLANK.
// They are allowed inside a text (an emoji sequence needs U+200D and U+FE0F), not alone.
func blank(s string) bool {
	for _, r := range s {
		if !unicode.IsSpace(r) && !unicode.In(r, unicode.Cf, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point) && r != '\u2800' {
			return false
		}
	}
	return true
}

// checkUTF8 refuses what encoding/json would silently turn into U+FFFD: bytes that are not
// UTF-8 (a JSON text must be UTF-8, RFC 8259 §8.1) and \u escapes of UTF-16 surrogates that
// are not a high one followed by a low one (RFC 8259 §8.2: such strings have unpredictable
// behaviour). body must already have decoded as JSON.
func checkUTF8(body []byte) error {
	if !utf8.Valid(body) {
		for i := 0; i < len(body); {
			r, n := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && n == 1 {
				return fmt.Errorf("body: not valid UTF-8 at byte %d; send UTF-8", i)
			}
			i += n
		}
	}
	inString := false
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case c == '"':
			inString = !inString
		case c == '\\' && inString:
			i++ // the escaped byte
			if i >= len(body) || body[i] != 'u' {
				continue
			}
			v, ok := hex4(body, i+1)
			if !ok {
				continue // not ours to judge: the decoder already accepted the body
			}
			switch {
			case v >= 0xdc00 && v <= 0xdfff:
				return fmt.Errorf("body: lone low surrogate \\u%04x at byte %d; send the character itself or a surrogate pair", v, i-1)
			case v >= 0xd800 && v <= 0xdbff:
				lo, ok := hex4(body, i+7)
				if i+6 >= len(body) || body[i+5] != '\\' || body[i+6] != 'u' || !ok || lo < 0xdc00 || lo > 0xdfff {
					return fmt.Errorf("body: lone high surrogate \\u%04x at byte %d; send the character itself or a surrogate pair", v, i-1)
				}
				i += 10 // the pair's second escape
			default:
				i += 4
			}
		}
	}
	return nil
}

// hex4 decodes the four hex digits at b[i:i+4].
func hex4(b []byte, i int) (rune, bool) {
	if i < 0 || i+4 > len(b) {
		return 0, false
	}
	var v rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}
