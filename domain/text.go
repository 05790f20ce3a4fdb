package domain

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// validateText returns an INVALID error unless s has between min and max
// characters and no control characters other than newlines and tabs.
func validateText(field, s string, min, max int) error {
	if !utf8.ValidString(s) {
		return Errorf(EINVALID, "%s is not valid UTF-8", field)
	}
	n := utf8.RuneCountInString(s)
	if n < min {
		if min == 1 {
			return Errorf(EINVALID, "%s must not be empty", field)
		}
		return Errorf(EINVALID, "%s must have at least %d characters", field, min)
	}
	if n > max {
		return Errorf(EINVALID, "%s must have at most %d characters", field, max)
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) >= 0 {
		return Errorf(EINVALID, "%s must not contain control characters", field)
	}
	return nil
}
