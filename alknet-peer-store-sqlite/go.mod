module github.com/alknet/alknet/alknet-peer-store-sqlite

go 1.26.0

require (
	github.com/alknet/alknet/alknet-core v0.0.0
	github.com/mattn/go-sqlite3 v1.14.53
	go.uber.org/goleak v1.3.0
)

replace github.com/alknet/alknet/alknet-core => ../alknet-core
