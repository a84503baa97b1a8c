//go:build race

package main_test

// raceEnabled tells the harness to build the binary with -race (CLI-R78).
const raceEnabled = true
