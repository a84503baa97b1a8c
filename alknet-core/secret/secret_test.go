package secret_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/alknet/alknet/alknet-core/secret"
)

const plain = "sk-live-7f3a9c2e41b8d05"

// holder embeds secrets in exported and unexported fields (CORE-R1404).
type holder struct {
	Name  string
	Key   secret.Secret
	Caps  secret.Capabilities
	key   secret.Secret
	caps  secret.Capabilities
	inner struct{ s secret.Secret }
}

var verbs = []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3v"}

// assertNoLeak fails when out contains plain, in text, hex or byte-list form.
func assertNoLeak(t *testing.T, what, out string) {
	t.Helper()
	forms := []string{plain, fmt.Sprintf("%x", plain), fmt.Sprint([]byte(plain))[1:20]}
	for _, f := range forms {
		if strings.Contains(out, f) {
			t.Errorf("%s leaks the secret: %q", what, out)
		}
	}
}

// CORE-R1401: Secret redacts through String, GoString, every fmt verb, JSON and slog.
func TestSecretRedacts(t *testing.T) {
	t.Parallel()
	s := secret.NewSecret(plain)
	if s.String() != "[REDACTED]" || s.GoString() != "[REDACTED]" {
		t.Fatalf("String/GoString = %q/%q", s.String(), s.GoString())
	}
	for _, v := range verbs {
		out := fmt.Sprintf(v, s)
		assertNoLeak(t, "Sprintf("+v+")", out)
		if !strings.Contains(out, "[REDACTED]") {
			t.Errorf("Sprintf(%s, secret) = %q, want [REDACTED]", v, out)
		}
		assertNoLeak(t, "Sprintf("+v+", &secret)", fmt.Sprintf(v, &s))
	}
	if b, err := json.Marshal(s); err == nil {
		t.Fatalf("json.Marshal(Secret) = %s, want an error", b)
	}
	if _, err := json.Marshal(map[string]any{"k": s}); err == nil {
		t.Fatal("json.Marshal of a map holding a Secret succeeded")
	}
	if _, err := s.MarshalText(); err == nil {
		t.Fatal("MarshalText succeeded")
	}
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		l := slog.New(h)
		l.Info("using key", "key", s, slog.Any("any", s), slog.Group("g", "ptr", &s))
		l.Info(fmt.Sprint(s), "err", fmt.Errorf("call failed with %v", s))
	}
	assertNoLeak(t, "slog output", buf.String())
	if !strings.Contains(buf.String(), "[REDACTED]") {
		t.Fatalf("slog output has no [REDACTED]: %s", buf.String())
	}
	if s.Expose() != plain || string(s.Bytes()) != plain || s.Len() != len(plain) {
		t.Fatalf("Expose/Bytes/Len do not return the secret")
	}
}

// CORE-R1404: structs holding secrets in exported or unexported fields print nothing secret.
func TestEnclosingStructRedacts(t *testing.T) {
	t.Parallel()
	caps := secret.NewCapabilities().WithAPIKey("openai", plain).WithHTTPToken("gh", plain)
	h := holder{Name: "n", Key: secret.NewSecret(plain), Caps: caps, key: secret.NewSecret(plain), caps: caps}
	h.inner.s = secret.NewSecret(plain)
	for _, v := range verbs {
		assertNoLeak(t, "Sprintf("+v+", holder)", fmt.Sprintf(v, h))
		assertNoLeak(t, "Sprintf("+v+", &holder)", fmt.Sprintf(v, &h))
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("h", "holder", h, "caps", caps)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("h", "holder", h, "caps", caps)
	assertNoLeak(t, "slog of holder", buf.String())
}

// CORE-R1304: copies share storage; Destroy wipes every copy.
func TestDestroy(t *testing.T) {
	t.Parallel()
	b := []byte(plain)
	s := secret.FromBytes(b)
	clear(b)
	if s.Expose() != plain {
		t.Fatal("FromBytes did not copy its input")
	}
	c := s
	s.Destroy()
	if !c.IsZero() || c.Expose() != "" || !s.IsZero() {
		t.Fatalf("after Destroy the copy holds %d bytes", c.Len())
	}
	var zero secret.Secret
	zero.Destroy() // must not panic
	if !zero.IsZero() || zero.Bytes() != nil {
		t.Fatal("zero Secret is not empty")
	}
}

// CORE-T1301: With returns a new value; Get prefers the API key; unknown service is false.
func TestCapabilities(t *testing.T) {
	t.Parallel()
	var zero secret.Capabilities
	if zero.Len() != 0 {
		t.Fatalf("zero Len = %d", zero.Len())
	}
	if _, ok := zero.Get("x"); ok {
		t.Fatal("zero Capabilities reported a credential")
	}
	a := secret.NewCapabilities().WithHTTPToken("github", "tok")
	b := a.WithAPIKey("github", "key")
	if a.Len() != 1 || b.Len() != 2 {
		t.Fatalf("Len = %d, %d; want 1, 2", a.Len(), b.Len())
	}
	if s, ok := a.Get("github"); !ok || s.Expose() != "tok" {
		t.Fatalf("original changed: Get = %v, %v", s.Expose(), ok)
	}
	if s, ok := b.Get("github"); !ok || s.Expose() != "key" {
		t.Fatalf("Get preferred %q, want the API key", s.Expose())
	}
	if _, ok := b.Get("openai"); ok {
		t.Fatal("unknown service reported a credential")
	}
	// A destroyed result leaves the shared set intact (CORE-R1304).
	s, _ := b.Get("github")
	s.Destroy()
	if again, _ := b.Get("github"); again.Expose() != "key" {
		t.Fatalf("Destroy of a Get result wiped the set: %q", again.Expose())
	}
}

// CORE-T1302: Capabilities cannot be serialized and print only a count.
func TestCapabilitiesRedact(t *testing.T) {
	t.Parallel()
	c := secret.NewCapabilities().WithAPIKey("openai", plain)
	if b, err := json.Marshal(c); err == nil {
		t.Fatalf("json.Marshal(Capabilities) = %s, want an error", b)
	}
	if _, err := c.MarshalText(); err == nil {
		t.Fatal("MarshalText succeeded")
	}
	for _, v := range verbs {
		out := fmt.Sprintf(v, c)
		assertNoLeak(t, "Sprintf("+v+", caps)", out)
		if strings.Contains(out, "openai") {
			t.Errorf("Sprintf(%s) names the service: %q", v, out)
		}
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("caps", slog.Any("caps", c))
	assertNoLeak(t, "slog", buf.String())
	if !strings.Contains(buf.String(), `"entries":1`) {
		t.Fatalf("slog output lacks the count: %s", buf.String())
	}
}

// CORE-R1301: one Capabilities value is shared by many goroutines.
func TestCapabilitiesConcurrent(t *testing.T) {
	t.Parallel()
	c := secret.NewCapabilities().WithAPIKey("a", "1")
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			d := c.WithAPIKey(fmt.Sprint("s", i), "x")
			s, ok := c.Get("a")
			if !ok || s.Expose() != "1" || d.Len() != 2 {
				t.Errorf("concurrent use: %v %v %d", s.Expose(), ok, d.Len())
			}
			s.Destroy()
		})
	}
	wg.Wait()
	if c.Len() != 1 {
		t.Fatalf("shared value changed: Len = %d", c.Len())
	}
}
