package egress

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// ErrBadPattern is wrapped by the errors New returns for an Options.Allow pattern it cannot
// use.
var ErrBadPattern = errors.New("bad allow pattern")

// allowList is Options.Allow compiled. Name patterns match host names (and e-mail patterns
// e-mail domains); address patterns match IP addresses, from URLs, from e-mail domain
// literals, from resolution and at dial time.
type allowList struct {
	n             int                 // patterns; 0 means no allowlist
	hosts         map[string]struct{} // "example.com"
	hostSuffixes  []string            // ".example.com" from "*.example.com"
	emails        map[string]struct{} // "example.com" from "@example.com"
	emailSuffixes []string            // ".example.com" from "@*.example.com"
	prefixes      []netip.Prefix      // "10.1.2.0/24", "10.1.2.3"
}

// compileAllow compiles patterns, reporting every bad one, each named by its index.
func compileAllow(patterns []string) (allowList, error) {
	a := allowList{n: len(patterns), hosts: map[string]struct{}{}, emails: map[string]struct{}{}}
	var errs []error
	for i, p := range patterns {
		if err := a.add(p); err != nil {
			errs = append(errs, fmt.Errorf("egress: Allow[%d] %q: %w", i, p, err))
		}
	}
	return a, errors.Join(errs...)
}

func (a *allowList) add(p string) error {
	p = strings.TrimSpace(p)
	email := strings.HasPrefix(p, "@")
	if email {
		p = p[1:]
	}
	if p == "" {
		return fmt.Errorf("%w: empty", ErrBadPattern)
	}
	if strings.IndexByte(p, '/') >= 0 {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return fmt.Errorf("%w: not a CIDR: %w", ErrBadPattern, err)
		}
		if pfx.Addr().Zone() != "" {
			return fmt.Errorf("%w: a CIDR has no zone", ErrBadPattern)
		}
		if m := pfx.Masked(); m != pfx {
			return fmt.Errorf("%w: host bits set (the network is %s)", ErrBadPattern, m)
		}
		a.prefixes = append(a.prefixes, pfx)
		return nil
	}
	if ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(p, "["), "]")); err == nil {
		ip = ip.WithZone("")
		a.prefixes = append(a.prefixes, netip.PrefixFrom(ip, ip.BitLen()))
		return nil
	}
	for i := 0; i < len(p); i++ {
		if p[i] >= utf8.RuneSelf {
			return fmt.Errorf("%w: IDNA is not supported; write the name in its xn-- form", ErrBadPattern)
		}
	}
	p = strings.TrimRight(strings.ToLower(p), ".")
	wild := strings.HasPrefix(p, "*.")
	if wild {
		p = p[2:]
	}
	switch {
	case strings.IndexByte(p, '*') >= 0:
		return fmt.Errorf("%w: '*' may only be a whole first label, as in *.example.com", ErrBadPattern)
	case strings.IndexByte(p, ':') >= 0:
		return fmt.Errorf("%w: a pattern has no port", ErrBadPattern)
	case !validHost(p):
		return fmt.Errorf("%w: not a host name, e-mail domain (@example.com), IP address or CIDR", ErrBadPattern)
	}
	if ip, ok := parseIPv4(p); ok && !wild { // "2130706433": as the host normaliser reads it
		a.prefixes = append(a.prefixes, netip.PrefixFrom(ip, 32))
		return nil
	}
	switch {
	case email && wild:
		a.emailSuffixes = append(a.emailSuffixes, "."+p)
	case email:
		a.emails[p] = struct{}{}
	case wild:
		a.hostSuffixes = append(a.hostSuffixes, "."+p)
	default:
		a.hosts[p] = struct{}{}
	}
	return nil
}

// allowsName reports whether a normalised host name (an e-mail domain if email) matches a
// name pattern. A host that is not a valid name matches nothing.
func (a *allowList) allowsName(host string, email bool) bool {
	exact, suffixes := a.hosts, a.hostSuffixes
	if email {
		exact, suffixes = a.emails, a.emailSuffixes
	}
	_, ok := exact[host]
	for _, s := range suffixes {
		if ok {
			break
		}
		ok = len(host) > len(s) && strings.HasSuffix(host, s)
	}
	return ok && validHost(host)
}

// allowsAddr reports whether ip is inside an address pattern. An IPv4-mapped IPv6 address
// matches the IPv4 patterns too.
func (a *allowList) allowsAddr(ip netip.Addr) bool {
	ip = ip.WithZone("")
	for _, p := range a.prefixes {
		if p.Contains(ip) || ip.Is4In6() && p.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}
