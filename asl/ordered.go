package asl

// This file decodes a definition keeping the order of object keys, so that
// states, error messages and graphs follow the order of the file.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

type kv struct {
	key string
	val any
}

// orderedObject is a JSON object whose keys keep their order.
type orderedObject []kv

func (o orderedObject) get(key string) (any, bool) {
	for _, e := range o {
		if e.key == key {
			return e.val, true
		}
	}
	return nil, false
}

// decodeOrdered decodes data into orderedObject, []any, json.Number, string,
// bool and nil values.
func decodeOrdered(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	v, err := decodeValue(d)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return v, nil
}

func decodeValue(d *json.Decoder) (any, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := orderedObject{}
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				key := kt.(string)
				for _, e := range obj {
					if e.key == key {
						return nil, fmt.Errorf("duplicate key %q", key)
					}
				}
				v, err := decodeValue(d)
				if err != nil {
					return nil, err
				}
				obj = append(obj, kv{key, v})
			}
			if _, err := d.Token(); err != nil {
				return nil, err
			}
			return obj, nil
		case '[':
			arr := []any{}
			for d.More() {
				v, err := decodeValue(d)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := d.Token(); err != nil {
				return nil, err
			}
			return arr, nil
		}
		return nil, fmt.Errorf("unexpected %v", t)
	default:
		return t, nil
	}
}

// plain converts ordered objects into map[string]any, recursively.
func plain(v any) any {
	switch t := v.(type) {
	case orderedObject:
		m := make(map[string]any, len(t))
		for _, e := range t {
			m[e.key] = plain(e.val)
		}
		return m
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = plain(x)
		}
		return out
	}
	return v
}
