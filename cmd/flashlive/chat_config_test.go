package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"flashlive/domain"
)

func TestLoadConfigChat(t *testing.T) {
	c, _, err := LoadConfig(cfgGetenv(cfgDevEnv()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Chat, DefaultChat) {
		t.Fatalf("default chat config = %+v, want %+v", c.Chat, DefaultChat)
	}
	file := filepath.Join(t.TempDir(), "words.txt")
	if err := os.WriteFile(file, []byte("# banned\nfoo\n\n  bar baz \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := cfgDevEnv()
	env["FLASHLIVE_CHAT_FILTER_WORDS"] = "spam, eggs ,,"
	env["FLASHLIVE_CHAT_FILTER_FILE"] = file
	env["FLASHLIVE_CHAT_HISTORY"] = "5000"
	env["FLASHLIVE_CHAT_LIMIT_USER"] = "3/s,burst=6"
	env["FLASHLIVE_CHAT_LIMIT_ROOM"] = "off"
	c, _, err = LoadConfig(cfgGetenv(env))
	if err != nil {
		t.Fatal(err)
	}
	want := ChatConfig{
		FilterWords: []string{"spam", "eggs", "foo", "bar baz"}, History: 5000,
		AuthorLimit: domain.Limit{Rate: 3, Burst: 6, Period: time.Second},
	}
	if !reflect.DeepEqual(c.Chat, want) {
		t.Fatalf("chat config = %+v, want %+v", c.Chat, want)
	}
	for _, tt := range []struct{ env, in, want string }{
		{"FLASHLIVE_CHAT_HISTORY", "199", `FLASHLIVE_CHAT_HISTORY "199" is not a whole number from 200 to 100000`},
		{"FLASHLIVE_CHAT_HISTORY", "many", `FLASHLIVE_CHAT_HISTORY "many" is not a whole number from 200 to 100000`},
		{"FLASHLIVE_CHAT_HISTORY", "100001", `FLASHLIVE_CHAT_HISTORY "100001" is not a whole number from 200 to 100000`},
		{"FLASHLIVE_CHAT_FILTER_FILE", "/no/such/file", `FLASHLIVE_CHAT_FILTER_FILE "/no/such/file" cannot be read`},
		{"FLASHLIVE_CHAT_LIMIT_USER", "fast", `FLASHLIVE_CHAT_LIMIT_USER "fast": want <rate>/<period>`},
		{"FLASHLIVE_CHAT_LIMIT_ROOM", "0/s", `FLASHLIVE_CHAT_LIMIT_ROOM "0/s": the rate must be`},
	} {
		_, _, err := LoadConfig(cfgDev(tt.env, tt.in))
		if err == nil || !strings.Contains(err.Error(), "\n  - "+tt.want) {
			t.Fatalf("%s=%q: error %v, want one naming %q", tt.env, tt.in, err, tt.want)
		}
	}
}
