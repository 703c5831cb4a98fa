package api

import (
	"encoding/base64"
	"strings"
)

// A cursor is the sort key (Message.SortKey) of the last message of a page, base64url
// encoded so it travels in a query string untouched. Every Store uses the same form, so a
// cursor from one region's page keeps working after a failover to the other region.

// EncodeCursor returns the cursor for the page that follows the message with sort key sk.
func EncodeCursor(sk string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(sk))
}

// DecodeCursor returns the sort key inside a cursor made by EncodeCursor, or ErrBadCursor.
func DecodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(c)
	if err != nil {
		return "", ErrBadCursor
	}
	sk := string(b)
	// "<24-char time>#<36-char uuid>"
	i := strings.IndexByte(sk, '#')
	if i != len(sortTimeLayout) || len(sk)-i-1 != 36 || !uuidRE.MatchString(sk[i+1:]) {
		return "", ErrBadCursor
	}
	return sk, nil
}
