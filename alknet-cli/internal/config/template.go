package config

import (
	"bytes"
	"strconv"

	toml "github.com/pelletier/go-toml/v2"
)

// Template returns the commented configuration `alknet init` writes when none exists
// (CLI-R33 step 7): every v1 key with its default, listen.addr set to listen.
func Template(listen string) []byte {
	var b bytes.Buffer
	b.WriteString(`# alknet node configuration (format version 1).
# Every key is optional; the values shown are the built-in defaults.
# This file holds no secret: passphrases come from a prompt, a file or stdin.
version = 1

[node]
name = ""                      # default: the host name
data_dir = ""                  # default: $XDG_DATA_HOME/alknet

[listen]
addr = ` + strconv.Quote(listen) + `

[tls]
mode = "vault"                 # vault | x509 | ephemeral
# cert_file = ""               # x509 only: PEM chain
# key_file = ""                # x509 only: PEM key, mode 0600

[vault]
keystore = ""                  # default: <data_dir>/keystore.json
required = false               # true: serve refuses to start without a keystore

[auth]
provider = "store"             # peers and API keys live in the store (alknet peers, alknet apikeys)

[store]
path = ""                      # default: <data_dir>/alknet.db
busy_timeout = "5s"
poll_interval = "50ms"
max_stale = "5m"

[call]
default_timeout = "30s"
import_from_inbound_peers = true
any_policy = "first"           # first | round-robin | least-outstanding

[http]
enabled = false

[limits]
max_connections_per_ip = 100
max_auth_attempts = 5
drain_timeout = "2s"
max_incoming_streams = 4096
idle_timeout = "30s"

[metrics]
addr = ""                      # e.g. "127.0.0.1:9464"; loopback only; empty = off

[log]                          # applies to serve
level = "info"                 # trace | debug | info | warn | error
format = "auto"                # auto | console | json

# Heads this node dials (worker -> head):
# [[connect]]
# peer_id = "head"
# addr = "head.example.net:4433"
# import = true
# namespace_prefix = ""
# operations = []
# auth_credential = ""
# present_identity = true
# backoff_min = "1s"
# backoff_max = "60s"

# Operations this node offers by forwarding to attached peers:
# [[route]]
# name = "cluster/info"
# target = "node/info"
# peer = ""
# type = "query"
# scopes = ["cluster:read"]
# grant = ["node:read"]
`)
	return b.Bytes()
}

// Marshal encodes c as TOML (`config show`). The configuration holds no secret by
// construction (CLI-R14).
func Marshal(c *Config) ([]byte, error) {
	return toml.Marshal(c)
}
