package registry

import (
	"strings"
	"unicode/utf8"
)

// TrimMetadata returns spec with its descriptive metadata brought within the REG-R21 limits the
// way importers must (from_call for remote specs, the HTTP importers for OpenAPI and MCP
// metadata): whitespace trimmed, invalid UTF-8 and disallowed control characters removed,
// Summary and Description cut at the last complete UTF-8 character within their limits, and
// empty, over-long, duplicate or surplus tags dropped. It never fails; spec is not modified.
func TrimMetadata(spec OperationSpec) OperationSpec {
	spec.Summary = cutUTF8(cleanText(spec.Summary, false), MaxSummaryLen)
	spec.Description = cutUTF8(cleanText(spec.Description, true), MaxDescriptionLen)
	var tags []string
	seen := map[string]bool{}
	for _, t := range spec.Tags {
		t = cleanText(t, false)
		if t == "" || len(t) > MaxTagLen || seen[t] || len(tags) == MaxTags {
			continue
		}
		seen[t] = true
		tags = append(tags, t)
	}
	spec.Tags = tags
	return spec
}

// cleanText drops invalid UTF-8 and control characters (newlines kept when allowed) and trims
// surrounding whitespace.
func cleanText(s string, allowNewline bool) string {
	s = strings.ToValidUTF8(s, "")
	if hasControl(s, allowNewline) {
		s = strings.Map(func(r rune) rune {
			if r == '\n' && allowNewline {
				return r
			}
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				return -1
			}
			return r
		}, s)
	}
	return strings.TrimSpace(s)
}

// cutUTF8 cuts s to at most n bytes at the last complete UTF-8 character, then trims trailing
// whitespace.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strings.TrimSpace(s[:n])
}
