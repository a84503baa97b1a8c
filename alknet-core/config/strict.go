package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// checkKeys walks the JSON document raw along the Go type t and reports the first object key
// that is not exactly the JSON name of a field of t (encoding/json would match it without
// regard to case) or that appears twice in one object (encoding/json would keep the last),
// and the first value whose JSON type cannot fill its field, with the full path including
// list indexes (encoding/json names such a field without the index of its list entry).
// Malformed JSON is left to the decoder, which reports it with its position.
func checkKeys(raw []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	err := walkValue(dec, t, "")
	if _, ok := err.(keyError); ok {
		return err
	}
	return nil
}

// keyError is a strictness violation found by checkKeys.
type keyError string

func (e keyError) Error() string { return string(e) }

func walkValue(dec *json.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if t != nil && tok != nil { // null leaves a field unset, as encoding/json does
		if problem := typeProblem(tok, t); problem != "" {
			return keyError(path + ": " + problem)
		}
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch {
	case delim == '{' && t != nil && t.Kind() == reflect.Struct:
		return walkStruct(dec, t, path)
	case delim == '{' && t != nil && t.Kind() == reflect.Map:
		return walkObject(dec, path, func(string) (reflect.Type, error) { return t.Elem(), nil })
	case delim == '{':
		return walkObject(dec, path, func(string) (reflect.Type, error) { return nil, nil })
	}
	var elem reflect.Type
	if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		elem = t.Elem()
	}
	for i := 0; dec.More(); i++ {
		if err := walkValue(dec, elem, path+"["+strconv.Itoa(i)+"]"); err != nil {
			return err
		}
	}
	_, err = dec.Token() // ']'
	return err
}

func walkStruct(dec *json.Decoder, t reflect.Type, path string) error {
	fields := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
	return walkObject(dec, path, func(key string) (reflect.Type, error) {
		if ft, ok := fields[key]; ok {
			return ft, nil
		}
		for name := range fields {
			if strings.EqualFold(name, key) {
				return nil, keyError(fmt.Sprintf("%s: unknown field (field names are case-sensitive: %q)", join(path, key), name))
			}
		}
		if key == "fingerprint" {
			return nil, keyError(fmt.Sprintf("%s: unknown field (use \"fingerprints\", a list)", join(path, key)))
		}
		return nil, keyError(join(path, key) + ": unknown field")
	})
}

// walkObject walks the members of an object whose '{' was read; field maps a key to the type
// of its value or reports it as not allowed.
func walkObject(dec *json.Decoder, path string, field func(string) (reflect.Type, error)) error {
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if seen[key] {
			return keyError(join(path, key) + ": given twice")
		}
		seen[key] = true
		ft, err := field(key)
		if err != nil {
			return err
		}
		if err := walkValue(dec, ft, join(path, key)); err != nil {
			return err
		}
	}
	_, err := dec.Token() // '}'
	return err
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// typeProblem describes why the JSON token tok (the first token of a value) cannot fill a Go
// value of type t, or returns "" when it can.
func typeProblem(tok json.Token, t reflect.Type) string {
	delim, isDelim := tok.(json.Delim)
	switch t.Kind() {
	case reflect.String:
		if _, ok := tok.(string); !ok {
			return "must be a string"
		}
	case reflect.Bool:
		if _, ok := tok.(bool); !ok {
			return "must be true or false"
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := tok.(json.Number)
		if !ok {
			return "must be an integer"
		}
		if _, err := strconv.ParseInt(string(n), 10, t.Bits()); err != nil {
			return fmt.Sprintf("must be an integer (digits only, within the %d-bit signed range), not %s", t.Bits(), n)
		}
	case reflect.Slice, reflect.Array:
		if !isDelim || delim != '[' {
			return "must be a list"
		}
	case reflect.Struct, reflect.Map:
		if !isDelim || delim != '{' {
			return "must be an object"
		}
	}
	return ""
}
