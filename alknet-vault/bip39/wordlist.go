package bip39

import (
	_ "embed"
	"strings"
)

// englishList is the official BIP-39 English wordlist: 2048 lowercase ASCII
// words, one per line, each followed by LF (VAULT-R11). A test pins its
// SHA-256.
//
//go:embed english.txt
var englishList string

// words and index are built once from englishList and never modified.
var words, index = buildWordlist(englishList)

func buildWordlist(list string) ([]string, map[string]int) {
	ws := strings.Split(strings.TrimSuffix(list, "\n"), "\n")
	m := make(map[string]int, len(ws))
	for i, w := range ws {
		m[w] = i
	}
	return ws, m
}

// Index returns the position (0..2047) of word in the English list. The match
// is exact: no case folding, no prefix expansion.
func Index(word string) (int, bool) {
	i, ok := index[word]
	return i, ok
}

// Word returns the word at position i of the English list, or "" when i is
// outside 0..2047 (VAULT-R101).
func Word(i int) string {
	if i < 0 || i >= len(words) {
		return ""
	}
	return words[i]
}
