package endpoint

import (
	"net"
	"net/netip"
	"testing"
)

type strAddr string

func (a strAddr) Network() string { return "test" }
func (a strAddr) String() string  { return string(a) }

// CORE-R430: IPs are counted without port, IPv4-mapped IPv6 addresses unmapped; connections
// without an address are not counted.
func TestIPOf(t *testing.T) {
	t.Parallel()
	v4 := netip.MustParseAddr("1.2.3.4")
	cases := []struct {
		addr net.Addr
		want netip.Addr
		ok   bool
	}{
		{&net.UDPAddr{IP: net.ParseIP("1.2.3.4"), Port: 1}, v4, true},
		{&net.UDPAddr{IP: net.ParseIP("::ffff:1.2.3.4"), Port: 2}, v4, true},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:1.2.3.4"), Port: 3}, v4, true},
		{&net.UDPAddr{IP: net.ParseIP("2001:db8::1"), Port: 4}, netip.MustParseAddr("2001:db8::1"), true},
		{strAddr("[::ffff:1.2.3.4]:5"), v4, true},
		{strAddr("pipe"), netip.Addr{}, false},
		{nil, netip.Addr{}, false},
		{&net.UDPAddr{}, netip.Addr{}, false},
	}
	for _, tc := range cases {
		got, ok := ipOf(tc.addr)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("ipOf(%v) = %v, %v; want %v, %v", tc.addr, got, ok, tc.want, tc.ok)
		}
	}
}
