module github.com/alknet/alknet/alknet-cli

go 1.26.0

require (
	github.com/alknet/alknet/alknet-call v0.0.0
	github.com/alknet/alknet/alknet-core v0.0.0
	github.com/pelletier/go-toml/v2 v2.4.3
	golang.org/x/sys v0.49.0
	golang.org/x/term v0.47.0
)

require (
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3 // indirect
	golang.org/x/text v0.43.0 // indirect
)

replace (
	github.com/alknet/alknet/alknet-call => ../alknet-call
	github.com/alknet/alknet/alknet-core => ../alknet-core
	github.com/alknet/alknet/alknet-peer-store-sqlite => ../alknet-peer-store-sqlite
	github.com/alknet/alknet/alknet-vault => ../alknet-vault
)
