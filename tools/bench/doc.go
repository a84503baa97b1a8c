// Package bench compares alknet's hot paths with baselines side by side in one `go test -bench`
// run, so every number in a table was measured on the same machine at the same time.
//
// It is its own module so that gRPC-go, one of the baselines, never becomes a dependency of an
// alknet module. Run it from the repository root:
//
//	go test -run='^$' -bench=. -benchmem -count=6 ./tools/bench | tee new.txt
//	go run golang.org/x/perf/cmd/benchstat@latest new.txt
package bench
