package service

import (
	"strings"

	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
)

// ChatFilter masks listed words in chat text. The zero value masks
// nothing.
type ChatFilter struct {
	words [][]rune // folded
}

// NewChatFilter returns a filter of words (blank ones ignored), matched
// case- and width-insensitively (NFKC, full-width folded, lower-cased).
func NewChatFilter(words []string) ChatFilter {
	var f ChatFilter
	for _, w := range words {
		if r := []rune(foldChat(strings.TrimSpace(w))); len(r) > 0 {
			f.words = append(f.words, r)
		}
	}
	return f
}

// foldChat is the form words are compared in.
func foldChat(s string) string {
	return strings.ToLower(width.Fold.String(norm.NFKC.String(s)))
}

// Mask returns s with every character of a listed word replaced by '*'.
// Matching is per character (a character that folds into several, like
// a ligature, is compared by its whole fold), so the masked text keeps
// s's characters everywhere else.
func (f ChatFilter) Mask(s string) string {
	if len(f.words) == 0 {
		return s
	}
	orig := []rune(s)
	// folded[i] holds the fold of orig[i]; pos maps each folded rune
	// back to the character it came from.
	var folded []rune
	var pos []int
	for i, r := range orig {
		for _, fr := range foldChat(string(r)) {
			folded = append(folded, fr)
			pos = append(pos, i)
		}
	}
	mask := make([]bool, len(orig))
	for _, w := range f.words {
		for i := 0; i+len(w) <= len(folded); i++ {
			if runesEqual(folded[i:i+len(w)], w) {
				for j := i; j < i+len(w); j++ {
					mask[pos[j]] = true
				}
			}
		}
	}
	for i, m := range mask {
		if m {
			orig[i] = '*'
		}
	}
	return string(orig)
}

func runesEqual(a, b []rune) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
