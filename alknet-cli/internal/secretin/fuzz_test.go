package secretin_test

import (
	"bytes"
	"testing"

	"github.com/alknet/alknet/alknet-cli/internal/secretin"
)

// CLI-R22: the content rules never panic, and an accepted secret is the input minus exactly
// one trailing newline, non-empty, without NUL, within the limit.
func FuzzReadStream(f *testing.F) {
	for _, s := range []string{"pw", "pw\n", "pw\r\n", "pw\n\n", "", "\n", "a\x00b", string(bytes.Repeat([]byte("x"), 40))} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		const max = 32
		orig := append([]byte(nil), in...)
		got, err := secretin.ReadStream(bytes.NewReader(in), "secret", max)
		if err != nil {
			return
		}
		want := orig
		switch {
		case bytes.HasSuffix(want, []byte("\r\n")):
			want = want[:len(want)-2]
		case bytes.HasSuffix(want, []byte("\n")):
			want = want[:len(want)-1]
		}
		if !bytes.Equal(got, want) || len(got) == 0 || len(orig) > max || bytes.IndexByte(got, 0) >= 0 {
			t.Fatalf("ReadStream(%q) = %q", orig, got)
		}
	})
}
