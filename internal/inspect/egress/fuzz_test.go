package egress

import (
	"context"
	"testing"
)

// FuzzDestinations: any text is scanned without panicking; destinations and matches lie
// inside the text, are not empty, and come sorted by Start.
func FuzzDestinations(f *testing.F) {
	for _, s := range []string{
		"", "http://good.com@evil.com/", `http://evil.com\@good.com/`, "http://good.com%40evil.com/",
		`"http:\/\/good.com\u0040evil.com\/"`, "http://[::ffff:127.0.0.1]:80/", "http://0x7f.1/",
		"http://2130706433/", "see evil.com/x and bob@corp.example", "user@[IPv6:::1]", "fe80::1%eth0",
		"[2001:db8::1]:443", "http://127。0。0。1/", "http://[", "http://@", "a@", "::", "1.2.3.4:",
		`{"a":"x\nevil.com"}`, "http:\\\\", "\\u00", "ftp://ｅｘａｍｐｌｅ.com/",
	} {
		f.Add(s)
	}
	c, err := New(Options{BlockPrivate: true, Allow: []string{"example.com", "*.good.com", "10.0.0.0/8", "@corp.example"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		prev := 0
		for _, d := range Destinations(text) {
			if d.Start < prev || d.Start >= d.End || d.End > len(text) || d.Host == "" {
				t.Fatalf("Destinations(%q): bad %+v after start %d", text, d, prev)
			}
			prev = d.Start
		}
		prev = 0
		for _, m := range c.Check(context.Background(), text) {
			if m.Start < prev || m.Start >= m.End || m.End > len(text) || m.Rule == "" || m.Dest == "" {
				t.Fatalf("Check(%q): bad %+v after start %d", text, m, prev)
			}
			prev = m.Start
		}
	})
}
