package egress

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"time"
)

// Match is one destination that breaks a rule. A destination that breaks several rules
// (not allowed, and a private address) gives one Match for each.
type Match struct {
	Rule       string // one of the Rule constants
	Dest       string // the host (or e-mail domain) as found, normalised as Destination.Host is
	Start, End int    // byte offsets of the destination (URL, host or e-mail address) in the scanned text
}

// Options configures a Checker.
type Options struct {
	// Allow is the allowlist. Empty means no allowlist check. Patterns:
	//   "example.com"    that host exactly
	//   "*.example.com"  its subdomains at any depth, not example.com itself
	//   "@example.com"   e-mail to that domain; "@*.example.com" to its subdomains
	//   "10.1.2.0/24"    IP addresses in the network; "10.1.2.3" that address
	// Host patterns do not match e-mail domains, nor e-mail patterns hosts. Names are
	// ASCII: IDNA is out of scope, write an internationalised name in its xn-- form.
	// An address pattern also exempts its addresses from BlockPrivate, in Check and in
	// DialControl; a name pattern exempts the name from internal-name and the other name
	// rules, but not the addresses it resolves to: to reach an internal service by name,
	// allow its network too.
	Allow []string
	// BlockPrivate reports destinations on internal addresses (see IsInternal: private,
	// loopback, link-local, unspecified, CGNAT, unique-local IPv6, reserved, IPv4-mapped
	// and other embedded forms, and cloud metadata), and names that are internal by
	// themselves: localhost, metadata.google.internal, one-label names, .internal, .local….
	BlockPrivate bool
	// Resolve looks up each host name that the allowlist lets through and checks every
	// address it resolves to: a name with any internal address is reported (DNS rebinding
	// may answer a public address first and an internal one next). A lookup that fails or
	// times out is reported as unresolvable-destination (fail closed). E-mail domains are
	// not looked up: mail goes to their MX hosts, not to them.
	//
	// Resolution sends the names in the text to DNS, which is itself a channel out: with no
	// allowlist, an attacker's name such as <secret>.evil.com reaches evil.com's name server.
	// The check is also only as good as the answer at the time; DialControl checks the
	// address actually dialled.
	Resolve  bool
	Resolver *net.Resolver // nil = net.DefaultResolver
	// Timeout bounds each lookup; 0 means 2 seconds.
	Timeout time.Duration
}

// maxLookups bounds the names one Check resolves; names past it are reported as
// unresolvable, so that text full of names cannot make a Check take long.
const maxLookups = 64

// lookupsAtOnce bounds the lookups one Check runs at a time.
const lookupsAtOnce = 8

// Checker checks text for destinations. It is safe for concurrent use.
type Checker struct {
	allow        allowList
	blockPrivate bool
	resolve      bool
	resolver     *net.Resolver
	timeout      time.Duration
}

// New compiles opts. An error names every pattern of opts.Allow it cannot use, each
// wrapping ErrBadPattern.
func New(opts Options) (*Checker, error) {
	allow, err := compileAllow(opts.Allow)
	if opts.Timeout < 0 {
		err = errors.Join(err, errors.New("egress: Timeout is negative"))
	}
	if err != nil {
		return nil, err
	}
	c := &Checker{
		allow:        allow,
		blockPrivate: opts.BlockPrivate,
		resolve:      opts.Resolve,
		resolver:     opts.Resolver,
		timeout:      opts.Timeout,
	}
	if c.resolver == nil {
		c.resolver = net.DefaultResolver
	}
	if c.timeout == 0 {
		c.timeout = 2 * time.Second
	}
	return c, nil
}

// Check returns the destinations in text that break a rule, sorted by Start. Without
// Resolve it does no I/O and ignores ctx; with it, ctx bounds the lookups.
func (c *Checker) Check(ctx context.Context, text string) []Match {
	var ms []Match
	var pending []Destination
	for _, d := range Destinations(text) {
		ms = c.checkStatic(ms, d, &pending)
	}
	if len(pending) > 0 {
		ms = c.checkResolved(ctx, ms, pending)
		slices.SortStableFunc(ms, func(a, b Match) int { return a.Start - b.Start })
	}
	return ms
}

// checkStatic applies the rules that need no lookup to d, and adds d to pending if it is
// to be resolved.
func (c *Checker) checkStatic(ms []Match, d Destination, pending *[]Destination) []Match {
	report := func(rule string) {
		ms = append(ms, Match{Rule: rule, Dest: d.Host, Start: d.Start, End: d.End})
	}
	if ip, ok := hostIP(d.Host); ok {
		allowed := c.allow.allowsAddr(ip)
		if rule, bad := IsInternal(ip); bad && c.blockPrivate && !allowed {
			report(rule)
		}
		if c.allow.n > 0 && !allowed {
			report(RuleNotAllowed)
		}
		return ms
	}
	allowed := c.allow.allowsName(d.Host, d.Email)
	internal := ""
	if c.blockPrivate && !allowed {
		internal = nameRule(d.Host)
	}
	if internal != "" {
		report(internal)
	}
	if c.allow.n > 0 && !allowed {
		report(RuleNotAllowed)
		return ms // never sent to DNS: the lookup itself would carry it out
	}
	if c.resolve && !d.Email && internal == "" {
		if validHost(d.Host) {
			*pending = append(*pending, d)
		} else {
			report(RuleUnresolvable)
		}
	}
	return ms
}

// checkResolved looks up the names of pending and reports what their addresses break.
func (c *Checker) checkResolved(ctx context.Context, ms []Match, pending []Destination) []Match {
	var hosts []string
	for _, d := range pending {
		if !slices.Contains(hosts, d.Host) {
			hosts = append(hosts, d.Host)
		}
	}
	rules := c.lookupAll(ctx, hosts)
	for _, d := range pending {
		for _, r := range rules[slices.Index(hosts, d.Host)] {
			ms = append(ms, Match{Rule: r, Dest: d.Host, Start: d.Start, End: d.End})
		}
	}
	return ms
}

// lookupAll resolves hosts, a few at a time, and returns for each the distinct rules its
// addresses break.
func (c *Checker) lookupAll(ctx context.Context, hosts []string) [][]string {
	rules := make([][]string, len(hosts))
	sem := make(chan struct{}, lookupsAtOnce)
	var wg sync.WaitGroup
	for i, h := range hosts {
		if i >= maxLookups {
			rules[i] = []string{RuleUnresolvable}
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			rules[i] = c.lookup(ctx, h)
		})
	}
	wg.Wait()
	return rules
}

func (c *Checker) lookup(ctx context.Context, host string) []string {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	addrs, err := c.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return []string{RuleUnresolvable}
	}
	var rules []string
	for _, a := range addrs {
		if rule, bad := IsInternal(a); bad && c.blockPrivate && !c.allow.allowsAddr(a) && !slices.Contains(rules, rule) {
			rules = append(rules, rule)
		}
	}
	return rules
}
