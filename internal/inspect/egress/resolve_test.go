package egress

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeDNS answers A and AAAA queries over UDP on 127.0.0.1 from a table. Names not in the
// table get NXDOMAIN; names in silent get no answer at all.
type fakeDNS struct {
	answers map[string][]netip.Addr // lower case, no trailing dot
	silent  map[string]bool

	mu    sync.Mutex
	asked []string
}

// startDNS serves d until the test ends and returns a resolver that asks only it.
func startDNS(t *testing.T, d *fakeDNS) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { pc.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := d.answer(buf[:n]); resp != nil {
				pc.WriteTo(resp, from)
			}
		}
	}()
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "udp", pc.LocalAddr().String())
		},
	}
}

func (d *fakeDNS) queried(name string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Contains(d.asked, name)
}

// answer builds the response to one query, or nil to stay silent.
func (d *fakeDNS) answer(q []byte) []byte {
	if len(q) < 12 {
		return nil
	}
	var labels []string
	off := 12
	for off < len(q) && q[off] != 0 {
		l := int(q[off])
		if off+1+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[off+1:off+1+l]))
		off += 1 + l
	}
	off++ // the root label
	if off+4 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[off:])
	question := q[12 : off+4]
	name := strings.ToLower(strings.Join(labels, "."))
	d.mu.Lock()
	d.asked = append(d.asked, name)
	d.mu.Unlock()
	if d.silent[name] {
		return nil
	}
	addrs, known := d.answers[name]
	var rrs [][]byte
	for _, a := range addrs {
		if qtype == 1 && a.Is4() || qtype == 28 && a.Is6() {
			rdata := a.AsSlice()
			rr := []byte{0xc0, 12, 0, byte(qtype), 0, 1, 0, 0, 0, 60, 0, byte(len(rdata))}
			rrs = append(rrs, append(rr, rdata...))
		}
	}
	rcode := byte(0)
	if !known {
		rcode = 3 // NXDOMAIN
	}
	resp := []byte{q[0], q[1], 0x81, 0x80 | rcode, 0, 1, 0, byte(len(rrs)), 0, 0, 0, 0}
	resp = append(resp, question...)
	for _, rr := range rrs {
		resp = append(resp, rr...)
	}
	return resp
}

func addrs(ss ...string) []netip.Addr {
	var as []netip.Addr
	for _, s := range ss {
		as = append(as, netip.MustParseAddr(s))
	}
	return as
}

func TestCheckResolve(t *testing.T) {
	dns := &fakeDNS{
		answers: map[string][]netip.Addr{
			"public.example":  addrs("93.184.216.34", "2606:2800:220:1::"),
			"rebind.example":  addrs("93.184.216.34", "127.0.0.1"), // any internal address counts
			"meta.example":    addrs("169.254.169.254"),
			"v6.example":      addrs("::1"),
			"mapped.example":  addrs("::ffff:10.0.0.1"),
			"private.example": addrs("10.1.2.3", "192.168.1.1"),
			"svc.example":     addrs("10.1.2.3"),
			"empty.example":   nil,
		},
		silent: map[string]bool{"slow.example": true},
	}
	r := startDNS(t, dns)
	c := mustNew(t, Options{BlockPrivate: true, Resolve: true, Resolver: r, Timeout: 300 * time.Millisecond})
	tests := []struct {
		text string
		want []string
	}{
		{"https://public.example/", nil},
		{"https://rebind.example/", []string{"loopback-address rebind.example"}},
		{"https://meta.example/latest", []string{"metadata-address meta.example"}},
		{"https://v6.example/", []string{"loopback-address v6.example"}},
		{"https://mapped.example/", []string{"private-address mapped.example"}},
		{"https://private.example/", []string{"private-address private.example"}}, // one Match per rule
		{"https://nx.example/", []string{"unresolvable-destination nx.example"}},
		{"https://empty.example/", []string{"unresolvable-destination empty.example"}},
		{"https://slow.example/", []string{"unresolvable-destination slow.example"}},
		{"https://evil.com,x.example/", []string{"unresolvable-destination evil.com,x.example"}}, // not a name: not sent
		{"http://localhost/", []string{"loopback-address localhost"}},                            // by name, no lookup
		{"mail bob@nx.example", nil},                                                             // e-mail domains are not looked up
		{"a https://rebind.example/ b https://meta.example/ c https://rebind.example/x", []string{
			"loopback-address rebind.example", "metadata-address meta.example", "loopback-address rebind.example"}},
	}
	for _, tt := range tests {
		if got := matches(t, c, tt.text); !slices.Equal(got, tt.want) {
			t.Errorf("Check(%q)\n got %q\nwant %q", tt.text, got, tt.want)
		}
	}
	if dns.queried("evil.com,x.example") {
		t.Error("an invalid name was sent to DNS")
	}
}

func TestCheckResolveAllowlist(t *testing.T) {
	dns := &fakeDNS{answers: map[string][]netip.Addr{
		"svc.example":   addrs("10.1.2.3"),
		"other.example": addrs("10.9.9.9"),
		"leak.example":  addrs("93.184.216.34"),
	}}
	r := startDNS(t, dns)
	c := mustNew(t, Options{Allow: []string{"*.example", "10.1.2.0/24"}, BlockPrivate: true, Resolve: true, Resolver: r, Timeout: time.Second})
	if got := matches(t, c, "https://svc.example/ https://other.example/"); !slices.Equal(got, []string{"private-address other.example"}) {
		t.Errorf("got %q: an address pattern exempts the addresses a name resolves to, a name pattern does not", got)
	}
	strict := mustNew(t, Options{Allow: []string{"svc.example"}, Resolve: true, Resolver: r, Timeout: time.Second})
	if got := matches(t, strict, "https://secret-token.leak.example/"); !slices.Equal(got, []string{"destination-not-allowed secret-token.leak.example"}) {
		t.Errorf("got %q", got)
	}
	if dns.queried("secret-token.leak.example") {
		t.Error("a name the allowlist refused was sent to DNS, which would carry it out")
	}
}

func TestCheckResolveCancelled(t *testing.T) {
	r := startDNS(t, &fakeDNS{answers: map[string][]netip.Addr{"public.example": addrs("93.184.216.34")}})
	c := mustNew(t, Options{Resolve: true, Resolver: r})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ms := c.Check(ctx, "https://public.example/")
	if len(ms) != 1 || ms[0].Rule != RuleUnresolvable {
		t.Errorf("Check with a cancelled context = %v, want unresolvable-destination (fail closed)", ms)
	}
}

func TestCheckResolveLimit(t *testing.T) {
	dns := &fakeDNS{answers: map[string][]netip.Addr{}}
	var b strings.Builder
	for i := range maxLookups + 3 {
		name := "h" + strconv.Itoa(i) + ".example"
		dns.answers[name] = addrs("93.184.216.34")
		b.WriteString("https://" + name + "/ ")
	}
	c := mustNew(t, Options{Resolve: true, Resolver: startDNS(t, dns)})
	ms := c.Check(context.Background(), b.String())
	if len(ms) != 3 {
		t.Fatalf("got %d matches, want the 3 names past the limit", len(ms))
	}
	for _, m := range ms {
		if m.Rule != RuleUnresolvable {
			t.Errorf("%v", m)
		}
	}
}

// TestResolveHostsFile uses the system resolver on a name /etc/hosts answers.
func TestResolveHostsFile(t *testing.T) {
	if _, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip", "localhost"); err != nil {
		t.Skip("localhost does not resolve here:", err)
	}
	c := mustNew(t, Options{Resolve: true, Allow: []string{"localhost"}, BlockPrivate: true})
	if got := matches(t, c, "http://localhost:8080/"); !slices.Equal(got, []string{"loopback-address localhost"}) {
		t.Errorf("got %q: an allowed name that resolves to loopback is still reported", got)
	}
}
