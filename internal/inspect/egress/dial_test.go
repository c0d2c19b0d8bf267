package egress

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
)

// client returns an HTTP client whose every connection goes through control, and no proxy.
func client(control func(network, address string, conn syscall.RawConn) error) *http.Client {
	d := &net.Dialer{Control: control}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

func TestDialControlHTTP(t *testing.T) {
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("internal secret"))
	}))
	defer target.Close()

	open := mustNew(t, Options{})
	resp, err := client(open.DialControl()).Get(target.URL)
	if err != nil {
		t.Fatalf("without BlockPrivate: %v", err)
	}
	resp.Body.Close()
	if hits.Load() != 1 {
		t.Fatalf("without BlockPrivate the request did not arrive")
	}

	allowed := mustNew(t, Options{BlockPrivate: true, Allow: []string{"127.0.0.0/8"}})
	resp, err = client(allowed.DialControl()).Get(target.URL)
	if err != nil {
		t.Fatalf("with 127.0.0.0/8 allowed: %v", err)
	}
	resp.Body.Close()

	strict := mustNew(t, Options{BlockPrivate: true})
	_, err = client(strict.DialControl()).Get(target.URL)
	var refused *RefusedError
	if !errors.Is(err, ErrRefused) || !errors.As(err, &refused) || refused.Rule != RuleLoopback {
		t.Fatalf("with BlockPrivate: err = %v, want a RefusedError for loopback-address", err)
	}
	if hits.Load() != 2 {
		t.Errorf("the refused request reached the server")
	}
}

// TestDialControlRedirect: the first hop is to a server that stands in for an allowed public
// host (the test lets its address through; only 127.0.0.1 can be bound here), and redirects
// to an internal one. The redirect's dial is checked like any other.
func TestDialControlRedirect(t *testing.T) {
	var internalHits atomic.Int32
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		internalHits.Add(1)
	}))
	defer internal.Close()
	var redirects atomic.Int32
	public := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		redirects.Add(1)
		http.Redirect(w, r, internal.URL+"/admin", http.StatusFound)
	}))
	defer public.Close()

	check := mustNew(t, Options{BlockPrivate: true}).DialControl()
	publicAddr := public.Listener.Addr().String()
	control := func(network, address string, conn syscall.RawConn) error {
		if address == publicAddr {
			return nil
		}
		return check(network, address, conn)
	}
	_, err := client(control).Get(public.URL)
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("err = %v, want ErrRefused", err)
	}
	if redirects.Load() != 1 || internalHits.Load() != 0 {
		t.Errorf("redirects %d, internal hits %d; want 1 and 0", redirects.Load(), internalHits.Load())
	}
}

func TestDialControlAddresses(t *testing.T) {
	control := mustNew(t, Options{BlockPrivate: true, Allow: []string{"10.1.2.0/24"}}).DialControl()
	tests := []struct {
		network, address string
		want             string // rule, or "" for allowed
	}{
		{"tcp4", "169.254.169.254:80", RuleMetadata},
		{"tcp6", "[::1]:443", RuleLoopback},
		{"tcp6", "[::ffff:127.0.0.1]:443", RuleLoopback},
		{"tcp6", "[fe80::1%eth0]:80", RuleLinkLocal},
		{"tcp4", "0.0.0.0:22", RuleUnspecified},
		{"tcp4", "10.9.9.9:5432", RulePrivate},
		{"tcp4", "10.1.2.3:5432", ""}, // allowed network
		{"tcp4", "93.184.216.34:443", ""},
		{"udp6", "[2606:4700:4700::1111]:53", ""},
		{"unix", "/run/docker.sock", RuleLoopback},
	}
	for _, tt := range tests {
		err := control(tt.network, tt.address, nil)
		var refused *RefusedError
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s %s: %v, want allowed", tt.network, tt.address, err)
		case tt.want != "" && (!errors.As(err, &refused) || refused.Rule != tt.want):
			t.Errorf("%s %s: %v, want refused for %s", tt.network, tt.address, err, tt.want)
		}
	}
}
