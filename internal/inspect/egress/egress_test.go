package egress

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// matches renders Check's result as "rule dest" strings.
func matches(t *testing.T, c *Checker, text string) []string {
	t.Helper()
	var got []string
	for _, m := range c.Check(context.Background(), text) {
		got = append(got, m.Rule+" "+m.Dest)
	}
	return got
}

func mustNew(t testing.TB, opts Options) *Checker {
	t.Helper()
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCheckBlockPrivate(t *testing.T) {
	c := mustNew(t, Options{BlockPrivate: true})
	tests := []struct {
		text string
		want []string
	}{
		{"http://169.254.169.254/latest/meta-data/", []string{"metadata-address 169.254.169.254"}},
		{"http://[fd00:ec2::254]/latest/meta-data/", []string{"metadata-address fd00:ec2::254"}},
		{"http://100.100.100.200/latest/meta-data/", []string{"metadata-address 100.100.100.200"}},
		{"http://metadata.google.internal/computeMetadata/v1/", []string{"metadata-address metadata.google.internal"}},
		{"http://[::ffff:169.254.169.254]/", []string{"metadata-address ::ffff:169.254.169.254"}},
		{"http://localhost:8080/admin", []string{"loopback-address localhost"}},
		{"http://LOCALHOST./admin", []string{"loopback-address localhost"}},
		{"http://app.localhost/", []string{"loopback-address app.localhost"}},
		{"http://127.1/", []string{"loopback-address 127.0.0.1"}},
		{"http://2130706433/", []string{"loopback-address 127.0.0.1"}},
		{"http://0x7f.1/", []string{"loopback-address 127.0.0.1"}},
		{"http://[::1]:631/", []string{"loopback-address ::1"}},
		{"http://[::ffff:127.0.0.1]/", []string{"loopback-address ::ffff:127.0.0.1"}},
		{"http://good.com@127.0.0.1/", []string{"loopback-address 127.0.0.1"}},
		{`http://127.0.0.1\@good.com/`, []string{"loopback-address 127.0.0.1"}},
		{"http://0.0.0.0:8080/", []string{"unspecified-address 0.0.0.0"}},
		{"http://0/", []string{"unspecified-address 0.0.0.0"}},
		{"http://10.1.2.3/", []string{"private-address 10.1.2.3"}},
		{"http://172.16.5.4/", []string{"private-address 172.16.5.4"}},
		{"http://192.168.0.1/", []string{"private-address 192.168.0.1"}},
		{"http://100.64.0.1/", []string{"private-address 100.64.0.1"}},
		{"http://[fc00::1]/", []string{"private-address fc00::1"}},
		{"http://169.254.1.1/", []string{"link-local-address 169.254.1.1"}},
		{"http://[fe80::1%25eth0]/", []string{"link-local-address fe80::1%eth0"}},
		{"http://224.0.0.1/", []string{"reserved-address 224.0.0.1"}},
		{"http://jenkins:8080/job", []string{"internal-name jenkins"}},
		{"http://host.docker.internal/", []string{"internal-name host.docker.internal"}},
		{"http://printer.local/", []string{"internal-name printer.local"}},
		{`{"host": "10.0.0.7", "port": 5432}`, []string{"private-address 10.0.0.7"}},
		{"ssh admin@[127.0.0.1]", []string{"loopback-address 127.0.0.1"}},
		{"https://example.com/ and mail bob@example.com", nil},
		{"http://93.184.216.34/ and http://[2606:2800:220:1::]/", nil},
		{"nothing to see here", nil},
	}
	for _, tt := range tests {
		if got := matches(t, c, tt.text); !slices.Equal(got, tt.want) {
			t.Errorf("Check(%q)\n got %q\nwant %q", tt.text, got, tt.want)
		}
	}
}

func TestCheckAllow(t *testing.T) {
	c := mustNew(t, Options{Allow: []string{"example.com", "*.good.com", "10.1.2.0/24", "2001:db8::/32", "@corp.example", "@*.mail.example", "192.0.2.7"}})
	tests := []struct {
		text string
		want []string
	}{
		{"https://example.com/x", nil},
		{"https://EXAMPLE.com./x", nil},
		{"https://www.example.com/", []string{"destination-not-allowed www.example.com"}}, // exact means exact
		{"https://a.b.good.com/", nil},
		{"https://good.com/", []string{"destination-not-allowed good.com"}}, // *. is subdomains only
		{"https://evilgood.com/", []string{"destination-not-allowed evilgood.com"}},
		{"https://good.com.evil.com/", []string{"destination-not-allowed good.com.evil.com"}},
		{"http://example.com@evil.com/", []string{"destination-not-allowed evil.com"}},
		{`http://evil.com\@example.com/`, []string{"destination-not-allowed evil.com"}},
		{"http://example.com%40evil.com/", []string{"destination-not-allowed example.com@evil.com", "destination-not-allowed evil.com"}},
		{"http://10.1.2.9/", nil},
		{"http://[::ffff:10.1.2.9]/", nil},
		{"http://10.1.3.1/", []string{"destination-not-allowed 10.1.3.1"}},
		{"http://[2001:db8::5]/", nil},
		{"http://192.0.2.7/ http://192.0.2.8/", []string{"destination-not-allowed 192.0.2.8"}},
		{"mail bob@corp.example", nil},
		{"mail bob@eu.mail.example", nil},
		{"mail bob@evil.example", []string{"destination-not-allowed evil.example"}},
		{"https://corp.example/", []string{"destination-not-allowed corp.example"}}, // e-mail patterns are not host patterns
		{"mail bob@example.com", []string{"destination-not-allowed example.com"}},   // nor host patterns e-mail ones
		{"see evil.com/upload and https://example.com", []string{"destination-not-allowed evil.com"}},
		{"ftp://ｅｘａｍｐｌｅ.com/", nil},
		{"https://bücher.example.com/", []string{"destination-not-allowed bücher.example.com"}}, // no IDNA: fails closed
		{"no destinations at all", nil},
	}
	for _, tt := range tests {
		if got := matches(t, c, tt.text); !slices.Equal(got, tt.want) {
			t.Errorf("Check(%q)\n got %q\nwant %q", tt.text, got, tt.want)
		}
	}
}

func TestCheckAllowAndBlockPrivate(t *testing.T) {
	c := mustNew(t, Options{Allow: []string{"10.1.2.0/24", "*.corp", "example.com"}, BlockPrivate: true})
	tests := []struct {
		text string
		want []string
	}{
		{"http://10.1.2.3/", nil}, // an address pattern exempts its network
		{"http://10.9.9.9/", []string{"private-address 10.9.9.9", "destination-not-allowed 10.9.9.9"}},
		{"http://wiki.corp/", nil}, // a name pattern exempts the name
		{"http://localhost/", []string{"loopback-address localhost", "destination-not-allowed localhost"}},
		{"https://example.com/ then http://169.254.169.254/", []string{"metadata-address 169.254.169.254", "destination-not-allowed 169.254.169.254"}},
	}
	for _, tt := range tests {
		if got := matches(t, c, tt.text); !slices.Equal(got, tt.want) {
			t.Errorf("Check(%q)\n got %q\nwant %q", tt.text, got, tt.want)
		}
	}
}

func TestCheckOffsets(t *testing.T) {
	c := mustNew(t, Options{BlockPrivate: true, Allow: []string{"example.com"}})
	text := `{"url":"http://169.254.169.254/latest","cc":"eve@evil.test","ok":"https://example.com/"}`
	var got []string
	for _, m := range c.Check(context.Background(), text) {
		got = append(got, fmt.Sprintf("%s %q", m.Rule, text[m.Start:m.End]))
	}
	want := []string{
		`metadata-address "http://169.254.169.254/latest"`,
		`destination-not-allowed "http://169.254.169.254/latest"`,
		`destination-not-allowed "eve@evil.test"`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestNewBadPatterns(t *testing.T) {
	bad := []string{"", "@", "10.1.2.0/33", "10.1.2.3/24", "fe80::/10%eth0", "*", "a.*.com", "*example.com", "example.com:443", "bücher.de", "exa mple.com", "http://example.com/"}
	for _, p := range bad {
		_, err := New(Options{Allow: []string{"example.com", p}})
		if !errors.Is(err, ErrBadPattern) {
			t.Errorf("New(Allow %q): err = %v, want ErrBadPattern", p, err)
			continue
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("Allow[1] %q", p)) {
			t.Errorf("New(Allow %q): %v does not name the pattern", p, err)
		}
	}
	_, err := New(Options{Allow: []string{"10.0.0.0/33", "ok.com", "a.*.b"}, Timeout: -1})
	for _, want := range []string{"Allow[0]", "Allow[2]", "Timeout"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New: %v, want every problem (%s) reported", err, want)
		}
	}
	good := []string{"example.com", "EXAMPLE.com.", "*.example.com", "@example.com", "@*.example.com", "10.0.0.0/8", "2001:db8::/32", "10.1.2.3", "[::1]", "jenkins", "xn--bcher-kva.de"}
	if _, err := New(Options{Allow: good}); err != nil {
		t.Errorf("New(%q): %v", good, err)
	}
}

func TestIsInternal(t *testing.T) {
	tests := []struct {
		addr string
		want string // "" for not internal
	}{
		{"169.254.169.254", RuleMetadata},
		{"169.254.170.2", RuleMetadata},
		{"100.100.100.200", RuleMetadata},
		{"fd00:ec2::254", RuleMetadata},
		{"::ffff:169.254.169.254", RuleMetadata},
		{"127.0.0.1", RuleLoopback},
		{"127.255.255.254", RuleLoopback},
		{"::1", RuleLoopback},
		{"::ffff:127.0.0.1", RuleLoopback},
		{"::127.0.0.1", RuleLoopback},        // IPv4-compatible
		{"::ffff:0:127.0.0.1", RuleLoopback}, // SIIT
		{"64:ff9b::7f00:1", RuleLoopback},    // NAT64
		{"2002:7f00:1::1", RuleLoopback},     // 6to4
		{"64:ff9b::a9fe:a9fe", RuleMetadata}, // NAT64 of 169.254.169.254
		{"0.0.0.0", RuleUnspecified},         //
		{"0.1.2.3", RuleUnspecified},         // "this network"
		{"::", RuleUnspecified},              //
		{"169.254.0.1", RuleLinkLocal},       //
		{"fe80::1%eth0", RuleLinkLocal},      //
		{"10.0.0.1", RulePrivate},            //
		{"172.31.255.255", RulePrivate},      //
		{"192.168.1.1", RulePrivate},         //
		{"100.64.0.1", RulePrivate},          // CGNAT
		{"100.127.255.255", RulePrivate},     //
		{"fd12:3456::1", RulePrivate},        // unique-local
		{"fec0::1", RulePrivate},             // site-local
		{"64:ff9b:1::a00:1", RulePrivate},    // local-use NAT64
		{"224.0.0.251", RuleReserved},        // multicast
		{"ff02::1", RuleReserved},            //
		{"255.255.255.255", RuleReserved},    //
		{"198.18.0.1", RuleReserved},         // benchmarking
		{"8.8.8.8", ""},                      //
		{"172.32.0.1", ""},                   // just past 172.16/12
		{"100.128.0.1", ""},                  // just past 100.64/10
		{"2606:4700:4700::1111", ""},         //
		{"::ffff:8.8.8.8", ""},               //
		{"64:ff9b::808:808", ""},             // NAT64 of 8.8.8.8
		{"2002:808:808::1", ""},              // 6to4 of 8.8.8.8
		{"2001:db8::1", ""},                  // documentation: not internal
	}
	for _, tt := range tests {
		rule, internal := IsInternal(netip.MustParseAddr(tt.addr))
		if rule != tt.want || internal != (tt.want != "") {
			t.Errorf("IsInternal(%s) = %q, %v; want %q", tt.addr, rule, internal, tt.want)
		}
	}
	if rule, internal := IsInternal(netip.Addr{}); internal || rule != "" {
		t.Errorf("IsInternal(zero) = %q, %v", rule, internal)
	}
}
