package auth_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-core/auth"
)

// benchPolicy has n peers (each with a fingerprint and a token hash) and n API keys.
func benchPolicy(n int) (auth.AuthPolicy, []string, [][]byte, [][]byte) {
	var pol auth.AuthPolicy
	fps := make([]string, n)
	peerToks := make([][]byte, n)
	keyToks := make([][]byte, n)
	for i := range n {
		fps[i] = keyFP(fmt.Sprint("bench-", i))
		peerToks[i] = fmt.Appendf(nil, "peer-token-%d", i)
		keyToks[i] = fmt.Appendf(nil, "alk_%04d%036d", i, i)
		pol.Peers = append(pol.Peers, auth.PeerEntry{
			PeerID: fmt.Sprint("peer-", i), Fingerprints: []string{fps[i]},
			AuthTokenHash: auth.HashToken(peerToks[i]), Scopes: []string{"fs:read", "relay:connect"},
			Resources: map[string][]string{"service": {"a", "b"}},
		})
		pol.APIKeys = append(pol.APIKeys, auth.APIKeyEntry{
			Prefix: string(keyToks[i][:8]), Hash: auth.HashToken(keyToks[i]), Scopes: []string{"fs:read"},
		})
	}
	return pol, fps, peerToks, keyToks
}

// CORE-B1: resolution with 1000 peers and 1000 API keys.
func BenchmarkResolve(b *testing.B) {
	pol, fps, peerToks, keyToks := benchPolicy(1000)
	p := mustCompile(b, pol)
	now := time.Now()
	b.Run("Fingerprint", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, ok := p.ResolveFingerprint(fps[i%len(fps)]); !ok {
				b.Fatal("not resolved")
			}
			i++
		}
	})
	b.Run("FingerprintNonCanonical", func(b *testing.B) {
		upper := make([]string, len(fps))
		for i, fp := range fps {
			upper[i] = upperHex(fp)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, ok := p.ResolveFingerprint(upper[i%len(upper)]); !ok {
				b.Fatal("not resolved")
			}
			i++
		}
	})
	b.Run("FingerprintUnknown", func(b *testing.B) {
		unknown := keyFP("nobody")
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := p.ResolveFingerprint(unknown); ok {
				b.Fatal("resolved")
			}
		}
	})
	b.Run("PeerToken", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, ok := p.ResolveToken(peerToks[i%len(peerToks)], now); !ok {
				b.Fatal("not resolved")
			}
			i++
		}
	})
	b.Run("APIKey", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, ok := p.ResolveToken(keyToks[i%len(keyToks)], now); !ok {
				b.Fatal("not resolved")
			}
			i++
		}
	})
	b.Run("Compile", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := auth.Compile(pol); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// CORE-B1: ConfigIdentityProvider under parallel load while a reload runs every millisecond.
func BenchmarkProviderUnderReload(b *testing.B) {
	pol1, fps, _, keyToks := benchPolicy(1000)
	pol2 := pol1.Clone()
	pol2.Peers[0].Scopes = append(pol2.Peers[0].Scopes, "extra")
	src, h := newDynamic(b, pol1)
	prov := auth.NewConfigIdentityProvider(src)
	done := make(chan struct{}) // closed by the benchmark when the parallel loop ends
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-tick.C:
				reload(b, h, []auth.AuthPolicy{pol1, pol2}[i%2])
			}
		}
	})
	ctx := b.Context()
	tokens := make([]auth.AuthToken, len(keyToks))
	for i, k := range keyToks {
		tokens[i] = auth.NewAuthToken(k)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if i%2 == 0 {
				if _, ok := prov.ResolveFingerprint(ctx, fps[i%len(fps)]); !ok {
					b.Error("fingerprint not resolved")
					return
				}
			} else if _, ok := prov.ResolveToken(ctx, tokens[i%len(tokens)]); !ok {
				b.Error("token not resolved")
				return
			}
			i++
		}
	})
	b.StopTimer()
	close(done)
	wg.Wait()
}
