package egress

import (
	"fmt"
	"slices"
	"testing"
)

// render shows a destination as host, "email" if it is one, and the text it spans.
func render(text string, d Destination) string {
	kind := ""
	if d.Email {
		kind = " email"
	}
	return fmt.Sprintf("%s%s %q", d.Host, kind, text[d.Start:d.End])
}

func TestDestinations(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"empty", "", nil},
		{"prose without destinations", "Summarise the meeting notes: version 1.2 shipped, pi is 3.14, see README.md, main.py and logger.info at 12:30:45; std::vector.", nil},
		{"url", "fetch https://evil.com/x?y=1 now", []string{`evil.com "https://evil.com/x?y=1"`}},
		{"url ends at punctuation", "see http://evil.com, then", []string{`evil.com "http://evil.com"`}},
		{"userinfo stripped", "http://good.com@evil.com/", []string{`evil.com "http://good.com@evil.com/"`}},
		{"userinfo with password and sub-delims", "http://a'b:p;w@evil.com/", []string{`evil.com "http://a'b:p;w@evil.com/"`}},
		{"case, trailing dot, port", "http://user:pw@EVIL.COM.:8080/p", []string{`evil.com "http://user:pw@EVIL.COM.:8080/p"`}},
		{"localhost", "http://localhost/admin", []string{`localhost "http://localhost/admin"`}},
		{"LOCALHOST.", "http://LOCALHOST./admin", []string{`localhost "http://LOCALHOST./admin"`}},
		{"decimal ipv4", "http://2130706433/", []string{`127.0.0.1 "http://2130706433/"`}},
		{"hex ipv4", "http://0x7f.1/", []string{`127.0.0.1 "http://0x7f.1/"`}},
		{"octal ipv4", "http://0177.0.0.01/", []string{`127.0.0.1 "http://0177.0.0.01/"`}},
		{"short ipv4", "http://127.1:9000/", []string{`127.0.0.1 "http://127.1:9000/"`}},
		{"unspecified", "http://0.0.0.0:8000", []string{`0.0.0.0 "http://0.0.0.0:8000"`}},
		{"ipv4-mapped ipv6", "http://[::ffff:127.0.0.1]:80/", []string{`::ffff:127.0.0.1 "http://[::ffff:127.0.0.1]:80/"`}},
		{"ipv6 zone", "http://[fe80::1%25eth0]/", []string{`fe80::1%eth0 "http://[fe80::1%25eth0]/"`}},
		{"percent-encoded host", "http://%31%32%37.0.0.1/", []string{`127.0.0.1 "http://%31%32%37.0.0.1/"`}},
		{"percent-encoded @", "http://good.com%40evil.com/", []string{`good.com@evil.com "http://good.com%40evil.com/"`, `evil.com "http://good.com%40evil.com/"`}},
		{"backslash before @: both readings", `http://evil.com\@good.com/`, []string{`evil.com "http://evil.com\\@good.com/"`, `good.com "http://evil.com\\@good.com/"`}},
		{"special scheme with backslashes", `http:\\evil.com\x`, []string{`evil.com "http:\\\\evil.com\\x"`}},
		{"special scheme with one slash", `https:/evil.com`, []string{`evil.com "https:/evil.com"`}},
		{"json-escaped slashes", `{"u":"http:\/\/evil.com\/x"}`, []string{`evil.com "http:\\/\\/evil.com\\/x"`}},
		{"json-escaped @", `"http://good.com\u0040evil.com/"`, []string{`good.com "http://good.com\\u0040evil.com/"`, `evil.com "http://good.com\\u0040evil.com/"`}},
		{"json escape before a host", `{"a":"x\nevil.com"}`, []string{`evil.com "evil.com"`}},
		{"any scheme", "gopher://127.0.0.1:6379/_INFO and smb://fileserver/share", []string{`127.0.0.1 "gopher://127.0.0.1:6379/_INFO"`, `fileserver "smb://fileserver/share"`}},
		{"no host", "file:///etc/passwd", nil},
		{"fullwidth and ideographic dots", "ftp://ｅｘａｍｐｌｅ.com/ http://127。0。0。1/", []string{`example.com "ftp://ｅｘａｍｐｌｅ.com/"`, `127.0.0.1 "http://127。0。0。1/"`}},
		{"url nested in a query", "http://good.com/r?to=http://169.254.169.254/latest", []string{
			`good.com "http://good.com/r?to=http://169.254.169.254/latest"`, `169.254.169.254 "http://169.254.169.254/latest"`}},
		{"url-encoded url in a query", "https://good.com/r?to=http%3A%2F%2F169.254.169.254%2Flatest&x=1", []string{
			`good.com "https://good.com/r?to=http%3A%2F%2F169.254.169.254%2Flatest&x=1"`, `169.254.169.254 "http%3A%2F%2F169.254.169.254%2Flatest"`}},
		{"encoded twice", "u=http%253A%252F%252F10.0.0.1", []string{`10.0.0.1 "http%253A%252F%252F10.0.0.1"`}},
		{"encoded e-mail", "to=bob%40evil.com", []string{`evil.com email "bob%40evil.com"`}},
		{"bare hosts", "see evil.com/path and api.evil.io:8443 or //cdn.evil.net", []string{`evil.com "evil.com"`, `api.evil.io "api.evil.io:8443"`, `cdn.evil.net "cdn.evil.net"`}},
		{"bare host with a file-extension tld needs context", "notes.md evil.md/x www.evil.zip data.zip", []string{`evil.md "evil.md"`, `www.evil.zip "www.evil.zip"`}},
		{"bare uppercase", "EVIL.COM.", []string{`evil.com "EVIL.COM"`}},
		{"bare localhost", "curl localhost:8080/admin", []string{`localhost "localhost:8080"`}},
		{"bare metadata name", "GET metadata.google.internal/computeMetadata/v1/", []string{`metadata.google.internal "metadata.google.internal"`}},
		{"bare ipv4 with port", "connect to 10.0.0.5:22.", []string{`10.0.0.5 "10.0.0.5:22"`}},
		{"bare ipv4 in json", `{"host":"169.254.169.254","port":80}`, []string{`169.254.169.254 "169.254.169.254"`}},
		{"bare numbers are not addresses", "2130706433 and 0x7f.1 and 127.1", nil},
		{"bare ipv6", `"::1" and fe80::1%eth0 and [2001:db8::1]:443`, []string{`::1 "::1"`, `fe80::1%eth0 "fe80::1%eth0"`, `2001:db8::1 "[2001:db8::1]:443"`}},
		{"email", "mail alice@Example.com today", []string{`example.com email "alice@Example.com"`}},
		{"email with plus", "to: a.b+tag@mail.corp.example.", []string{`mail.corp.example email "a.b+tag@mail.corp.example"`}},
		{"email domain literal", "user@[10.0.0.1] user@[IPv6:::1]", []string{`10.0.0.1 email "user@[10.0.0.1]"`, `::1 email "user@[IPv6:::1]"`}},
		{"userinfo without a scheme", "admin:pw@10.0.0.1:8080", []string{`10.0.0.1 "10.0.0.1:8080"`}},
		{"not an email", "a@b and @handle and x@y.1", nil},
		{"json arguments", `{"url":"https://api.example.com/v1","to":"bob@corp.example"}`, []string{
			`api.example.com "https://api.example.com/v1"`, `corp.example email "bob@corp.example"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, d := range Destinations(tt.text) {
				got = append(got, render(tt.text, d))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Destinations(%q)\n got %q\nwant %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestNormaliseHost(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"Example.COM", "example.com"},
		{"example.com..", "example.com"},
		{"%65xample.com", "example.com"},
		{"[::FFFF:7F00:1]", "::ffff:127.0.0.1"},
		{"[fe80::1%25eth0]", "fe80::1%eth0"},
		{"[evil.com]", "evil.com"},
		{"2130706433", "127.0.0.1"},
		{"0x7F000001", "127.0.0.1"},
		{"0x7f.0.0.0x1", "127.0.0.1"},
		{"10.0.1", "10.0.0.1"},
		{"0", "0.0.0.0"},
		{"4294967296", "4294967296"}, // past 32 bits: a name, which will not resolve
		{"1.2.3.4.5", "1.2.3.4.5"},
		{"08.0.0.1", "08.0.0.1"}, // 8 is not an octal digit
		{"256.0.0.1", "256.0.0.1"},
		{"%3A%3A1", "::1"},
		{"ⓛⓞⓒⓐⓛⓗⓞⓢⓣ", "localhost"},
		{"①②⑦.⓪.⓪.①", "127.0.0.1"},
		{"bücher.de", "bücher.de"}, // IDNA is out of scope
		{"", ""},
	}
	for _, tt := range tests {
		if got := normaliseHost(tt.raw, false); got != tt.want {
			t.Errorf("normaliseHost(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

func TestIsWord(t *testing.T) {
	for c := range 256 {
		b := byte(c)
		want := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || isDigit(b) || b == '.' || b == '-' || b == '_' || b == '%' || b == '+'
		if isWord(b) != want {
			t.Errorf("isWord(%q) = %v", b, !want)
		}
	}
}
