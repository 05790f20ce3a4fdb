// Package nats connects flashlive to NATS and JetStream: to the server at a
// URL when one is configured, or to a nats-server embedded in the process
// (JetStream on, files under the data directory) when none is. Streams and
// consumers of the order path are declared here.
package nats

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Conn is a connection to NATS with its JetStream context, and the embedded
// server when there is one.
type Conn struct {
	NC *nats.Conn
	JS jetstream.JetStream
	// Embedded is the in-process server, nil when connected by URL.
	Embedded *server.Server
	// Replicas is how many servers of a NATS cluster hold each stream
	// this process declares (JetStream's Replicas, 1..5); 0 means 1. A
	// stream with R replicas acknowledges a message once a majority of
	// them stored it, so R = 3 survives the loss of one server.
	Replicas int
}

// StreamReplicas is the Replicas of the streams to declare: c.Replicas,
// at least 1.
func (c *Conn) StreamReplicas() int { return max(c.Replicas, 1) }

// EmbeddedOptions configure the embedded server.
type EmbeddedOptions struct {
	// StoreDir holds JetStream's files; it is created when missing.
	StoreDir string
	// Listen, when non-empty ("127.0.0.1:4333", or "127.0.0.1:-1" for a
	// random port), makes the embedded server accept network clients, so
	// that other processes can share it. Empty: in-process clients only.
	Listen string
	// User and Password, when set, are required of every client of the
	// embedded server (the in-process one included, which Open gives
	// them). With a URL, they are the client's credentials, unless the
	// URL carries its own (nats://user:password@host:port).
	User, Password string
}

// Open connects to the NATS server at url, or starts an embedded server
// when url is empty. name is the client name shown by the server.
func Open(ctx context.Context, url, name string, emb EmbeddedOptions) (*Conn, error) {
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
	}
	if emb.User != "" {
		opts = append(opts, nats.UserInfo(emb.User, emb.Password))
	}
	c := &Conn{}
	if url == "" {
		ns, err := StartEmbedded(emb)
		if err != nil {
			return nil, err
		}
		c.Embedded = ns
		opts = append(opts, nats.InProcessServer(ns))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("connect to nats: %w", err)
	}
	c.NC = nc
	if c.JS, err = jetstream.New(nc); err != nil {
		c.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	if err := c.Ping(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// StartEmbedded starts a nats-server with JetStream in this process and
// waits until it accepts clients.
func StartEmbedded(o EmbeddedOptions) (*server.Server, error) {
	if o.StoreDir == "" {
		return nil, errors.New("embedded nats: a store directory is required")
	}
	if err := os.MkdirAll(o.StoreDir, 0o750); err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	opts := &server.Options{
		ServerName: "flashlive-embedded",
		JetStream:  true,
		StoreDir:   filepath.Clean(o.StoreDir),
		NoSigs:     true,
		NoLog:      true,
		DontListen: o.Listen == "",
		Username:   o.User,
		Password:   o.Password,
	}
	if o.Listen != "" {
		host, port, err := splitHostPort(o.Listen)
		if err != nil {
			return nil, fmt.Errorf("embedded nats listen address: %w", err)
		}
		opts.Host, opts.Port = host, port
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("embedded nats: not ready after 10s")
	}
	return ns, nil
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("%q: bad port", addr)
	}
	return host, port, nil
}

// Ping reports an error unless the server answers a round trip and
// JetStream answers an account-info request.
func (c *Conn) Ping(ctx context.Context) error {
	if c.NC == nil || !c.NC.IsConnected() {
		return errors.New("nats: not connected")
	}
	if _, err := c.JS.AccountInfo(ctx); err != nil {
		return fmt.Errorf("nats: jetstream: %w", err)
	}
	return nil
}

// Close drains the connection (so that messages being handled finish) and
// shuts the embedded server down.
func (c *Conn) Close() {
	if c.NC != nil {
		_ = c.NC.Drain()
		for i := 0; i < 50 && !c.NC.IsClosed(); i++ {
			time.Sleep(20 * time.Millisecond)
		}
		c.NC.Close()
	}
	if c.Embedded != nil {
		c.Embedded.Shutdown()
		c.Embedded.WaitForShutdown()
	}
}
