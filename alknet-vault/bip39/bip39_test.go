package bip39_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/alknet/alknet/alknet-vault/bip39"
	"github.com/alknet/alknet/alknet-vault/internal/vaulterr"
)

// vector is one English entry of trezor/python-mnemonic vectors.json:
// entropy, mnemonic, seed (passphrase "TREZOR"), xprv (unused).
type vector struct {
	entropy, mnemonic, seed string
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string][][]string
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var out []vector
	for _, v := range doc["english"] {
		if len(v) < 3 {
			t.Fatalf("short vector %q", v)
		}
		out = append(out, vector{v[0], v[1], v[2]})
	}
	if len(out) != 24 {
		t.Fatalf("loaded %d English vectors, want 24", len(out))
	}
	return out
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantCode(t *testing.T, err error, code vaulterr.Code) {
	t.Helper()
	if vaulterr.CodeOf(err) != code {
		t.Fatalf("error = %v, want code %s", err, code)
	}
}

// VAULT-T1: every English vector: entropy→mnemonic, mnemonic→entropy and
// mnemonic+"TREZOR"→seed.
func TestOfficialVectors(t *testing.T) {
	t.Parallel()
	for _, v := range loadVectors(t) {
		entropy := mustHex(t, v.entropy)
		got, err := bip39.FromEntropy(entropy)
		if err != nil || string(got) != v.mnemonic {
			t.Errorf("FromEntropy(%s) = %q, %v; want %q", v.entropy, got, err, v.mnemonic)
		}
		back, err := bip39.ToEntropy([]byte(v.mnemonic))
		if err != nil || !bytes.Equal(back, entropy) {
			t.Errorf("ToEntropy(%q) = %x, %v; want %s", v.mnemonic, back, err, v.entropy)
		}
		seed, err := bip39.Seed([]byte(v.mnemonic), []byte("TREZOR"))
		if err != nil || hex.EncodeToString(seed) != v.seed {
			t.Errorf("Seed(%q, TREZOR) = %x, %v; want %s", v.mnemonic, seed, err, v.seed)
		}
	}
}

// VAULT-T8 (first line): the empty-passphrase seed of abandon×11 about.
func TestSeedEmptyPassphrase(t *testing.T) {
	t.Parallel()
	phrase := []byte(strings.Repeat("abandon ", 11) + "about")
	want := "5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc19a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4"
	for _, pp := range [][]byte{nil, {}} {
		seed, err := bip39.Seed(phrase, pp)
		if err != nil || hex.EncodeToString(seed) != want {
			t.Errorf("Seed(phrase, %q) = %x, %v; want %s", pp, seed, err, want)
		}
	}
}

// VAULT-T2: the failed-checksum sentence of the reference tests.
func TestChecksumFailure(t *testing.T) {
	t.Parallel()
	_, err := bip39.Parse([]byte("bless cloud wheel regular tiny venue bird web grief security dignity zoo"))
	wantCode(t, err, vaulterr.CodeInvalidMnemonic)
	if !strings.Contains(err.Error(), "checksum") {
		t.Errorf("error %q does not mention the checksum", err)
	}
}

// VAULT-T3, VAULT-R16: NFC and NFKD forms of a passphrase give the same seed.
func TestPassphraseNFKD(t *testing.T) {
	t.Parallel()
	phrase := []byte("legal winner thank year wave sausage worth useful legal winner thank yellow")
	nfc := "Caf\u00e9 \ufb01ne \u2460 na\u00efve \u3000end"
	nfkd := norm.NFKD.String(nfc)
	if nfc == nfkd {
		t.Fatal("test passphrase is already NFKD")
	}
	a, err := bip39.Seed(phrase, []byte(nfc))
	if err != nil {
		t.Fatal(err)
	}
	b, err := bip39.Seed(phrase, []byte(nfkd))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("NFC seed %x != NFKD seed %x", a, b)
	}
	c, _ := bip39.Seed(phrase, []byte(nfc+" "))
	if bytes.Equal(a, c) {
		t.Error("trailing white space in the passphrase was ignored; it is significant (VAULT-R15)")
	}
	d, _ := bip39.Seed(phrase, []byte(strings.ToUpper(nfc)))
	if bytes.Equal(a, d) {
		t.Error("passphrase was case-folded (VAULT-R15)")
	}
}

// VAULT-T6, VAULT-R11: the embedded list.
func TestWordlist(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("english.txt")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	if got := hex.EncodeToString(sum[:]); got != "2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda" || len(raw) != 13116 {
		t.Fatalf("english.txt sha256 %s, %d bytes; want the pinned hash and 13116 bytes", got, len(raw))
	}
	var ws []string
	prefixes := map[string]bool{}
	for i := range 2048 {
		w := bip39.Word(i)
		if w == "" {
			t.Fatalf("Word(%d) empty", i)
		}
		if j, ok := bip39.Index(w); !ok || j != i {
			t.Errorf("Index(%q) = %d, %v; want %d", w, j, ok, i)
		}
		p := w
		if len(p) > 4 {
			p = p[:4]
		}
		if prefixes[p] {
			t.Errorf("prefix %q not unique", p)
		}
		prefixes[p] = true
		ws = append(ws, w)
	}
	if !sort.StringsAreSorted(ws) {
		t.Error("wordlist not sorted")
	}
	for w, want := range map[string]int{"abandon": 0, "about": 3, "zoo": 2047} {
		if i, ok := bip39.Index(w); !ok || i != want {
			t.Errorf("Index(%q) = %d, %v; want %d", w, i, ok, want)
		}
	}
	for _, i := range []int{-1, 2048, 1 << 40} {
		if w := bip39.Word(i); w != "" {
			t.Errorf("Word(%d) = %q, want empty", i, w)
		}
	}
	if _, ok := bip39.Index("Abandon"); ok {
		t.Error("Index is not exact")
	}
	if _, ok := bip39.Index("aban"); ok {
		t.Error("Index expands prefixes")
	}
}

// VAULT-R13, VAULT-R14: white space, case and compatibility characters
// normalise to the same canonical phrase; the input is untouched (VAULT-R96).
func TestParseCanonical(t *testing.T) {
	t.Parallel()
	canonical := "letter advice cage absurd amount doctor acoustic avoid letter advice cage above"
	inputs := []string{
		canonical,
		"  " + canonical + "\n",
		strings.ToUpper(canonical),
		strings.ReplaceAll(canonical, " ", "\t \u00a0"),
		strings.ReplaceAll(canonical, " ", "\u3000"),
		"\uff4c\uff45\uff54\uff54\uff45\uff52" + canonical[len("letter"):], // full-width "letter"
	}
	for _, in := range inputs {
		buf := []byte(in)
		got, err := bip39.Parse(buf)
		if err != nil || string(got) != canonical {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, got, err, canonical)
		}
		if string(buf) != in {
			t.Errorf("Parse modified its input %q to %q", in, buf)
		}
		seedA, err := bip39.Seed(buf, nil)
		if err != nil {
			t.Fatal(err)
		}
		seedB, _ := bip39.Seed([]byte(canonical), nil)
		if !bytes.Equal(seedA, seedB) {
			t.Errorf("Seed(%q) differs from Seed(canonical)", in)
		}
	}
}

// VAULT-T20: bad mnemonics give VAULT_INVALID_MNEMONIC.
func TestParseBadInput(t *testing.T) {
	t.Parallel()
	words := func(n int) string { return strings.TrimSpace(strings.Repeat("abandon ", n)) }
	cases := map[string]struct {
		in     string
		detail string
	}{
		"11 words":     {words(11), "got 11 words"},
		"13 words":     {words(13), "got 13 words"},
		"25 words":     {words(25), "got 25 words"},
		"empty":        {"", "got 0 words"},
		"blank":        {" \n\t", "got 0 words"},
		"unknown word": {words(5) + " qwerty " + words(6), "unknown word at position 6"},
		// An 11-word input with an unknown word reports the word (step order).
		"unknown before count": {words(3) + " xyzzy " + words(7), "unknown word at position 4"},
		"checksum":             {words(12), "checksum"},
		"not utf8":             {words(11) + " \xff", "UTF-8"},
		"too long":             {strings.Repeat("abandon ", 200), "longer than 1024"},
	}
	for name, tc := range cases {
		_, err := bip39.Parse([]byte(tc.in))
		if vaulterr.CodeOf(err) != vaulterr.CodeInvalidMnemonic || !strings.Contains(err.Error(), tc.detail) {
			t.Errorf("%s: Parse = %v, want VAULT_INVALID_MNEMONIC mentioning %q", name, err, tc.detail)
		}
		if _, err := bip39.ToEntropy([]byte(tc.in)); vaulterr.CodeOf(err) != vaulterr.CodeInvalidMnemonic {
			t.Errorf("%s: ToEntropy = %v", name, err)
		}
		if _, err := bip39.Seed([]byte(tc.in), nil); vaulterr.CodeOf(err) != vaulterr.CodeInvalidMnemonic {
			t.Errorf("%s: Seed = %v", name, err)
		}
	}
}

// VAULT-T43, VAULT-R95: errors never carry the phrase; the same defect at the
// same position with different words gives identical error strings.
func TestErrorsCarryNoWords(t *testing.T) {
	t.Parallel()
	base := strings.Fields("legal winner thank year wave sausage worth useful legal winner thank yellow")
	pairs := [][2]string{
		{"qwertyuiop", "zxcvbnmasd"}, // unknown word
		{"legall", "winnerr"},
	}
	for _, p := range pairs {
		a := append([]string(nil), base...)
		b := append([]string(nil), base...)
		a[4], b[4] = p[0], p[1]
		_, ea := bip39.Parse([]byte(strings.Join(a, " ")))
		_, eb := bip39.Parse([]byte(strings.Join(b, " ")))
		if ea == nil || eb == nil || ea.Error() != eb.Error() {
			t.Errorf("errors differ: %v vs %v", ea, eb)
		}
		if strings.Contains(ea.Error(), p[0]) {
			t.Errorf("error %q contains the word", ea)
		}
	}
	// Bad checksum with different words: identical.
	_, ea := bip39.Parse([]byte(strings.Repeat("abandon ", 12)))
	_, eb := bip39.Parse([]byte(strings.Repeat("zoo ", 12)))
	if ea == nil || eb == nil || ea.Error() != eb.Error() {
		t.Errorf("checksum errors differ: %v vs %v", ea, eb)
	}
	// Wrong counts with different words: identical.
	_, ea = bip39.Parse([]byte(strings.Repeat("legal ", 11)))
	_, eb = bip39.Parse([]byte(strings.Repeat("zebra ", 11)))
	if ea == nil || eb == nil || ea.Error() != eb.Error() {
		t.Errorf("count errors differ: %v vs %v", ea, eb)
	}
	// Passphrase errors never contain the passphrase.
	secret := strings.Repeat("hunter2", 200)
	_, err := bip39.Seed([]byte(strings.Join(base, " ")), []byte(secret))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Seed with a long passphrase: %v", err)
	}
}

// VAULT-T21: passphrase not UTF-8 or over 1 KiB.
func TestSeedBadPassphrase(t *testing.T) {
	t.Parallel()
	phrase := []byte(strings.Repeat("abandon ", 11) + "about")
	for name, pp := range map[string][]byte{
		"not utf8":  {'a', 0xff, 'b'},
		"too long":  bytes.Repeat([]byte("a"), 1025),
		"expands":   []byte(strings.Repeat("\ufb03", 400)), // 1200 bytes as given, 1200 after NFKD
		"expands 2": []byte(strings.Repeat("\ufdfa", 40)),  // 120 bytes given, over 1 KiB after NFKD
	} {
		_, err := bip39.Seed(phrase, pp)
		if vaulterr.CodeOf(err) != vaulterr.CodeInvalidPassphrase {
			t.Errorf("%s: Seed = %v, want VAULT_INVALID_PASSPHRASE", name, err)
		}
	}
	if _, err := bip39.Seed(phrase, bytes.Repeat([]byte("a"), 1024)); err != nil {
		t.Errorf("1024-byte passphrase: %v", err)
	}
}

// VAULT-R12, VAULT-R10: generation.
func TestGenerate(t *testing.T) {
	t.Parallel()
	for _, n := range []int{12, 15, 18, 21, 24} {
		p, err := bip39.Generate(n)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(strings.Fields(string(p))); got != n {
			t.Errorf("Generate(%d) has %d words", n, got)
		}
		if strings.TrimSpace(string(p)) != string(p) || strings.Contains(string(p), "  ") || strings.ContainsAny(string(p), "\n\t") {
			t.Errorf("Generate(%d) = %q is not single-space separated", n, p)
		}
		c, err := bip39.Parse(p)
		if err != nil || !bytes.Equal(c, p) {
			t.Errorf("Parse(Generate(%d)) = %q, %v", n, c, err)
		}
		q, _ := bip39.Generate(n)
		if bytes.Equal(p, q) {
			t.Errorf("two Generate(%d) calls agree", n)
		}
	}
	for _, n := range []int{-1, 0, 11, 13, 25, 1 << 30} {
		if _, err := bip39.Generate(n); vaulterr.CodeOf(err) != vaulterr.CodeInvalidMnemonic {
			t.Errorf("Generate(%d) = %v", n, err)
		}
	}
	for _, n := range []int{0, 15, 17, 33, 64} {
		_, err := bip39.FromEntropy(make([]byte, n))
		if vaulterr.CodeOf(err) != vaulterr.CodeInvalidMnemonic {
			t.Errorf("FromEntropy(%d bytes) = %v", n, err)
		}
	}
}
