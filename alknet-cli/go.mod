module github.com/alknet/alknet/alknet-cli

go 1.26.0

require (
	github.com/alknet/alknet/alknet-call v0.0.0
	github.com/alknet/alknet/alknet-core v0.0.0
	github.com/alknet/alknet/alknet-peer-store-sqlite v0.0.0
	github.com/alknet/alknet/alknet-vault v0.0.0
	github.com/creack/pty v1.1.24
	github.com/mattn/go-sqlite3 v1.14.53
	github.com/pelletier/go-toml/v2 v2.4.3
	github.com/rs/zerolog v1.35.1
	github.com/spf13/cobra v1.10.2
	github.com/spf13/pflag v1.0.9
	go.uber.org/goleak v1.3.0
	golang.org/x/crypto v0.58.0
	golang.org/x/sys v0.49.0
	golang.org/x/term v0.47.0
)

require (
	github.com/gabriel-vasile/mimetype v1.4.16 // indirect
	github.com/go-playground/locales v0.14.2 // indirect
	github.com/go-playground/universal-translator v0.18.2 // indirect
	github.com/go-playground/validator/v10 v10.30.6 // indirect
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/leodido/go-urn v1.5.0 // indirect
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/mattn/go-isatty v0.0.20 // indirect
	github.com/quic-go/quic-go v0.65.0 // indirect
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)

replace (
	github.com/alknet/alknet/alknet-call => ../alknet-call
	github.com/alknet/alknet/alknet-core => ../alknet-core
	github.com/alknet/alknet/alknet-peer-store-sqlite => ../alknet-peer-store-sqlite
	github.com/alknet/alknet/alknet-vault => ../alknet-vault
)
