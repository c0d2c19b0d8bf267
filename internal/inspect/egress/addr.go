package egress

import (
	"net/netip"
	"strings"
)

// Rule names, as they appear in Match.Rule and RefusedError.Rule.
const (
	RuleNotAllowed   = "destination-not-allowed"  // not matched by Options.Allow
	RulePrivate      = "private-address"          // RFC 1918, CGNAT 100.64/10, unique-local fc00::/7, site-local fec0::/10, local-use NAT64
	RuleLoopback     = "loopback-address"         // 127/8, ::1, localhost and *.localhost
	RuleLinkLocal    = "link-local-address"       // 169.254/16, fe80::/10
	RuleUnspecified  = "unspecified-address"      // 0/8 ("this network": 0.0.0.0 reaches the local host), ::
	RuleReserved     = "reserved-address"         // multicast, 240/4 and broadcast, benchmarking 198.18/15
	RuleMetadata     = "metadata-address"         // cloud instance metadata services, by address or by name
	RuleInternalName = "internal-name"            // a name that only an internal resolver answers: one label, .internal, .local, …
	RuleUnresolvable = "unresolvable-destination" // with Options.Resolve: the name did not resolve in time
)

// IsInternal reports whether ip is an address a tool should not be sent to, and which rule
// names its class. An IPv6 address that embeds an IPv4 one (IPv4-mapped ::ffff:a.b.c.d,
// IPv4-compatible ::a.b.c.d, SIIT ::ffff:0:a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16) is
// classified by the IPv4 address it carries. The zone is ignored. Teredo (2001::/32) is not
// unpacked.
func IsInternal(ip netip.Addr) (rule string, internal bool) {
	if !ip.IsValid() {
		return "", false
	}
	ip = ip.WithZone("")
	if v4, ok := embeddedIPv4(ip); ok {
		ip = v4
	}
	switch {
	case isMetadataAddr(ip):
		return RuleMetadata, true
	case ip.IsLoopback():
		return RuleLoopback, true
	case ip.IsUnspecified() || ip.Is4() && ip.As4()[0] == 0:
		return RuleUnspecified, true
	case ip.IsLinkLocalUnicast():
		return RuleLinkLocal, true
	case ip.IsPrivate() || isOtherPrivate(ip):
		return RulePrivate, true
	case ip.IsMulticast() || isReserved(ip):
		return RuleReserved, true
	}
	return "", false
}

// embeddedIPv4 returns the IPv4 address an IPv6 address carries, for the forms that reach
// an IPv4 host. :: and ::1 are left alone: they are IPv6's own unspecified and loopback.
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	if ip.Is4In6() {
		return ip.Unmap(), true
	}
	if !ip.Is6() || ip.IsLoopback() || ip.IsUnspecified() {
		return ip, false
	}
	b := ip.As16()
	zero := func(bs []byte) bool {
		for _, x := range bs {
			if x != 0 {
				return false
			}
		}
		return true
	}
	switch {
	case zero(b[:12]): // ::a.b.c.d, IPv4-compatible (deprecated, still parsed)
		return netip.AddrFrom4([4]byte(b[12:])), true
	case zero(b[:8]) && b[8] == 0xff && b[9] == 0xff && zero(b[10:12]): // ::ffff:0:a.b.c.d, SIIT
		return netip.AddrFrom4([4]byte(b[12:])), true
	case b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && zero(b[4:12]): // 64:ff9b::/96, NAT64
		return netip.AddrFrom4([4]byte(b[12:])), true
	case b[0] == 0x20 && b[1] == 0x02: // 2002:a.b.c.d::/48, 6to4
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return ip, false
}

// isMetadataAddr reports the addresses of cloud instance metadata services: AWS, GCP, Azure
// and OCI (169.254.169.254, and AWS's IPv6 fd00:ec2::254), AWS ECS task metadata
// (169.254.170.2), the EKS pod identity agent (169.254.170.23, fd00:ec2::23) and Alibaba
// Cloud (100.100.100.200).
func isMetadataAddr(ip netip.Addr) bool {
	if ip.Is4() {
		switch ip.As4() {
		case [4]byte{169, 254, 169, 254}, [4]byte{169, 254, 170, 2}, [4]byte{169, 254, 170, 23}, [4]byte{100, 100, 100, 200}:
			return true
		}
		return false
	}
	b := ip.As16()
	return b == [16]byte{0xfd, 0, 0x0e, 0xc2, 14: 0x02, 15: 0x54} || b == [16]byte{0xfd, 0, 0x0e, 0xc2, 15: 0x23}
}

// isOtherPrivate reports private ranges that netip.Addr.IsPrivate leaves out: CGNAT's
// shared address space 100.64/10, IPv6 site-local fec0::/10 (deprecated) and local-use
// NAT64 64:ff9b:1::/48.
func isOtherPrivate(ip netip.Addr) bool {
	if ip.Is4() {
		a := ip.As4()
		return a[0] == 100 && a[1]&0xc0 == 64
	}
	b := ip.As16()
	return b[0] == 0xfe && b[1]&0xc0 == 0xc0 ||
		b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0 && b[5] == 1
}

// isReserved reports IPv4 ranges that are neither internal nor reachable on the internet:
// 240/4 with the broadcast address, and benchmarking's 198.18/15.
func isReserved(ip netip.Addr) bool {
	if !ip.Is4() {
		return false
	}
	a := ip.As4()
	return a[0] >= 240 || a[0] == 198 && a[1]&0xfe == 18
}

// nameRule classifies a normalised host name that is internal by its name alone.
func nameRule(host string) string {
	switch host {
	case "localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback":
		return RuleLoopback
	case "metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal":
		return RuleMetadata
	}
	if strings.HasSuffix(host, ".localhost") {
		return RuleLoopback
	}
	dot := strings.LastIndexByte(host, '.')
	if dot < 0 {
		return RuleInternalName // one label: completed by the resolver's search list, so internal
	}
	if internalTLD(host[dot+1:]) || strings.HasSuffix(host, ".home.arpa") {
		return RuleInternalName
	}
	return ""
}

// internalTLD reports top-level labels that only private resolvers answer: ICANN's
// .internal, mDNS's .local, and the ones routers and Active Directory use by habit.
func internalTLD(label string) bool {
	switch label {
	case "internal", "local", "localdomain", "lan", "intranet", "corp", "home", "private":
		return true
	}
	return false
}
