// Command flashlive-barehub is the yardstick of the live feed's load test:
// the plainest gorilla/websocket broadcast server, as gorilla's own chat
// example builds one (a reader and a writer goroutine per connection, a
// buffered channel of prepared messages, a write deadline per frame), with
// none of flashlive's work. POST /sell takes one unit off a counter and
// broadcasts a stock frame shaped like flashlive's to every connection;
// /metrics serves the Go and process metrics the load tool reads, and
// /debug/pprof/ the profiles (the tool has it collect garbage before it
// reads the heap).
//
//	flashlive-barehub -addr 127.0.0.1:18081 &
//	flashlive-viewers -bare -url http://127.0.0.1:18081 -viewers 10000
//
// scripts/bench-live.sh runs it with BARE=1.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const (
	queueSize = 64
	writeWait = 10 * time.Second
)

type hub struct {
	mu        sync.Mutex
	clients   map[chan *websocket.PreparedMessage]struct{}
	remaining int
	dropped   int
}

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "listen address")
	flag.Parse()
	h := &hub{clients: map[chan *websocket.PreparedMessage]struct{}{}, remaining: 1_000_000}
	up := websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.Handler())
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		send := make(chan *websocket.PreparedMessage, queueSize)
		h.mu.Lock()
		h.clients[send] = struct{}{}
		h.mu.Unlock()
		go func() { // writer
			for pm := range send {
				_ = ws.SetWriteDeadline(time.Now().Add(writeWait))
				if err := ws.WritePreparedMessage(pm); err != nil {
					break
				}
			}
			ws.Close()
		}()
		go func() { // reader: takes the join frame and whatever follows
			defer func() {
				h.mu.Lock()
				if _, ok := h.clients[send]; ok {
					delete(h.clients, send)
					close(send)
				}
				h.mu.Unlock()
				ws.Close()
			}()
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					return
				}
			}
		}()
	})
	mux.HandleFunc("POST /sell", func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.remaining--
		n := h.remaining
		frame, _ := json.Marshal(map[string]any{
			"type": "stock", "room": "room_bare", "eventId": "evt_bare", "remaining": n, "status": "LIVE",
			"serverTime": time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00"),
		})
		pm, _ := websocket.NewPreparedMessage(websocket.TextMessage, frame)
		for send := range h.clients {
			select {
			case send <- pm:
			default: // too slow: cut off
				delete(h.clients, send)
				close(send)
				h.dropped++
			}
		}
		h.mu.Unlock()
		fmt.Fprintf(w, `{"remaining":%d}`, n)
	})
	log.Fatal(http.ListenAndServe(*addr, mux))
}
