// Package domain is the business of flashlive: its types, its rules, its
// errors and the interfaces of the services and mechanisms that others
// implement. It does no I/O and starts no goroutine: no cache, no retry,
// no logging. What coordinates adapters to carry out a service (the flash
// sale's hot path, orders over the hot stock) lives in package service.
//
// It imports only the standard library. Adapters (storage/*, graph, realtime,
// jobs, auth) import domain and their own driver, never each other; service
// imports domain alone. The command in cmd/flashlive is the only place that
// knows every concrete type.
package domain
