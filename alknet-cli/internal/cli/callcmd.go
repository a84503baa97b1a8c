package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/alknet/alknet/alknet-call/protocol"
	"github.com/alknet/alknet/alknet-cli/internal/client"
	"github.com/alknet/alknet/alknet-cli/internal/keystore"
	"github.com/alknet/alknet/alknet-cli/internal/output"
	"github.com/alknet/alknet/alknet-cli/internal/paths"
	"github.com/alknet/alknet/alknet-cli/internal/secretin"
	"github.com/alknet/alknet/alknet-core/auth"
	"github.com/alknet/alknet/alknet-core/tlsconf"
)

// connFlags are the connection flags of call, subscribe and ops (cli.md §7).
type connFlags struct {
	addr, peer                      string
	pins                            []string
	tokenFile                       string
	tokenStdin, tokenPrompt, asNode bool
	connectTimeout, timeout         time.Duration
	pass                            passFlags
}

func (c *connFlags) register(cmd *cobra.Command) {
	cmd.Annotations = map[string]string{clientAnnotation: "true"} // keeps ShortLivedGCPercent (CLI-B1)
	fs := cmd.Flags()
	fs.StringVar(&c.addr, "addr", "", "node address HOST:PORT (default: the local node)")
	fs.StringVar(&c.peer, "peer", "", "a configured peer: its fingerprints verify the server")
	fs.StringArrayVar(&c.pins, "pin", nil, "accept the server only with this fingerprint; repeatable")
	fs.StringVar(&c.tokenFile, "token-file", "", "read a bearer token (API key) from this file (mode 0600)")
	fs.BoolVar(&c.tokenStdin, "token-stdin", false, "read a bearer token from stdin")
	fs.BoolVar(&c.tokenPrompt, "token-prompt", false, "ask for a bearer token on the terminal")
	fs.BoolVar(&c.asNode, "as-node", false, "present this node's key as client certificate (unlocks the keystore)")
	fs.DurationVar(&c.connectTimeout, "connect-timeout", 10*time.Second, "bound on connecting")
	fs.DurationVar(&c.timeout, "timeout", 0, "request deadline (default call.default_timeout; none for subscribe)")
	c.pass.register(fs)
	cmd.MarkFlagsMutuallyExclusive("token-file", "token-stdin", "token-prompt")
	cmd.MarkFlagsMutuallyExclusive("passphrase-file", "passphrase-stdin")
}

// loopbackFor dials an unspecified listen host on the matching loopback address (CLI-R11).
func loopbackFor(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}

// target picks the server and its pins (CLI-R36).
func (inv *invocation) target(ctx context.Context, s *session, c connFlags) (string, []string, error) {
	pins := c.pins
	peerPins := func(id string) ([]string, error) {
		st, err := inv.openStore(ctx, s, storeReadOnly)
		if err != nil {
			return nil, err
		}
		defer st.Close()
		rec, err := st.Identities().PeerRecord(ctx, id)
		if err != nil {
			return nil, notFoundAs(err, "peer "+id)
		}
		return rec.Fingerprints, nil
	}
	switch {
	case c.addr != "":
		if len(pins) == 0 && c.peer != "" {
			p, err := peerPins(c.peer)
			if err != nil {
				return "", nil, err
			}
			pins = p
		}
		if len(pins) == 0 {
			return "", nil, output.Errorf(output.CodeUsage, "--addr %s needs a fingerprint to verify the server", c.addr).
				WithHint("pass --pin FINGERPRINT (the server's `alknet identity show`), or --peer ID")
		}
		return c.addr, pins, nil
	case c.peer != "":
		for _, e := range s.cfg.Connect {
			if e.PeerID == c.peer {
				p, err := peerPins(c.peer)
				if err != nil {
					return "", nil, err
				}
				if len(pins) == 0 {
					pins = p
				}
				return e.Addr, pins, nil
			}
		}
		return "", nil, output.Errorf(output.CodeNotFound, "no [[connect]] entry for peer %s", c.peer).
			WithHint("pass --addr HOST:PORT with --peer " + c.peer)
	}
	// The local node: the lock file while it runs, else the config and the keystore header.
	deadline := time.Now().Add(c.connectTimeout)
	for {
		st, li, err := paths.ProbeLock(s.layout.Lock.Path)
		if err != nil {
			return "", nil, err
		}
		switch st {
		case paths.Running:
			if len(pins) == 0 {
				pins = []string{li.Fingerprint}
			}
			return loopbackFor(li.Listen), pins, nil
		case paths.Starting:
			if time.Now().After(deadline) {
				return "", nil, output.Errorf(output.CodeConnectFailed, "the local node is still starting").WithHint("retry, or raise --connect-timeout")
			}
			select {
			case <-ctx.Done():
				return "", nil, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		break
	}
	if len(pins) == 0 {
		f, _, err := keystore.Load(s.layout.Keystore.Path)
		if err != nil {
			return "", nil, output.Errorf(output.CodeNodeNotRunning, "no node is running from %s and there is no keystore to pin", s.layout.DataDir.Path).
				WithHint("start one with `alknet serve`, or pass --addr and --pin")
		}
		if !f.Protected() {
			f.Wipe()
		}
		pins = []string{f.Identity.Fingerprint}
	}
	return loopbackFor(s.cfg.Listen.Addr), pins, nil
}

// dial builds the client for c (CLI-R36, CLI-R37, CLI-R74).
func (inv *invocation) dial(ctx context.Context, s *session, c connFlags, callTimeout time.Duration) (*client.Client, error) {
	addr, pins, err := inv.target(ctx, s, c)
	if err != nil {
		return nil, err
	}
	o := client.Options{Addr: addr, Pins: pins, CallTimeout: callTimeout, ConnectTimeout: c.connectTimeout, Logger: s.log}
	var tok []byte
	switch {
	case c.tokenFile != "":
		tok, err = secretin.ReadFile(c.tokenFile, "token file", secretin.MaxToken)
	case c.tokenStdin:
		if err = inv.useStdin("--token-stdin"); err == nil {
			tok, err = secretin.ReadStream(inv.stdio.In, "token", secretin.MaxToken)
		}
	case c.tokenPrompt:
		tok, err = secretin.Read(ctx, secretin.Source{}, nil, inv.stdio.Terminal,
			secretin.Request{What: "token", Max: secretin.MaxToken, Flags: "--token-file PATH or --token-stdin"})
	}
	if err != nil {
		return nil, err
	}
	if tok != nil {
		o.Token = auth.NewAuthToken(tok)
		secretin.Wipe(tok)
	}
	if c.asNode {
		v, _, err := inv.unlockNode(ctx, s, c.pass)
		if err != nil {
			return nil, err
		}
		ks, err := inv.loadKeystore(s)
		if err != nil {
			v.Lock()
			return nil, err
		}
		if !ks.Protected() {
			ks.Wipe()
		}
		k, _, err := deriveIdentity(v, ks.Identity.Index)
		v.Lock()
		if err != nil {
			return nil, err
		}
		key, err := tlsconf.NewEd25519KeyFromSeed(k.PrivateKey())
		k.Wipe()
		if err != nil {
			return nil, err
		}
		o.Identity = &tlsconf.Identity{Kind: tlsconf.KindRawKey, Key: key}
	}
	return client.Dial(ctx, o)
}

var traceparentRE = regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$`)

// readInput returns the request input (cli.md §7.8): JSON text, @FILE or - for stdin; none is
// null. It must parse locally before anything is sent.
func (inv *invocation) readInput(in string, set bool) (json.RawMessage, error) {
	if !set {
		return json.RawMessage("null"), nil
	}
	var b []byte
	switch {
	case in == "-":
		if err := inv.useStdin("--input -"); err != nil {
			return nil, err
		}
		var err error
		b, err = io.ReadAll(io.LimitReader(inv.stdio.In, 64<<20))
		if err != nil {
			return nil, fmt.Errorf("read the input from stdin: %w", err)
		}
	case strings.HasPrefix(in, "@"):
		var err error
		b, err = os.ReadFile(in[1:])
		if err != nil {
			return nil, output.Errorf(output.CodeInvalidInput, "read the input file %s: %v", in[1:], err)
		}
	default:
		b = []byte(in)
	}
	if !json.Valid(b) {
		return nil, output.Errorf(output.CodeInvalidInput, "the input is not valid JSON").
			WithHint(`quote it for the shell, for example --input '{"x":1}'`)
	}
	return bytes.TrimSpace(b), nil
}

func opPath(op string) string {
	if !strings.HasPrefix(op, "/") {
		return "/" + op
	}
	return op
}

// streamContext is run's signal context, plus SIGPIPE ignored so a closed stdout returns EPIPE
// (CLI-R71).
func ignoreSIGPIPE() { signal.Ignore(syscall.SIGPIPE) }

func isEPIPE(err error) bool { return errors.Is(err, syscall.EPIPE) }

func (inv *invocation) newCallCmd() *cobra.Command {
	var c connFlags
	var input, traceparent string
	cmd := &cobra.Command{
		Use:   "call <op>",
		Short: "Call one operation and print its result",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
		ignoreSIGPIPE()
		s, err := inv.setup(false)
		if err != nil {
			return err
		}
		in, err := inv.readInput(input, cmd.Flags().Changed("input"))
		if err != nil {
			return err
		}
		var opts []protocol.CallOption
		if traceparent != "" {
			if !traceparentRE.MatchString(traceparent) {
				return output.Errorf(output.CodeInvalidInput, "--traceparent %q is not a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)", traceparent)
			}
			opts = append(opts, protocol.WithTraceParent(traceparent))
		}
		timeout := c.timeout
		if timeout == 0 {
			timeout = s.cfg.Call.DefaultTimeout.D()
		}
		cl, err := inv.dial(ctx, s, c, timeout)
		if err != nil {
			return err
		}
		defer cl.Close()
		out, err := cl.Call(ctx, opPath(args[0]), in, opts...)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if !inv.g.json && output.IsTerminal(inv.stdio.Out) {
			_ = json.Indent(&buf, out, "", "  ")
		} else {
			_ = json.Compact(&buf, out)
		}
		buf.WriteByte('\n')
		if _, err := inv.stdio.Out.Write(buf.Bytes()); err != nil && !isEPIPE(err) {
			return err
		}
		return nil
	})
	c.register(cmd)
	cmd.Flags().StringVar(&input, "input", "", "input JSON, @FILE, or - for stdin (default null)")
	cmd.Flags().StringVar(&traceparent, "traceparent", "", "W3C trace context to send with the call")
	return cmd
}

func (inv *invocation) newSubscribeCmd() *cobra.Command {
	var c connFlags
	var input string
	cmd := &cobra.Command{
		Use:   "subscribe <op>",
		Short: "Open a subscription and print one JSON line per event",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
		ignoreSIGPIPE()
		s, err := inv.setup(false)
		if err != nil {
			return err
		}
		in, err := inv.readInput(input, cmd.Flags().Changed("input"))
		if err != nil {
			return err
		}
		cl, err := inv.dial(ctx, s, c, 0)
		if err != nil {
			return err
		}
		defer cl.Close()
		sctx := ctx
		if c.timeout > 0 {
			var cancel context.CancelFunc
			sctx, cancel = context.WithTimeout(ctx, c.timeout)
			defer cancel()
		}
		sub, err := cl.Subscribe(sctx, opPath(args[0]), in)
		if err != nil {
			return err
		}
		defer sub.Close()
		for {
			v, err := sub.Next(sctx)
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return client.MapError(sctx, err)
			}
			var buf bytes.Buffer
			_ = json.Compact(&buf, v)
			buf.WriteByte('\n')
			if _, err := inv.stdio.Out.Write(buf.Bytes()); err != nil {
				if isEPIPE(err) {
					return nil // the reader went away (`| head`): abort and exit 0 (CLI-R71)
				}
				return err
			}
		}
	})
	c.register(cmd)
	cmd.Flags().StringVar(&input, "input", "", "input JSON, @FILE, or - for stdin (default null)")
	return cmd
}

func (inv *invocation) newOpsCmd() *cobra.Command {
	return group(&cobra.Command{Use: "ops", Short: "List operations and show their schemas"},
		inv.newOpsListCmd(), inv.newOpsSchemaCmd())
}

func (inv *invocation) opsCall(ctx context.Context, c connFlags, op string, in json.RawMessage) (json.RawMessage, error) {
	ignoreSIGPIPE()
	s, err := inv.setup(false)
	if err != nil {
		return nil, err
	}
	timeout := c.timeout
	if timeout == 0 {
		timeout = s.cfg.Call.DefaultTimeout.D()
	}
	cl, err := inv.dial(ctx, s, c, timeout)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	return cl.Call(ctx, op, in)
}

func (inv *invocation) newOpsListCmd() *cobra.Command {
	var c connFlags
	var peers, long bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the operations you may call (services/list)",
		Args:  cobra.NoArgs,
	}
	cmd.RunE = run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
		op := "/services/list"
		if peers {
			op = "/services/list-peers"
		}
		out, err := inv.opsCall(ctx, c, op, json.RawMessage("{}"))
		if err != nil {
			return err
		}
		if inv.g.json {
			var buf bytes.Buffer
			_ = json.Compact(&buf, out)
			buf.WriteByte('\n')
			_, err := inv.stdio.Out.Write(buf.Bytes())
			return err
		}
		return inv.printOps(out, peers, long)
	})
	c.register(cmd)
	cmd.Flags().BoolVar(&peers, "peers", false, "list the attached peers' operations (services/list-peers)")
	cmd.Flags().BoolVar(&long, "long", false, "add descriptions and tags")
	return cmd
}

type opItem struct {
	Name        string   `json:"name"`
	OpType      string   `json:"op_type"`
	Summary     string   `json:"summary"`
	Description string   `json:"description"`
	Tags        []string `json:"tags"`
}

func (inv *invocation) printOps(out json.RawMessage, peers, long bool) error {
	rows := [][]string{}
	add := func(prefix string, ops []opItem) {
		for _, o := range ops {
			sum := o.Summary
			if sum == "" {
				sum, _, _ = strings.Cut(o.Description, "\n")
			}
			row := []string{prefix + o.Name, o.OpType, sum}
			if long {
				row = append(row, strings.Join(o.Tags, ","), strings.ReplaceAll(o.Description, "\n", " "))
			}
			rows = append(rows, row)
		}
	}
	if peers {
		var res struct {
			Peers []struct {
				PeerID     string   `json:"peer_id"`
				Operations []opItem `json:"operations"`
			} `json:"peers"`
		}
		if err := json.Unmarshal(out, &res); err != nil {
			return fmt.Errorf("decode services/list-peers: %w", err)
		}
		for _, p := range res.Peers {
			add(p.PeerID+": ", p.Operations)
		}
	} else {
		var res struct {
			Operations []opItem `json:"operations"`
		}
		if err := json.Unmarshal(out, &res); err != nil {
			return fmt.Errorf("decode services/list: %w", err)
		}
		add("", res.Operations)
	}
	header := []string{"NAME", "TYPE", "SUMMARY"}
	if long {
		header = append(header, "TAGS", "DESCRIPTION")
	}
	return output.Table(inv.stdio.Out, header, rows)
}

func (inv *invocation) newOpsSchemaCmd() *cobra.Command {
	var c connFlags
	cmd := &cobra.Command{
		Use:   "schema <op>",
		Short: "Show one operation's specification (services/schema)",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = run(func(ctx context.Context, cmd *cobra.Command, args []string) error {
		in, _ := json.Marshal(map[string]string{"name": strings.TrimPrefix(args[0], "/")})
		out, err := inv.opsCall(ctx, c, "/services/schema", in)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if inv.g.json {
			_ = json.Compact(&buf, out)
		} else {
			_ = json.Indent(&buf, out, "", "  ")
		}
		buf.WriteByte('\n')
		_, err = inv.stdio.Out.Write(buf.Bytes())
		return err
	})
	c.register(cmd)
	return cmd
}
