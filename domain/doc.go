// Package domain is the business of flashlive: its types, its rules, its
// errors and the interfaces of the services that the adapters implement.
//
// It imports only the standard library. Adapters (storage/*, graph, realtime,
// jobs, auth) import domain and their own driver, never each other; the
// command in cmd/flashlive is the only place that knows every concrete type.
package domain
