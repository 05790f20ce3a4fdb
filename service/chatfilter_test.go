package service

import (
	"strings"
	"testing"

	"flashlive/domain"
)

func TestCleanChatText(t *testing.T) {
	f := NewChatFilter([]string{"spam", " ", "Bad Word", "ｶﾞｰ"})
	for _, tc := range []struct {
		name, in, want, code string
	}{
		{"trimmed", "  hello \n", "hello", ""},
		{"empty", "   ", "", domain.EINVALID},
		{"only controls", "\u0007\u202e", "", domain.EINVALID},
		{"500 code points", strings.Repeat("語", 500), strings.Repeat("語", 500), ""},
		{"501 code points", strings.Repeat("語", 501), "", domain.EINVALID},
		{"controls stripped", "a\u0000b\u0007c", "abc", ""},
		{"bidi override stripped", "abc\u202edef\u2066x\u2069", "abcdefx", ""},
		{"zero width stripped", "s\u200bpam", "****", ""},
		{"newline kept", "a\nb", "a\nb", ""},
		{"masked", "no spam here", "no **** here", ""},
		{"case-insensitive", "SpAm!", "****!", ""},
		{"full-width", "ｓｐａｍ", "****", ""},
		{"phrase", "a bad word.", "a ********.", ""},
		{"half-width katakana", "ガー", "**", ""},
		{"invalid utf-8", "a\xffb", "", domain.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := domain.CleanChatText(tc.in, f)
			if code := domain.ErrorCode(err); code != tc.code {
				t.Fatalf("code = %q, want %q (err %v)", code, tc.code, err)
			}
			if got != tc.want {
				t.Fatalf("text = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestChatFilterZeroMasksNothing(t *testing.T) {
	if got := (ChatFilter{}).Mask("spam"); got != "spam" {
		t.Fatalf("Mask = %q", got)
	}
}
