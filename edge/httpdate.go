package edge

import (
	"errors"
	"strings"
	"time"
)

// errBadHTTPDate is any field value that is not an HTTP-date.
var errBadHTTPDate = errors.New("not an HTTP-date (RFC 9110 §5.6.7)")

// parseHTTPDate parses an HTTP-date exactly as RFC 9110 §5.6.7 defines it, in one of
// its three forms and nothing else:
//
//	IMF-fixdate  Sun, 06 Nov 1994 08:49:37 GMT
//	rfc850-date  Sunday, 06-Nov-94 08:49:37 GMT
//	asctime-date Sun Nov  6 08:49:37 1994
//
// Every field has its exact width and separator (no extra spaces, no one-digit hour,
// no other zone than GMT). Names match case-insensitively, as RFC 9111 §4.2 asks of
// a cache ("a cache recipient SHOULD match the field value case-insensitively"). A
// two-digit rfc850 year more than 50 years ahead of now is the most recent past year
// with those digits (§5.6.7). net/http's ParseTime is laxer (time.Parse takes a
// one-digit hour), so CloudFront's "Expires ... using the format specified in RFC 2616
// ... Section 3.3.1, Full Date" (Developer Guide, Expiration) is decided here.
func parseHTTPDate(s string, now time.Time) (time.Time, error) {
	comma := strings.IndexByte(s, ',')
	switch {
	case comma == 3:
		// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT", 29 characters.
		if len(s) != 29 || !dayName(s[:3]) || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' || s[25] != ' ' || !strings.EqualFold(s[26:], "GMT") {
			return time.Time{}, errBadHTTPDate
		}
		y, ok := digits(s[12:16])
		if !ok {
			return time.Time{}, errBadHTTPDate
		}
		return httpDateOf(s[5:7], s[8:11], y, s[17:25])
	case comma > 3:
		// rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT".
		name, rest := s[:comma], s[comma+1:]
		if !longDayName(name) || len(rest) != 23 || rest[0] != ' ' || rest[3] != '-' || rest[7] != '-' || rest[10] != ' ' || rest[19] != ' ' || !strings.EqualFold(rest[20:], "GMT") {
			return time.Time{}, errBadHTTPDate
		}
		yy, ok := digits(rest[8:10])
		if !ok {
			return time.Time{}, errBadHTTPDate
		}
		// The century: this century's year with these digits, unless that is more
		// than 50 years ahead of now.
		y := now.Year()/100*100 + yy
		t, err := httpDateOf(rest[1:3], rest[4:7], y, rest[11:19])
		if err == nil && t.After(now.AddDate(50, 0, 0)) {
			t, err = httpDateOf(rest[1:3], rest[4:7], y-100, rest[11:19])
		}
		return t, err
	case comma < 0:
		// asctime-date: "Sun Nov  6 08:49:37 1994", 24 characters; the day is two
		// digits or a space and one digit.
		if len(s) != 24 || !dayName(s[:3]) || s[3] != ' ' || s[7] != ' ' || s[10] != ' ' || s[19] != ' ' {
			return time.Time{}, errBadHTTPDate
		}
		day := s[8:10]
		if day[0] == ' ' {
			day = "0" + day[1:]
		}
		y, ok := digits(s[20:24])
		if !ok {
			return time.Time{}, errBadHTTPDate
		}
		return httpDateOf(day, s[4:7], y, s[11:19])
	}
	return time.Time{}, errBadHTTPDate
}

var (
	dayNames     = []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
	longDayNames = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}
	monthNames   = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
)

func nameIn(s string, names []string) int {
	for i, n := range names {
		if strings.EqualFold(s, n) {
			return i
		}
	}
	return -1
}

func dayName(s string) bool     { return nameIn(s, dayNames) >= 0 }
func longDayName(s string) bool { return nameIn(s, longDayNames) >= 0 }

// digits returns the value of s when it is all ASCII digits.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(s) > 0
}

// httpDateOf assembles a date from its fields: day all digits, a month name, the year,
// and time-of-day "HH:MM:SS" (second 60 is a leap second, RFC 9110 §5.6.7). A day
// that does not exist in its month (31 Feb) is not a date.
func httpDateOf(day, month string, y int, clock string) (time.Time, error) {
	d, ok1 := digits(day)
	m := nameIn(month, monthNames)
	if !ok1 || m < 0 || len(clock) != 8 || clock[2] != ':' || clock[5] != ':' {
		return time.Time{}, errBadHTTPDate
	}
	hh, ok3 := digits(clock[0:2])
	mm, ok4 := digits(clock[3:5])
	ss, ok5 := digits(clock[6:8])
	if !ok3 || !ok4 || !ok5 || hh > 23 || mm > 59 || ss > 60 || d < 1 {
		return time.Time{}, errBadHTTPDate
	}
	t := time.Date(y, time.Month(m+1), d, hh, mm, min(ss, 59), 0, time.UTC)
	if t.Day() != d {
		return time.Time{}, errBadHTTPDate
	}
	return t, nil
}

// expiresAt reads a response's Expires for freshness (RFC 9111 §5.3): exactly one
// field holding an HTTP-date. Anything else — an invalid date, "0", or more than one
// Expires field — is a time in the past ("A cache recipient MUST interpret invalid date
// formats, especially the value "0", as representing a time in the past"). ok=false:
// no Expires at all.
func expiresAt(h map[string][]string, now time.Time) (t time.Time, ok bool) {
	vs := h["Expires"]
	if len(vs) == 0 {
		return time.Time{}, false
	}
	if len(vs) > 1 {
		return time.Time{}, true
	}
	t, err := parseHTTPDate(vs[0], now)
	if err != nil {
		return time.Time{}, true
	}
	return t, true
}
