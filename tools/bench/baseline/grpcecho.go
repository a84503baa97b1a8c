package baseline

import (
	"context"
	"fmt"
	"net"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/encoding"
)

// grpcMethod is the full method name of the echo.
const grpcMethod = "/bench.Echo/Echo"

// rawCodec carries []byte messages as they are, so the gRPC baseline pays no protobuf cost either:
// both sides exchange the same JSON bytes alknet does.
type rawCodec struct{}

var _ encoding.Codec = rawCodec{}

func (rawCodec) Name() string { return "bench-raw" }

func (rawCodec) Marshal(v any) ([]byte, error) {
	p, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("raw codec: cannot marshal %T", v)
	}
	return *p, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	p, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("raw codec: cannot unmarshal into %T", v)
	}
	*p = append((*p)[:0], data...)
	return nil
}

type echoService interface{}

var echoDesc = grpc.ServiceDesc{
	ServiceName: "bench.Echo",
	HandlerType: (*echoService)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Echo",
		Handler: func(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			var in []byte
			if err := dec(&in); err != nil {
				return nil, err
			}
			return &in, nil
		},
	}},
}

// GRPCEcho is a gRPC-go server over TLS with one unary method that returns its input.
type GRPCEcho struct {
	srv *grpc.Server
	ln  net.Listener
	wg  sync.WaitGroup
}

// NewGRPCEcho listens on 127.0.0.1:0 (TCP) with cert and starts serving. Close stops it.
func NewGRPCEcho(cert *Certificate) (*GRPCEcho, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	srv := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(cert.ServerConfig("h2"))),
		grpc.ForceServerCodec(rawCodec{}),
	)
	srv.RegisterService(&echoDesc, struct{}{})
	g := &GRPCEcho{srv: srv, ln: ln}
	g.wg.Go(func() { _ = srv.Serve(ln) })
	return g, nil
}

// Addr is the TCP address the server listens on.
func (g *GRPCEcho) Addr() net.Addr { return g.ln.Addr() }

// Close stops the server and waits for its serving goroutine.
func (g *GRPCEcho) Close() error {
	g.srv.Stop()
	g.wg.Wait()
	return nil
}

// GRPCClient is one gRPC client connection (one HTTP/2 connection) to a [GRPCEcho].
type GRPCClient struct {
	cc *grpc.ClientConn
}

// DialGRPC connects to the echo at addr, trusting only cert.
func DialGRPC(addr string, cert *Certificate) (*GRPCClient, error) {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(cert.ClientConfig("h2"))))
	if err != nil {
		return nil, fmt.Errorf("grpc client %s: %w", addr, err)
	}
	return &GRPCClient{cc: cc}, nil
}

// Call invokes the echo with p and returns the answer, which reuses *out's storage.
func (c *GRPCClient) Call(ctx context.Context, p []byte, out *[]byte) ([]byte, error) {
	if err := c.cc.Invoke(ctx, grpcMethod, &p, out, grpc.ForceCodec(rawCodec{})); err != nil {
		return nil, err
	}
	return *out, nil
}

// Close closes the connection.
func (c *GRPCClient) Close() error { return c.cc.Close() }
