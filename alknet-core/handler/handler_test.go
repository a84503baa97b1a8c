package handler_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/alknet/alknet/alknet-core/alkerr"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/conn"
	"github.com/alknet/alknet/alknet-core/handler"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type fakeHandler struct{ alpn string }

func (h fakeHandler) ALPN() string { return h.alpn }
func (h fakeHandler) Handle(context.Context, *conn.Connection, auth.AuthContext) error {
	return nil
}

var validALPNs = []string{
	"alknet/call", "alknet/call/v2", "alknet/test-echo", "alknet/a.b_c-d", "alknet/0",
	"h3", "h2", "http/1.1", "x", strings.Repeat("a", 255), "ALKNETX/Foo",
}

// CORE-T502
var invalidALPNs = []string{
	"", strings.Repeat("a", 256), "acme-tls/1", "alknet/", "alknet/Call", "alknet/call v2",
	"alknet/caf\u00e9", "Alknet/call", "alknet", "alknet//x", "alknet/x/", "alknet/-x", "alknet/_x",
	"h3\x00", "\x7f", "tab\there",
}

func TestValidateALPN(t *testing.T) {
	t.Parallel()
	for _, a := range validALPNs {
		if err := handler.ValidateALPN(a); err != nil {
			t.Errorf("ValidateALPN(%q) = %v, want nil", a, err)
		}
	}
	for _, a := range invalidALPNs {
		err := handler.ValidateALPN(a)
		if !errors.Is(err, handler.ErrALPNInvalid) || alkerr.CodeOf(err) != alkerr.CodeALPNInvalid {
			t.Errorf("ValidateALPN(%q) = %v, want ALPN_INVALID", a, err)
		}
	}
}

// CORE-T501
func TestAddConflict(t *testing.T) {
	t.Parallel()
	b := handler.NewRegistryBuilder()
	if err := b.Add(fakeHandler{"alknet/a"}); err != nil {
		t.Fatal(err)
	}
	if err := b.Add(fakeHandler{"alknet/a"}); !errors.Is(err, handler.ErrALPNConflict) {
		t.Fatalf("second Add = %v, want ALPN_CONFLICT", err)
	}
	if err := b.Add(fakeHandler{"alknet/b"}); err != nil {
		t.Fatalf("Add after conflict = %v, want nil", err)
	}
	if err := b.Add(fakeHandler{"alknet/Bad"}); !errors.Is(err, handler.ErrALPNInvalid) {
		t.Fatalf("Add(invalid) = %v, want ALPN_INVALID", err)
	}
	if err := b.Add(nil); alkerr.CodeOf(err) != alkerr.CodeConfigInvalid {
		t.Fatalf("Add(nil) = %v, want CONFIG_INVALID", err)
	}
	r, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 2 {
		t.Fatalf("Len = %d, want 2", r.Len())
	}
}

// CORE-T503
func TestBuildSeal(t *testing.T) {
	t.Parallel()
	b := handler.NewRegistryBuilder()
	if _, err := b.Build(); alkerr.CodeOf(err) != alkerr.CodeConfigInvalid {
		t.Fatalf("Build(empty) = %v, want CONFIG_INVALID", err)
	}
	for _, a := range []string{"h2", "http/1.1", "alknet/call"} {
		if err := b.Add(fakeHandler{a}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Add(fakeHandler{"alknet/late"}); !errors.Is(err, handler.ErrRegistrySealed) {
		t.Fatalf("Add after Build = %v, want REGISTRY_SEALED", err)
	}
	if _, err := b.Build(); !errors.Is(err, handler.ErrRegistrySealed) {
		t.Fatalf("second Build = %v, want REGISTRY_SEALED", err)
	}
	got := r.ALPNs()
	want := []string{"h2", "http/1.1", "alknet/call"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("ALPNs = %v, want %v", got, want)
	}
	got[0] = "mutated"
	if r.ALPNs()[0] != "h2" {
		t.Fatal("mutating the ALPNs copy changed the registry")
	}
	if _, ok := r.Lookup("alknet/late"); ok {
		t.Fatal("handler added after Build is visible")
	}
	if h, ok := r.Lookup("http/1.1"); !ok || h.ALPN() != "http/1.1" {
		t.Fatalf("Lookup(http/1.1) = %v, %v", h, ok)
	}
}

// CORE-T505 (registry side; the endpoint test repeats it under live traffic)
func TestConcurrentLookup(t *testing.T) {
	t.Parallel()
	b := handler.NewRegistryBuilder()
	_ = b.Add(fakeHandler{"alknet/a"})
	_ = b.Add(fakeHandler{"alknet/b"})
	r, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 1000 {
		wg.Go(func() {
			alpn := "alknet/a"
			if i%2 == 1 {
				alpn = "alknet/b"
			}
			if h, ok := r.Lookup(alpn); !ok || h.ALPN() != alpn {
				t.Errorf("Lookup(%q) = %v, %v", alpn, h, ok)
			}
			_ = r.ALPNs()
		})
	}
	wg.Wait()
}

func FuzzValidateALPN(f *testing.F) {
	for _, a := range validALPNs {
		f.Add(a)
	}
	for _, a := range invalidALPNs {
		f.Add(a)
	}
	f.Fuzz(func(t *testing.T, alpn string) {
		err := handler.ValidateALPN(alpn)
		if err != nil {
			if !errors.Is(err, handler.ErrALPNInvalid) {
				t.Fatalf("ValidateALPN(%q) = %v, not ALPN_INVALID", alpn, err)
			}
			return
		}
		if len(alpn) == 0 || len(alpn) > 255 || alpn == handler.ALPNACME {
			t.Fatalf("ValidateALPN(%q) accepted a forbidden value", alpn)
		}
		for i := 0; i < len(alpn); i++ {
			if alpn[i] < 0x21 || alpn[i] > 0x7e {
				t.Fatalf("ValidateALPN(%q) accepted byte 0x%02x", alpn, alpn[i])
			}
		}
		if strings.HasPrefix(strings.ToLower(alpn), "alknet/") && alpn != strings.ToLower(alpn) {
			t.Fatalf("ValidateALPN(%q) accepted upper case in the alknet namespace", alpn)
		}
	})
}
