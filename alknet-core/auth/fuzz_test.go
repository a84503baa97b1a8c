package auth_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/alknet/alknet/alknet-core/auth"
)

// FuzzResolveToken: arbitrary bytes through Policy.ResolveToken against a policy holding
// the §10.5 vectors never panic, and only the exact tokens resolve.
func FuzzResolveToken(f *testing.F) {
	pol := samplePolicy()
	pol.Peers[1].Enabled = nil // make the peer-token vector resolvable
	p, err := auth.Compile(pol)
	if err != nil {
		f.Fatal(err)
	}
	want := map[string]string{apiToken: "alk_test", peerToken: "browser-alice", "hub-token": "hub.example"}
	for _, s := range []string{apiToken, peerToken, "hub-token", "alk_test", "alk_tes", "", "alk_testsecret12", "alk_testsecret1234", "ALK_TESTSECRET123"} {
		f.Add([]byte(s))
	}
	now := time.Unix(1_800_000_000, 0)
	f.Fuzz(func(t *testing.T, tok []byte) {
		id, ok := p.ResolveToken(tok, now)
		wantID, known := want[string(tok)]
		if ok != known || id.ID != wantID {
			t.Fatalf("ResolveToken(%q) = %q, %v; want %q, %v", tok, id.ID, ok, wantID, known)
		}
	})
}

// FuzzCompile: any JSON document decoded as an AuthPolicy either fails to compile or
// compiles to a policy whose Source is a fixed point of Compile.
func FuzzCompile(f *testing.F) {
	seed, _ := json.Marshal(samplePolicy())
	f.Add(seed)
	for _, s := range []string{
		`{}`, `{"peers":null,"api_keys":[]}`,
		`{"peers":[{"peer_id":"a","fingerprints":["ED25519:D75A980182B10AB7D54BFED3C964073A0EE172F3DAA62325AF021A68F707511A"],"scopes":["x","x"]}]}`,
		`{"peers":[{"peer_id":"a","fingerprints":[],"enabled":false},{"peer_id":"a"}]}`,
		`{"api_keys":[{"prefix":"alk_abcd","hash":"sha256:61210fdb492c840f1838774b822c184083c4093c7cb93e6c2c33732ff3b8903c","scopes":[],"expires_at":-1}]}`,
		`{"peers":[{"peer_id":"r","fingerprints":["SHA256:` + "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff" + `"],"resources":{"svc":["a","a",""]}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var pol auth.AuthPolicy
		if err := json.Unmarshal(b, &pol); err != nil {
			return
		}
		p, err := auth.Compile(pol)
		if err != nil {
			if len(auth.Validate(pol)) == 0 {
				t.Fatalf("Compile failed (%v) but Validate found nothing", err)
			}
			return
		}
		src := p.Source()
		p2, err := auth.Compile(src)
		if err != nil {
			t.Fatalf("Source of a compiled policy does not compile: %v", err)
		}
		if again := p2.Source(); !reflect.DeepEqual(again, src) {
			t.Fatalf("Source is not a fixed point:\n%+v\n%+v", src, again)
		}
		for _, e := range src.Peers {
			for _, fp := range e.Fingerprints {
				id, ok := p.ResolveFingerprint(fp)
				if ok != e.IsEnabled() || (ok && id.ID != e.PeerID) {
					t.Fatalf("fingerprint %s of %s resolves to %q, %v", fp, e.PeerID, id.ID, ok)
				}
			}
		}
	})
}
