package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/alknet/alknet/alknet-cli/internal/output"
)

// MaxFileSize bounds the config file the loader reads.
const MaxFileSize = 1 << 20

// Problem is one positioned finding of decoding or validation. Line and Column are 1-based and
// 0 when unknown. The JSON names are the `config validate --json` shape (cli.md §7.10).
type Problem struct {
	Path    string `json:"path"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

// String formats the problem as file-less "line:column: path: message".
func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "%d:%d: ", p.Line, p.Column)
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Error is an invalid configuration: every problem found, in file order. Its code is
// CONFIG_INVALID (exit 3).
type Error struct {
	File     string
	Problems []Problem
}

// ErrorCode returns "CONFIG_INVALID".
func (e *Error) ErrorCode() string { return string(output.CodeConfigInvalid) }

// Error lists the problems as "file:line:column: path: message", one per line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = e.File + ":" + p.String()
	}
	return "invalid configuration:\n" + strings.Join(lines, "\n")
}

// Loaded is a decoded, validated configuration with where it came from.
type Loaded struct {
	*Config
	File     string    // the path that was read (or would have been)
	Exists   bool      // false: the file was absent and the defaults apply
	Warnings []Problem // findings that do not stop the command
	idx      *docIndex
}

// Problem returns a problem at the position of key path (or of its enclosing table).
func (l *Loaded) Problem(path, msg string) Problem {
	p := Problem{Path: path, Message: msg}
	if l.idx != nil {
		p.Line, p.Column = l.idx.pos(path)
	}
	return p
}

// Load reads and validates the config file at path. An absent file is CONFIG_NOT_FOUND (exit
// 3) when required (named by --config), otherwise the embedded defaults (CLI-R4).
func Load(path string, required bool) (*Loaded, error) {
	data, err := readFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if required {
			return nil, output.Errorf(output.CodeConfigNotFound, "config file %s does not exist", path).
				WithHint("check the --config path, or run `alknet init` to create one")
		}
		c := Default()
		return &Loaded{Config: c, File: path}, nil
	}
	if err != nil {
		return nil, output.Errorf(output.CodeConfigInvalid, "read config file %s: %v", path, err)
	}
	c, warnings, idx, err := parse(data, path)
	if err != nil {
		return nil, err
	}
	return &Loaded{Config: c, File: path, Exists: true, Warnings: warnings, idx: idx}, nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("larger than %d bytes", MaxFileSize)
	}
	return b, nil
}

// Parse decodes data strictly, fills the defaults and validates the result (CLI-R12, CLI-R13).
// file is used in messages only. It returns the configuration and any warnings, or an *Error
// listing every problem.
func Parse(data []byte, file string) (*Config, []Problem, error) {
	c, w, _, err := parse(data, file)
	return c, w, err
}

func parse(data []byte, file string) (*Config, []Problem, *docIndex, error) {
	idx, perr := indexDocument(data)
	if perr != nil {
		return nil, nil, nil, &Error{File: file, Problems: []Problem{*perr}}
	}
	if probs := checkDurationKinds(idx); len(probs) > 0 {
		return nil, nil, nil, &Error{File: file, Problems: probs}
	}
	c := Default()
	c.Connect, c.Route = nil, nil
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return nil, nil, nil, &Error{File: file, Problems: decodeProblems(err, idx)}
	}
	c.fillDefaults()
	v := validator{idx: idx}
	v.config(c)
	if len(v.errs) > 0 {
		sortProblems(v.errs)
		return nil, nil, nil, &Error{File: file, Problems: v.errs}
	}
	sortProblems(v.warns)
	return c, v.warns, idx, nil
}

func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Column < ps[j].Column
	})
}

// deferred names the keys of deferred features (cli.md §13.1): v1's strict decoder refuses
// them as unknown keys, with a message saying the feature is deferred rather than misspelt.
var deferred = map[string]string{
	"auth.peers":         "peers in the config file (auth.provider = \"config\") are deferred to a later version; manage peers with `alknet peers`",
	"auth.api_keys":      "API keys in the config file (auth.provider = \"config\") are deferred to a later version; manage keys with `alknet apikeys`",
	"store.auto_migrate": "store.auto_migrate is deferred to a later version; serve always migrates",
	"call.enabled":       "call.enabled is deferred to a later version; alknet/call is always served",
}

func decodeProblems(err error, idx *docIndex) []Problem {
	if se, ok := errors.AsType[*toml.StrictMissingError](err); ok {
		var out []Problem
		seen := map[string]bool{}
		for i := range se.Errors {
			de := &se.Errors[i]
			path := idx.pathAt(de)
			msg := "unknown key (check the spelling; see `alknet config show --defaults` for every key)"
			for k, m := range deferred {
				if path == k || strings.HasPrefix(path, k+".") || strings.HasPrefix(path, k+"[") {
					msg, path = m, k
				}
			}
			if strings.HasPrefix(path, "http.") {
				msg = "this binary has no HTTP gateway (alknet-http); only http.enabled = false is accepted"
			}
			if seen[path] {
				continue
			}
			seen[path] = true
			line, col := de.Position()
			if p, ok := idx.keys[path]; ok {
				line, col = p.line, p.col
			}
			out = append(out, Problem{Path: path, Line: line, Column: col, Message: msg})
		}
		sortProblems(out)
		return out
	}
	if de, ok := errors.AsType[*toml.DecodeError](err); ok {
		line, col := de.Position()
		return []Problem{{Path: idx.pathAt(de), Line: line, Column: col,
			Message: strings.TrimPrefix(de.Error(), "toml: ")}}
	}
	return []Problem{{Message: strings.TrimPrefix(err.Error(), "toml: ")}}
}

// docIndex records where each key of the document sits, by path ("listen.addr",
// "connect[0].peer_id"), so semantic errors carry a line and column (CLI-R13).
type docIndex struct {
	keys map[string]keyPos // first occurrence of each path
	at   map[[2]int]string // every occurrence: line, column -> path
}

type keyPos struct {
	line, col int
	kind      unstable.Kind
}

// pos returns the position of path, or of its nearest enclosing table, or 0:0.
func (x *docIndex) pos(path string) (int, int) {
	for p := path; p != ""; {
		if k, ok := x.keys[p]; ok {
			return k.line, k.col
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0, 0
}

// pathAt rebuilds the indexed path of a decode error from its key and position (the decoder
// reports array-table keys without their index).
func (x *docIndex) pathAt(de *toml.DecodeError) string {
	line, col := de.Position()
	if p, ok := x.at[[2]int{line, col}]; ok {
		return p
	}
	return strings.Join(de.Key(), ".")
}

func indexDocument(data []byte) (*docIndex, *Problem) {
	x := &docIndex{keys: map[string]keyPos{}, at: map[[2]int]string{}}
	var p unstable.Parser
	p.Reset(data)
	prefix := ""
	counts := map[string]int{}
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table:
			prefix = keyPath(e.Key())
			x.record(&p, prefix, e.Key(), e.Kind)
		case unstable.ArrayTable:
			k := keyPath(e.Key())
			prefix = k + "[" + strconv.Itoa(counts[k]) + "]"
			counts[k]++
			x.record(&p, prefix, e.Key(), e.Kind)
		case unstable.KeyValue:
			x.keyValue(&p, prefix, e)
		}
	}
	if err := p.Error(); err != nil {
		perr, ok := errors.AsType[*unstable.ParserError](err)
		pr := Problem{Message: err.Error()}
		if ok && len(perr.Highlight) > 0 {
			sh := p.Shape(p.Range(perr.Highlight))
			pr.Line, pr.Column, pr.Message = sh.Start.Line, sh.Start.Column, perr.Message
		}
		return nil, &pr
	}
	return x, nil
}

func (x *docIndex) keyValue(p *unstable.Parser, prefix string, e *unstable.Node) {
	path := joinPath(prefix, keyPath(e.Key()))
	val := e.Value()
	x.record(p, path, e.Key(), val.Kind)
	if val.Kind == unstable.InlineTable {
		it := val.Children()
		for it.Next() {
			if n := it.Node(); n.Kind == unstable.KeyValue {
				x.keyValue(p, path, n)
			}
		}
	}
}

func (x *docIndex) record(p *unstable.Parser, path string, key unstable.Iterator, kind unstable.Kind) {
	if !key.Next() {
		return
	}
	var kp keyPos
	if n := key.Node(); n.Raw.Length > 0 {
		sh := p.Shape(n.Raw)
		kp = keyPos{line: sh.Start.Line, col: sh.Start.Column}
		x.at[[2]int{kp.line, kp.col}] = path
	}
	kp.kind = kind
	if _, dup := x.keys[path]; !dup {
		x.keys[path] = kp
	}
}

func keyPath(it unstable.Iterator) string {
	var parts []string
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return strings.Join(parts, ".")
}

func joinPath(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// durationKeys lists the key paths (array indexes written "[]") whose Go field is a Duration,
// found by reflection so a new duration field is covered without a list to maintain.
var durationKeys = func() map[string]bool {
	out := map[string]bool{}
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			path := joinPath(prefix, name)
			ft := f.Type
			switch {
			case ft == reflect.TypeFor[Duration]():
				out[path] = true
			case ft.Kind() == reflect.Struct:
				walk(ft, path)
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				walk(ft.Elem(), path+"[]")
			}
		}
	}
	walk(reflect.TypeFor[Config](), "")
	return out
}()

var arrayIndex = regexp.MustCompile(`\[[0-9]+\]`)

// checkDurationKinds refuses a duration written as anything but a string (CLI-R12): go-toml
// would read a bare integer as nanoseconds.
func checkDurationKinds(x *docIndex) []Problem {
	var out []Problem
	for path, k := range x.keys {
		generic := arrayIndex.ReplaceAllString(path, "[]")
		if durationKeys[generic] && k.kind != unstable.String {
			out = append(out, Problem{Path: path, Line: k.line, Column: k.col,
				Message: "a duration must be a string in Go syntax, such as \"5s\" or \"250ms\" (a bare number is not accepted)"})
		}
	}
	sortProblems(out)
	return out
}
