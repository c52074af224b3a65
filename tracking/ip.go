package tracking

import "net/netip"

// TruncateIP returns the network of ip with the host part zeroed: the /24
// of an IPv4 address (a.b.c.0) and the /48 of an IPv6 address, the usual
// anonymisation that still leaves country and network for fraud checks. An
// IPv4-mapped IPv6 address is truncated as the IPv4 address it is. Input
// that is not an IP address gives "".
func TruncateIP(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	addr = addr.Unmap().WithZone("")
	bits := 48
	if addr.Is4() {
		bits = 24
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.Addr().String()
}
