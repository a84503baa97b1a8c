package sqlitestore_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/config"
	"github.com/alknet/alknet/alknet-peer-store-sqlite/sqlitestore"
)

// bulkStore fills a fresh store with n peers (one fingerprint and one peer token each) and n/10
// API keys in one transaction, bypassing the per-write fsync so that 10 000 rows take seconds.
func bulkStore(b *testing.B, n int) (*sqlitestore.Store, auth.AuthPolicy) {
	b.Helper()
	s := open(b, sqlitestore.Options{Path: storePath(b), Create: true, DisableWatch: true})
	ctx := context.Background()
	tx, err := sqlitestore.WriterDB(s).BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	var pol auth.AuthPolicy
	for i := range n {
		id := "peer-" + strconv.Itoa(i)
		hash := auth.HashToken([]byte("peer-token-" + strconv.Itoa(i)))
		if _, err := tx.Exec(`INSERT INTO peers (peer_id, auth_token_hash, scopes, resources, created_at, updated_at)
			VALUES (?, ?, '["fs:read","relay:connect"]', '{"service":["gitea"]}', 0, 0)`, id, hash); err != nil {
			b.Fatal(err)
		}
		if _, err := tx.Exec(`INSERT INTO peer_fingerprints (fingerprint, peer_id, added_at) VALUES (?, ?, 0)`, fp(i), id); err != nil {
			b.Fatal(err)
		}
		pol.Peers = append(pol.Peers, auth.PeerEntry{PeerID: id, Fingerprints: []string{fp(i)}, AuthTokenHash: hash,
			Scopes: []string{"fs:read", "relay:connect"}, Resources: map[string][]string{"service": {"gitea"}}})
	}
	for i := range max(n/10, 1) {
		prefix := fmt.Sprintf("alk_%04d", i)
		hash := auth.HashToken([]byte(prefix + "secretsecretsecret"))
		if _, err := tx.Exec(`INSERT INTO api_keys (prefix, hash, scopes, created_at) VALUES (?, ?, '["fs:read"]', 0)`, prefix, hash); err != nil {
			b.Fatal(err)
		}
		pol.APIKeys = append(pol.APIKeys, auth.APIKeyEntry{Prefix: prefix, Hash: hash, Scopes: []string{"fs:read"}})
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if err := s.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	return s, pol
}

func configProvider(b *testing.B, pol auth.AuthPolicy) *auth.ConfigIdentityProvider {
	b.Helper()
	dyn, err := config.NewDynamic(config.DynamicConfig{Auth: pol}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return auth.NewConfigIdentityProvider(dyn)
}

func BenchmarkResolveFingerprint(b *testing.B) {
	for _, n := range []int{100, 10000} {
		s, pol := bulkStore(b, n)
		cfg := configProvider(b, pol)
		target := fp(n / 2)
		ctx := context.Background()
		for _, p := range []struct {
			name string
			prov auth.IdentityProvider
		}{{"store", s.Identities()}, {"config", cfg}} {
			b.Run(fmt.Sprintf("peers=%d/%s", n, p.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, ok := p.prov.ResolveFingerprint(ctx, target); !ok {
						b.Fatal("not resolved")
					}
				}
			})
		}
	}
}

func BenchmarkResolveToken(b *testing.B) {
	for _, n := range []int{100, 10000} {
		s, pol := bulkStore(b, n)
		cfg := configProvider(b, pol)
		ctx := context.Background()
		for _, kind := range []struct {
			name  string
			token auth.AuthToken
		}{
			{"apikey", auth.NewAuthToken([]byte("alk_0003secretsecretsecret"))},
			{"peertoken", auth.NewAuthToken([]byte("peer-token-" + strconv.Itoa(n/2)))},
		} {
			for _, p := range []struct {
				name string
				prov auth.IdentityProvider
			}{{"store", s.Identities()}, {"config", cfg}} {
				b.Run(fmt.Sprintf("peers=%d/%s/%s", n, kind.name, p.name), func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if _, ok := p.prov.ResolveToken(ctx, kind.token); !ok {
							b.Fatal("not resolved")
						}
					}
				})
			}
		}
	}
}

func BenchmarkReload(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		s, _ := bulkStore(b, n)
		b.Run("peers="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Refresh(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPutPeer(b *testing.B) {
	s := open(b, sqlitestore.Options{Path: storePath(b), Create: true, DisableWatch: true})
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := s.Identities().PutPeer(ctx, peer("bench", fp(i%2))); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkWatcherIdle(b *testing.B) {
	s := open(b, sqlitestore.Options{Path: storePath(b), Create: true, DisableWatch: true})
	ctx := context.Background()
	conn, err := sqlitestore.ReaderDB(s).Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	b.ReportAllocs()
	var v int64
	for b.Loop() {
		if err := conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v); err != nil {
			b.Fatal(err)
		}
	}
}
