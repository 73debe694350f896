// Package web serves Saguaro over HTTP: the HTML pages capacity planners
// browse (a tree of devices and graph groups with search, a preview grid,
// time presets, shifting and drag-to-zoom, graph, device, template,
// capacity and account pages), the /api/v1 endpoints scripts call (graph
// lists and PNG, SVG, CSV and JSON exports, ad-hoc graphs, devices,
// templates, tokens, the capacity report, an OpenAPI description),
// /healthz and Saguaro's own /metrics.
//
// Every route but /healthz, /login and /assets needs a user, resolved by
// pkg/auth's middleware (API tokens, Basic, session cookies); pages
// redirect to the login form, the API answers 401. /metrics is open to
// the host itself (the self-scrape) and needs a viewer from elsewhere.
// Every view's state (range, filters, page) is in its URL.
//
// Pages are server-rendered html/template with one small script and no
// build step. It is the only package that imports echo. It knows graphs,
// devices and templates only through the small interfaces declared here
// (Graphs, Devices, Templates, and the optional AdHoc and Forecasts),
// which cmd/saguaro satisfies.
package web
