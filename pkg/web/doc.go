// Package web serves Saguaro over HTTP: the HTML pages capacity planners
// browse, the /api/v1 endpoints scripts call (graph lists, PNG and CSV),
// /healthz and Saguaro's own /metrics.
//
// It is the only package that imports echo. It knows graphs and devices
// only through the small interfaces declared here, which cmd/saguaro
// satisfies.
package web
