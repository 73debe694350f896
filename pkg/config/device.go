package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
)

// SecretMask stands for a secret in a device shown to a person or script.
// Sent back in an update, it means "keep the stored value".
const SecretMask = "<secret>"

// DecodeDevice decodes one device given as a generic map (JSON or YAML
// decoded into map[string]any), with the keys and duration syntax of a
// devices: entry of the file. An unknown key is an error, as in a file.
// Defaults are not applied; see DeviceDefaults and ValidateDevice.
func DecodeDevice(raw map[string]any) (Device, error) {
	var d Device
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:           &d,
		ErrorUnused:      true,
		WeaklyTypedInput: true,
		DecodeHook:       mapstructure.ComposeDecodeHookFunc(durationHook, mapstructure.StringToSliceHookFunc(",")),
	})
	if err != nil {
		return d, err
	}
	if err := dec.Decode(raw); err != nil {
		return d, deviceDecodeError(err)
	}
	return d, nil
}

// deviceDecodeError names the key at fault the way ValidateDevice does:
// "snmp.timeout", or the section holding an unknown key.
func deviceDecodeError(err error) error {
	var errs []error
	collect := func(e error) {
		var de *mapstructure.DecodeError
		if !errors.As(e, &de) {
			errs = append(errs, &FieldError{Path: "(device)", Msg: e.Error()})
			return
		}
		path, msg := de.Name(), de.Unwrap().Error()
		if strings.HasPrefix(path, "config.") {
			path = ""
		}
		// An unknown key is named itself, so the path points at the typo.
		if keys, ok := strings.CutPrefix(msg, "has invalid keys: "); ok {
			first, _, _ := strings.Cut(keys, ",")
			path = joinPath(path, strings.TrimSpace(first))
			msg = "unknown key(s) " + keys
		}
		if path == "" {
			path = "(device)"
		}
		errs = append(errs, &FieldError{Path: path, Msg: msg})
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			collect(e)
		}
	} else {
		collect(err)
	}
	return errors.Join(errs...)
}

// ValidateDevice checks one device on its own, with paths relative to the
// device ("snmp.community"), as Validate checks each device of a file.
// Call DeviceDefaults first. Names unique among devices are the caller's
// concern.
func (c *Config) ValidateDevice(d Device) error {
	var errs []error
	c.validateDevice(func(path, format string, args ...any) {
		errs = append(errs, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}, "", d)
	return errors.Join(errs...)
}

var (
	secretType    = reflect.TypeOf(Secret(""))
	durationType  = reflect.TypeOf(time.Duration(0))
	mapSecretType = reflect.TypeOf(map[string]Secret(nil))
)

// DeviceView returns d as the keys of a devices: entry, for display:
// unset values are left out, durations are written like "1m0s" and every
// secret (communities, pass phrases, passwords, header values) reads
// SecretMask. DecodeDevice reads it back.
func DeviceView(d Device) map[string]any {
	return viewStruct(reflect.ValueOf(d))
}

func viewStruct(v reflect.Value) map[string]any {
	out := map[string]any{}
	t := v.Type()
	for i := range t.NumField() {
		key, _, _ := strings.Cut(t.Field(i).Tag.Get("mapstructure"), ",")
		if key == "" || key == "-" {
			continue
		}
		if val, ok := viewValue(v.Field(i)); ok {
			out[key] = val
		}
	}
	return out
}

func viewValue(f reflect.Value) (any, bool) {
	// A number set through a pointer shows even when 0: max_concurrent: 0
	// lifts poller.device_max_concurrent, and must read back so.
	if f.Kind() == reflect.Pointer && !f.IsNil() && f.Elem().Kind() != reflect.Struct {
		return f.Elem().Interface(), true
	}
	if f.IsZero() {
		return nil, false
	}
	switch {
	case f.Type() == secretType:
		return SecretMask, true
	case f.Type() == mapSecretType:
		m := map[string]any{}
		for _, k := range f.MapKeys() {
			m[k.String()] = SecretMask
		}
		return m, true
	case f.Type() == durationType:
		return time.Duration(f.Int()).String(), true
	}
	switch f.Kind() {
	case reflect.Pointer:
		return viewValue(f.Elem())
	case reflect.Struct:
		m := viewStruct(f)
		return m, len(m) > 0
	}
	return f.Interface(), true
}

// KeepSecrets replaces every SecretMask in an updated device (decoded
// JSON or YAML) with the value at the same place in the stored one, so
// that a device read, edited and sent back keeps its secrets.
func KeepSecrets(updated, stored map[string]any) {
	for k, v := range updated {
		switch v := v.(type) {
		case string:
			if v == SecretMask {
				if old, ok := stored[k]; ok {
					updated[k] = old
				}
			}
		case map[string]any:
			if old, ok := stored[k].(map[string]any); ok {
				KeepSecrets(v, old)
			}
		}
	}
}

// MaskedPath returns the path of a SecretMask left in a device after
// KeepSecrets (a secret that had no stored value to keep), or "".
func MaskedPath(raw map[string]any) string {
	for _, k := range sortedKeys(raw) {
		switch v := raw[k].(type) {
		case string:
			if v == SecretMask {
				return k
			}
		case map[string]any:
			if p := MaskedPath(v); p != "" {
				return k + "." + p
			}
		}
	}
	return ""
}
