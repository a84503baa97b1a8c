package slip10_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/alknet/alknet/alknet-vault/internal/vaulterr"
	"github.com/alknet/alknet/alknet-vault/slip10"
)

type chain struct {
	Path      string `json:"path"`
	ChainCode string `json:"chain_code"`
	Private   string `json:"private"`
	Public    string `json:"public"`
}

type vectorFile struct {
	Vectors []struct {
		Name   string  `json:"name"`
		Seed   string  `json:"seed"`
		Chains []chain `json:"chains"`
	} `json:"vectors"`
}

func loadVectors(t testing.TB) vectorFile {
	t.Helper()
	raw, err := os.ReadFile("testdata/ed25519_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(raw, &vf); err != nil {
		t.Fatal(err)
	}
	if len(vf.Vectors) != 2 || len(vf.Vectors[0].Chains) != 6 || len(vf.Vectors[1].Chains) != 6 {
		t.Fatal("testdata must hold test vectors 1 and 2 with six chains each")
	}
	return vf
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// VAULT-T4: SLIP-0010 ed25519 test vectors 1 and 2, all chains: chain code,
// private key and public key (published as 0x00 || pub).
func TestOfficialVectors(t *testing.T) {
	t.Parallel()
	for _, v := range loadVectors(t).Vectors {
		seed := mustHex(t, v.Seed)
		for _, c := range v.Chains {
			p, err := slip10.ParsePath(c.Path)
			if err != nil {
				t.Fatalf("ParsePath(%q): %v", c.Path, err)
			}
			n, err := slip10.DeriveEd25519(seed, p)
			if err != nil {
				t.Fatalf("%s %s: %v", v.Name, c.Path, err)
			}
			if got := hex.EncodeToString(n.ChainCode()); got != c.ChainCode {
				t.Errorf("%s %s chain code %s, want %s", v.Name, c.Path, got, c.ChainCode)
			}
			if got := hex.EncodeToString(n.PrivateKey()); got != c.Private {
				t.Errorf("%s %s private %s, want %s", v.Name, c.Path, got, c.Private)
			}
			if got := "00" + hex.EncodeToString(n.PublicKeyEd25519()); got != c.Public {
				t.Errorf("%s %s public %s, want %s", v.Name, c.Path, got, c.Public)
			}
		}
		// Child by child from the master gives the same nodes.
		n, err := slip10.MasterEd25519(seed)
		if err != nil {
			t.Fatal(err)
		}
		last, _ := slip10.ParsePath(v.Chains[len(v.Chains)-1].Path)
		for _, i := range last.Indices() {
			c, err := n.ChildEd25519(i)
			if err != nil {
				t.Fatal(err)
			}
			n = c
		}
		if got := hex.EncodeToString(n.PrivateKey()); got != v.Chains[len(v.Chains)-1].Private {
			t.Errorf("%s step by step: private %s", v.Name, got)
		}
	}
}

// VAULT-R20, VAULT-T7, VAULT-T22: the path grammar.
func TestParsePath(t *testing.T) {
	t.Parallel()
	good := map[string][]uint32{
		"m":                {},
		"m/0":              {0},
		"m/0'":             {0x80000000},
		"m/0h":             {0x80000000},
		"m/74'/0'/0'/0'":   {0x8000004A, 0x80000000, 0x80000000, 0x80000000},
		"m/44'/60'/0'/0/0": {0x8000002C, 0x8000003C, 0x80000000, 0, 0},
		"m/2147483647'":    {0xFFFFFFFF},
		"m/2147483647":     {0x7FFFFFFF},
		"m/1h/2'/3":        {0x80000001, 0x80000002, 3},
	}
	for in, want := range good {
		p, err := slip10.ParsePath(in)
		if err != nil {
			t.Errorf("ParsePath(%q): %v", in, err)
			continue
		}
		got := p.Indices()
		if len(got) != len(want) {
			t.Errorf("ParsePath(%q) = %v, want %v", in, got, want)
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("ParsePath(%q) = %x, want %x", in, got, want)
			}
		}
		canon := strings.ReplaceAll(in, "h", "'")
		if p.String() != canon {
			t.Errorf("ParsePath(%q).String() = %q, want %q", in, p.String(), canon)
		}
	}
	long := "m" + strings.Repeat("/0'", 255)
	if p, err := slip10.ParsePath(long); err != nil || p.Depth() != 255 {
		t.Errorf("255 components: %v", err)
	}
	bad := []string{
		"", "74'/0'", "M/0'", "m/", "m//0'", "m/0'/", "m/0x1'", "m/-1'", "m/+1'", "m/01'", "m/00",
		"m/2147483648'", "m/2147483648", "m/4294967296", "m/99999999999999999999'",
		"m/0''", "m/0'h", "m/0H", "m /0'", "m/0' ", " m/0'", "mxyz/0'", "m/0'\n", "m\\0'",
		"m" + strings.Repeat("/0'", 256),
	}
	for _, in := range bad {
		if _, err := slip10.ParsePath(in); vaulterr.CodeOf(err) != vaulterr.CodeInvalidPath {
			t.Errorf("ParsePath(%q) = %v, want VAULT_INVALID_PATH", in, err)
		}
	}
	// Indices returns a copy.
	p, _ := slip10.ParsePath("m/1'/2'")
	p.Indices()[0] = 7
	if p.String() != "m/1'/2'" {
		t.Error("Indices aliases the path")
	}
	if _, err := slip10.FromIndices(make([]uint32, 256)); vaulterr.CodeOf(err) != vaulterr.CodeInvalidPath {
		t.Errorf("FromIndices(256) = %v", err)
	}
	q, err := slip10.FromIndices([]uint32{0x8000004A, 5})
	if err != nil || q.String() != "m/74'/5" {
		t.Errorf("FromIndices = %v, %v", q, err)
	}
}

// VAULT-R31, VAULT-R30, VAULT-R101: non-hardened indices, bad seed lengths,
// wiped nodes.
func TestDeriveErrors(t *testing.T) {
	t.Parallel()
	seed := mustHex(t, "000102030405060708090a0b0c0d0e0f")
	p, _ := slip10.ParsePath("m/0'/1")
	if _, err := slip10.DeriveEd25519(seed, p); vaulterr.CodeOf(err) != vaulterr.CodeInvalidPath {
		t.Errorf("non-hardened path: %v", err)
	}
	m, _ := slip10.MasterEd25519(seed)
	if _, err := m.ChildEd25519(1); vaulterr.CodeOf(err) != vaulterr.CodeInvalidPath {
		t.Errorf("ChildEd25519(1): %v", err)
	}
	for _, n := range []int{0, 15, 65, 128} {
		_, err := slip10.MasterEd25519(make([]byte, n))
		if vaulterr.CodeOf(err) != vaulterr.CodeDerivationFailed || !strings.Contains(err.Error(), strconv.Itoa(n)) {
			t.Errorf("MasterEd25519(%d bytes) = %v", n, err)
		}
	}
	for _, n := range []int{16, 64} {
		if _, err := slip10.MasterEd25519(make([]byte, n)); err != nil {
			t.Errorf("MasterEd25519(%d bytes) = %v", n, err)
		}
	}
	priv := m.PrivateKey()
	chain := m.ChainCode()
	m.Wipe()
	m.Wipe()
	if !bytes.Equal(priv, make([]byte, 32)) || !bytes.Equal(chain, make([]byte, 32)) {
		t.Error("Wipe left key bytes behind")
	}
	if m.PrivateKey() != nil || m.ChainCode() != nil || m.PublicKeyEd25519() != nil {
		t.Error("wiped node still returns material")
	}
	if _, err := m.ChildEd25519(slip10.HardenedOffset); vaulterr.CodeOf(err) != vaulterr.CodeKeyWiped {
		t.Errorf("child of wiped node: %v", err)
	}
	var zero slip10.Node
	if zero.PrivateKey() != nil {
		t.Error("zero node has a key")
	}
	if _, err := zero.ChildEd25519(slip10.HardenedOffset); vaulterr.CodeOf(err) != vaulterr.CodeKeyWiped {
		t.Errorf("child of zero node: %v", err)
	}
	var nilNode *slip10.Node
	nilNode.Wipe()
	if nilNode.PrivateKey() != nil {
		t.Error("nil node has a key")
	}
	if slip10.PublicKey(make([]byte, 31)) != nil {
		t.Error("PublicKey accepted a 31-byte seed")
	}
}

// VAULT-T42, VAULT-R97: a Node redacts in fmt, JSON and slog, also nested
// in an unexported field.
func TestNodeRedaction(t *testing.T) {
	t.Parallel()
	seed := mustHex(t, "000102030405060708090a0b0c0d0e0f")
	n, _ := slip10.MasterEd25519(seed)
	secrets := [][]byte{append([]byte(nil), n.PrivateKey()...), append([]byte(nil), n.ChainCode()...)}
	type holder struct{ n slip10.Node }
	type pholder struct{ n *slip10.Node }
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		outs = append(outs, fmt.Sprintf(verb, n), fmt.Sprintf(verb, *n))
	}
	for _, verb := range []string{"%v", "%+v", "%#v"} {
		nested := []string{fmt.Sprintf(verb, holder{*n}), fmt.Sprintf(verb, pholder{n}), fmt.Sprintf(verb, &holder{*n})}
		for _, s := range nested {
			checkNoSecret(t, s, secrets)
		}
	}
	for _, s := range outs {
		if !strings.Contains(s, "[REDACTED]") {
			t.Errorf("output %q is not redacted", s)
		}
	}
	j1, _ := json.Marshal(n)
	j2, _ := json.Marshal(*n)
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("node", "node", n, "value", *n)
	outs = append(outs, string(j1), string(j2), logBuf.String())
	for _, s := range outs {
		checkNoSecret(t, s, secrets)
		if !strings.Contains(s, "[REDACTED]") {
			t.Errorf("output %q is not redacted", s)
		}
	}
}

func checkNoSecret(t *testing.T, s string, secrets [][]byte) {
	t.Helper()
	for _, sec := range secrets {
		forms := []string{
			hex.EncodeToString(sec), strings.ToUpper(hex.EncodeToString(sec)),
			base64.StdEncoding.EncodeToString(sec), base64.RawStdEncoding.EncodeToString(sec),
			string(sec), fmt.Sprint(sec), fmt.Sprintf("%v", [32]byte(sec)),
		}
		// Decimal fragments of the key (e.g. "[43 75 231").
		forms = append(forms, strings.Trim(fmt.Sprint(sec[:6]), "[]"))
		for _, f := range forms {
			if strings.Contains(s, f) {
				t.Errorf("output %q contains secret bytes (%q)", s, f)
			}
		}
	}
}
