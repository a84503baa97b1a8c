package wire

import (
	"maps"
	"slices"
)

// sortedKeys returns the keys of m in byte order, so map-valued fields encode deterministically.
func sortedKeys(m map[string][]string) []string {
	return slices.Sorted(maps.Keys(m))
}
