// Package api is twinedge's message-board API: the Lambda handler for function-URL events
// (payload 2.0), the message model, the Store interface and its DynamoDB implementation.
// It never imports infra: infra/local hosts the same handler the way Lambda does.
package api

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Size limits of a posted message. A body or field over its limit is answered with 413 and
// the limit in the error text; a client can rely on these numbers.
const (
	// MaxBodyBytes is the largest accepted POST body, before base64 decoding by the host.
	MaxBodyBytes = 8 << 10
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

func checkText(field, s string, max int) *FieldError {
	if strings.TrimSpace(s) == "" {
		return &FieldError{Field: field, Problem: "required and must not be blank"}
	}
	if !utf8.ValidString(s) {
		return &FieldError{Field: field, Problem: "must be valid UTF-8"}
	}
	if n := utf8.RuneCountInString(s); n > max {
		return &FieldError{Field: field, Problem: fmt.Sprintf("%d characters, the limit is %d", n, max), TooLarge: true}
	}
	for _, r := range s {
		// Control characters other than newline and tab have no place in a chat line and
		// would only serve to confuse a terminal or a log reader.
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return &FieldError{Field: field, Problem: fmt.Sprintf("must not contain control character %U", r)}
		}
	}
	return nil
}
