package registry_test

import (
	"github.com/alknet/alknet/alknet-call/discovery"
	"github.com/alknet/alknet/alknet-call/registry"
)

func installDiscovery(b *registry.Builder) *registry.Builder {
	return discovery.Install(b, discovery.Options{})
}
