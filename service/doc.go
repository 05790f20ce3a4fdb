// Package service holds flashlive's application services: they coordinate
// the adapters behind domain's interfaces (the hot stock, the system of
// record, the order stream, the realtime feed) to carry out what domain's
// service interfaces promise. They may start goroutines, cache, retry and
// log; domain stays pure (types, rules, errors and interfaces, no I/O).
//
// Like every adapter, service imports domain and nothing else of ours: it
// sees the adapters only through domain's interfaces, and cmd/flashlive
// wires the concrete ones in.
package service
