package egress

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
)

// ErrRefused is wrapped by every error DialControl's function returns.
var ErrRefused = errors.New("egress: dial refused")

// RefusedError is a connection DialControl refused, and the rule it broke.
type RefusedError struct {
	Network, Address string
	Rule             string // a Rule constant
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("egress: dial %s %s refused: %s", e.Network, e.Address, e.Rule)
}

func (e *RefusedError) Unwrap() error { return ErrRefused }

// DialControl returns a function for net.Dialer.Control that refuses connections to
// internal addresses (see IsInternal) when the Checker has BlockPrivate, except those an
// address pattern of Options.Allow allows. It sees the address actually dialled, after
// resolution and on every redirect, so neither DNS rebinding nor a redirect gets around it.
// Where the address is not an IP address and port (a Unix socket), it refuses too. Without
// BlockPrivate it allows everything. Name patterns cannot be checked here.
func (c *Checker) DialControl() func(network, address string, conn syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		if !c.blockPrivate {
			return nil
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			rule := RuleUnresolvable
			if strings.HasPrefix(network, "unix") {
				rule = RuleLoopback // a socket on this host
			}
			return &RefusedError{Network: network, Address: address, Rule: rule}
		}
		ip := ap.Addr()
		if c.allow.allowsAddr(ip) {
			return nil
		}
		if rule, bad := IsInternal(ip); bad {
			return &RefusedError{Network: network, Address: address, Rule: rule}
		}
		return nil
	}
}
