// Package config owns Saguaro's configuration: the embedded default, loading
// a YAML file through viper with strict decoding (an unknown key is an
// error), SAGUARO_* environment overrides, and validation that reports every
// problem at once with the path of the field a person must fix.
//
// It is the only package that imports viper.
package config
