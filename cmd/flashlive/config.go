package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"flashlive/auth"
	"flashlive/graph"
	"flashlive/storage/redis/redisurl"
)

// Environments.
const (
	EnvDev  = "dev"
	EnvProd = "prod"
)

// Defaults of the dev environment, matching scripts/services.sh, so that
// `make run` (which asks for dev) needs no configuration.
const (
	DefaultHTTPAddr       = ":8080"
	DefaultPostgresURL    = "postgres://flashlive@127.0.0.1:55432/flashlive?sslmode=disable"
	DefaultRedisURL       = "redis://127.0.0.1:56379/0"
	DefaultPaymentTimeout = 15 * time.Minute
	devJWTSecret          = "flashlive-dev-secret-do-not-use-in-production"
)

// publicSecrets are JWT secrets anyone can read in this repository (the dev
// default, the placeholder docker-compose.yml once shipped): whoever knows
// one can sign an ADMIN token, so prod refuses them.
var publicSecrets = map[string]bool{
	devJWTSecret: true,
	"change-me-dev-only-secret-at-least-32-bytes": true,
}

// Config is the whole configuration of a flashlive process, read from
// FLASHLIVE_* environment variables by LoadConfig.
type Config struct {
	HTTPAddr       string        // FLASHLIVE_HTTP_ADDR
	DebugAddr      string        // FLASHLIVE_DEBUG_ADDR: where to serve /debug/pprof/ (keep it private); empty: nowhere
	MetricsAddr    string        // FLASHLIVE_METRICS_ADDR: where to serve /metrics instead of HTTPAddr (keep it private); empty: on HTTPAddr
	PostgresURL    string        // FLASHLIVE_POSTGRES_URL
	RedisURL       string        // FLASHLIVE_REDIS_URL: redis://, rediss://, unix://, or redis+cluster://h1:p1,h2:p2,... (rediss+cluster:// with TLS) for a Redis Cluster
	RedisPrefix    string        // FLASHLIVE_REDIS_PREFIX: prefix of every Redis key
	RedisReplicas  RedisReplicas // FLASHLIVE_REDIS_MIN_REPLICAS, FLASHLIVE_REDIS_REPLICA_TIMEOUT (redisreplicas.go)
	NATSURL        string        // FLASHLIVE_NATS_URL; empty: embedded server
	NATSListen     string        // FLASHLIVE_NATS_LISTEN: address the embedded server listens on; empty: in-process only
	JWTSecret      []byte        // FLASHLIVE_JWT_SECRET
	PaymentTimeout time.Duration // FLASHLIVE_PAYMENT_TIMEOUT
	Env            string        // FLASHLIVE_ENV: dev or prod
	AllowedOrigins []string      // FLASHLIVE_ALLOWED_ORIGINS: comma-separated origins
	DataDir        string        // FLASHLIVE_DATA_DIR: embedded NATS files
	LogLevel       slog.Level    // FLASHLIVE_LOG_LEVEL: debug, info, warn, error
	Seed           bool          // FLASHLIVE_SEED: demo data at start (default: on in dev)
	Admission      Admission     // FLASHLIVE_OPERATION_TIMEOUT, FLASHLIVE_MAX_PURCHASES_IN_FLIGHT, FLASHLIVE_PURCHASE_WAIT
	// TrustedProxies: FLASHLIVE_TRUSTED_PROXIES, comma-separated CIDRs of
	// the proxies whose Forwarded/X-Forwarded-For name the client.
	TrustedProxies trustedProxies
	Limits         Limits     // FLASHLIVE_LIMITS, FLASHLIVE_LIMIT_* (limits.go)
	Chat           ChatConfig // FLASHLIVE_CHAT_* (chat.go)
	// Replica: FLASHLIVE_POSTGRES_READ_URL, FLASHLIVE_POSTGRES_READ_MAX_LAG (replica.go).
	Replica ReplicaConfig

	// PostgresTimeout is the deadline of each PostgreSQL call
	// (FLASHLIVE_POSTGRES_TIMEOUT); PostgresBreakerCooldown how long the
	// breaker in front of PostgreSQL stays open before it probes again
	// (FLASHLIVE_POSTGRES_BREAKER_COOLDOWN). Zero (unset): the defaults,
	// postgres.DefaultQueryTimeout and postgres.DefaultBreakerCooldown.
	PostgresTimeout         time.Duration
	PostgresBreakerCooldown time.Duration
	WSInitTimeout           time.Duration // FLASHLIVE_WS_INIT_TIMEOUT: how long a subscription socket may wait before connection_init (then 4408)

	// MaxUnpaidOrders is how many flash orders one buyer may hold unpaid
	// at once, across events (FLASHLIVE_MAX_UNPAID_ORDERS): 0 means
	// DefaultMaxUnpaidOrders, so that a Config built in code has the cap;
	// NoUnpaidCap (the variable set to 0) means none.
	MaxUnpaidOrders int

	// NATSUser and NATSPassword: FLASHLIVE_NATS_USER, FLASHLIVE_NATS_PASSWORD.
	// The embedded server requires them of every client; with
	// FLASHLIVE_NATS_URL they are this client's credentials (unless the URL
	// has its own). Prod refuses an exposed embedded server without them.
	NATSUser, NATSPassword string
	// NATSReplicas: FLASHLIVE_NATS_REPLICAS, copies of each JetStream
	// stream, 1..5 (more than 1 needs a NATS cluster).
	NATSReplicas int

	Queue QueueConfig // FLASHLIVE_QUEUE_* (queue.go)
}

// DefaultMaxUnpaidOrders is the cap on each buyer's unpaid flash orders
// when none is configured: more than an honest buyer holds at once, few
// enough that a farm of free accounts pays for the stock it holds.
const DefaultMaxUnpaidOrders = 5

// UnpaidWindowMargin is how much longer than the payment window an order
// counts against its buyer's cap when nothing takes it off the list: the
// order's window starts when it is written, a moment after its
// reservation, and it expires at the next expiry scan, which takes it off
// the list. Only an order written later than this after its reservation
// (the order stream backed up) can outlive its place on the list.
const UnpaidWindowMargin = time.Minute

// NoUnpaidCap as Config.MaxUnpaidOrders lets buyers hold any number of
// unpaid flash orders.
const NoUnpaidCap = -1

// maxUnpaidOrders is the cap on each buyer's unpaid flash orders, 0 for
// none.
func (c Config) maxUnpaidOrders() int {
	switch {
	case c.MaxUnpaidOrders == 0:
		return DefaultMaxUnpaidOrders
	case c.MaxUnpaidOrders < 0:
		return 0
	}
	return c.MaxUnpaidOrders
}

// Admission is how much work the server takes on at once.
type Admission struct {
	// OperationTimeout is the deadline of every GraphQL query and mutation.
	OperationTimeout time.Duration
	// MaxPurchasesInFlight bounds the purchases in the hot stock at once;
	// one that cannot start within PurchaseWait is refused UNAVAILABLE.
	MaxPurchasesInFlight int
	PurchaseWait         time.Duration
}

// Defaults of Admission.
const (
	DefaultOperationTimeout     = 10 * time.Second
	DefaultMaxPurchasesInFlight = 1024
	DefaultPurchaseWait         = 250 * time.Millisecond
)

// Dev reports whether the process runs in the dev environment.
func (c Config) Dev() bool { return c.Env == EnvDev }

// LoadConfig reads the configuration through getenv and returns an error
// naming every bad or missing value. FLASHLIVE_ENV unset means prod: the
// database URLs and a JWT secret of at least 32 bytes, not a public one,
// are required. Only dev, asked for by name, has defaults for them.
func LoadConfig(getenv func(string) string) (Config, []string, error) {
	var errs, warnings []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }

	c := Config{
		HTTPAddr:    orDefault(get("FLASHLIVE_HTTP_ADDR"), DefaultHTTPAddr),
		DebugAddr:   get("FLASHLIVE_DEBUG_ADDR"),
		MetricsAddr: get("FLASHLIVE_METRICS_ADDR"),
		PostgresURL: get("FLASHLIVE_POSTGRES_URL"),
		RedisURL:    get("FLASHLIVE_REDIS_URL"),
		RedisPrefix: orDefault(get("FLASHLIVE_REDIS_PREFIX"), "fl:"),
		NATSURL:     get("FLASHLIVE_NATS_URL"),
		NATSListen:  get("FLASHLIVE_NATS_LISTEN"),
		Env:         orDefault(get("FLASHLIVE_ENV"), EnvProd),
		DataDir:     get("FLASHLIVE_DATA_DIR"),
	}
	if c.Env != EnvDev && c.Env != EnvProd {
		bad("FLASHLIVE_ENV must be %q or %q, not %q", EnvDev, EnvProd, c.Env)
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		bad("FLASHLIVE_HTTP_ADDR %q is not host:port (such as :8080 or 127.0.0.1:8080)", c.HTTPAddr)
	}
	if c.DebugAddr != "" {
		if _, _, err := net.SplitHostPort(c.DebugAddr); err != nil {
			bad("FLASHLIVE_DEBUG_ADDR %q is not host:port (such as 127.0.0.1:6060)", c.DebugAddr)
		}
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			bad("FLASHLIVE_METRICS_ADDR %q is not host:port (such as 127.0.0.1:9090)", c.MetricsAddr)
		}
	}
	dev := c.Env == EnvDev
	if c.PostgresURL == "" {
		if dev {
			c.PostgresURL = DefaultPostgresURL
		} else {
			bad("FLASHLIVE_POSTGRES_URL is required in prod")
		}
	} else if !hasScheme(c.PostgresURL, "postgres", "postgresql") {
		bad("FLASHLIVE_POSTGRES_URL must be a postgres:// URL")
	}
	// duration reads a duration variable: def when unset, else a value
	// within [lo, hi] or an error that names the variable.
	duration := func(name string, def, lo, hi time.Duration) time.Duration {
		v := get(name)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			bad("%s %q is not a duration (such as 2s or 500ms)", name, v)
		case d < lo || d > hi:
			bad("%s must be between %s and %s, not %s", name, lo, hi, d)
		default:
			return d
		}
		return def
	}
	c.PostgresTimeout = duration("FLASHLIVE_POSTGRES_TIMEOUT", 0, 50*time.Millisecond, time.Minute)
	c.PostgresBreakerCooldown = duration("FLASHLIVE_POSTGRES_BREAKER_COOLDOWN", 0, 100*time.Millisecond, 5*time.Minute)
	if c.RedisURL == "" {
		if dev {
			c.RedisURL = DefaultRedisURL
		} else {
			bad("FLASHLIVE_REDIS_URL is required in prod")
		}
	} else if redisurl.IsCluster(c.RedisURL) {
		if _, err := redisurl.Parse(c.RedisURL); err != nil {
			bad("FLASHLIVE_REDIS_URL: %v (want %s://[user:password@]host1:port1,host2:port2,...)", err, redisurl.SchemeCluster)
		}
	} else if !hasScheme(c.RedisURL, "redis", "rediss", "unix") {
		bad("FLASHLIVE_REDIS_URL must be a redis:// or rediss:// URL, or %s://host1:port1,host2:port2,... for a Redis Cluster", redisurl.SchemeCluster)
	}
	warnings = append(warnings, loadRedisReplicas(&c, get, bad)...)
	if strings.ContainsAny(c.RedisPrefix, "{}") {
		bad("FLASHLIVE_REDIS_PREFIX %q must hold no brace: keys' hash tags ({ev:<id>}, ...) keep each script's keys in one Redis Cluster slot", c.RedisPrefix)
	}
	if c.NATSURL != "" && !hasScheme(c.NATSURL, "nats", "tls", "ws", "wss") {
		bad("FLASHLIVE_NATS_URL must be a nats:// URL, or empty for the embedded server")
	}
	if c.NATSListen != "" {
		if _, _, err := net.SplitHostPort(c.NATSListen); err != nil {
			bad("FLASHLIVE_NATS_LISTEN %q is not host:port", c.NATSListen)
		}
	}
	warnings = append(warnings, loadNATSAuth(&c, get, getenv, bad)...)

	switch secret := getenv("FLASHLIVE_JWT_SECRET"); {
	case secret == "" && dev:
		c.JWTSecret = []byte(devJWTSecret)
		warnings = append(warnings, "FLASHLIVE_JWT_SECRET is not set: using the public dev secret; set one before exposing this server")
	default:
		if err := checkJWTSecret([]byte(secret), dev); err != "" {
			bad("%s", err)
		} else {
			c.JWTSecret = []byte(secret)
		}
	}

	c.PaymentTimeout = DefaultPaymentTimeout
	if v := get("FLASHLIVE_PAYMENT_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			bad("FLASHLIVE_PAYMENT_TIMEOUT %q is not a duration (such as 15m or 90s)", v)
		case d < time.Second || d > 24*time.Hour:
			bad("FLASHLIVE_PAYMENT_TIMEOUT must be between 1s and 24h, not %s", d)
		default:
			c.PaymentTimeout = d
		}
	}

	if v := get("FLASHLIVE_ALLOWED_ORIGINS"); v != "" {
		for _, o := range strings.Split(v, ",") {
			o = strings.TrimRight(strings.TrimSpace(o), "/")
			if o == "" {
				continue
			}
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
				bad("FLASHLIVE_ALLOWED_ORIGINS: %q is not an origin such as https://shop.example.com", o)
				continue
			}
			c.AllowedOrigins = append(c.AllowedOrigins, u.Scheme+"://"+u.Host)
		}
	}

	if c.DataDir == "" {
		c.DataDir = filepath.Join(".data")
	}

	c.LogLevel = slog.LevelInfo
	if v := get("FLASHLIVE_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			bad("FLASHLIVE_LOG_LEVEL %q is not one of debug, info, warn, error", v)
		}
	}

	c.Seed = dev
	switch v := strings.ToLower(get("FLASHLIVE_SEED")); v {
	case "":
	case "1", "true", "yes", "on":
		c.Seed = true
	case "0", "false", "no", "off":
		c.Seed = false
	default:
		bad("FLASHLIVE_SEED %q is not a boolean", v)
	}

	c.Admission = loadAdmission(get, bad)
	proxies, badProxies := parseTrustedProxies(get("FLASHLIVE_TRUSTED_PROXIES"))
	for _, p := range badProxies {
		bad("FLASHLIVE_TRUSTED_PROXIES: %q is not a CIDR such as 10.0.0.0/8 or fd00::/8", p)
	}
	c.TrustedProxies = proxies
	c.Limits = loadLimits(get, bad)
	c.Chat = loadChat(get, bad)
	c.Replica = loadReplica(get, bad)

	c.WSInitTimeout = graph.DefaultInitTimeout
	if v := get("FLASHLIVE_WS_INIT_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			bad("FLASHLIVE_WS_INIT_TIMEOUT %q is not a duration (such as 3s or 500ms)", v)
		case d < 100*time.Millisecond || d > time.Minute:
			bad("FLASHLIVE_WS_INIT_TIMEOUT must be between 100ms and 1m0s, not %s", d)
		default:
			c.WSInitTimeout = d
		}
	}

	if v := get("FLASHLIVE_MAX_UNPAID_ORDERS"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			bad("FLASHLIVE_MAX_UNPAID_ORDERS %q is not a whole number (0 for no cap)", v)
		case n < 0 || n > 10_000:
			bad("FLASHLIVE_MAX_UNPAID_ORDERS must be between 0 (no cap) and 10000, not %d", n)
		case n == 0:
			c.MaxUnpaidOrders = NoUnpaidCap
		default:
			c.MaxUnpaidOrders = n
		}
	}

	c.Queue = loadQueue(get, bad)

	if len(errs) > 0 {
		return c, warnings, fmt.Errorf("bad configuration:\n  - %s", strings.Join(errs, "\n  - "))
	}
	return c, warnings, nil
}

// checkJWTSecret returns what is wrong with secret as the JWT secret of
// an environment, or "": it is required and of at least 32 bytes, and in
// prod it must not be a public one.
func checkJWTSecret(secret []byte, dev bool) string {
	switch {
	case len(secret) == 0:
		return "FLASHLIVE_JWT_SECRET is required in prod (at least 32 bytes, e.g. `openssl rand -base64 48`)"
	case len(secret) < auth.MinSecretLen:
		return fmt.Sprintf("FLASHLIVE_JWT_SECRET must have at least %d bytes, it has %d", auth.MinSecretLen, len(secret))
	case !dev && publicSecrets[string(secret)]:
		return "FLASHLIVE_JWT_SECRET is a public secret (the dev default or the old docker-compose.yml placeholder): anyone could sign tokens with it; set a secret of your own in prod (e.g. `openssl rand -base64 48`)"
	}
	return ""
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func hasScheme(raw string, schemes ...string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	for _, s := range schemes {
		if u.Scheme == s {
			return true
		}
	}
	return false
}

// osGetenv is os.Getenv, named for LoadConfig's callers.
var osGetenv = os.Getenv

// redacted is what a hidden secret reads as in logs and errors.
const redacted = "xxxxx"

// secretParams are the names, in a URL's query or a keyword/value DSN, whose
// values are secrets.
var secretParams = map[string]bool{"password": true, "passwd": true, "sslpassword": true, "token": true, "secret": true}

// redactURL returns a service address with every secret in it hidden, for
// logs and errors: the password of a URL's user info and the value of any
// secret query parameter (postgres://u:p@h/db?password=p), the value of a
// secret key in a keyword/value DSN (host=h password=p), for each address
// of a comma-separated list (nats://u:p@a,nats://u:p@b). What it cannot
// parse as a URL it treats as keyword/value pairs, so no secret it
// recognises is ever printed.
func redactURL(s string) string {
	if !strings.Contains(s, "://") {
		return redactKeywords(s)
	}
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = redactOneURL(p)
	}
	return strings.Join(parts, ",")
}

func redactOneURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		// The parser's error would quote the secret; say only what it was.
		return schemeOf(s) + "://" + redacted
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), redacted)
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			if secretParams[strings.ToLower(k)] {
				q.Set(k, redacted)
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// schemeOf returns the scheme of s, the part before "://".
func schemeOf(s string) string {
	scheme, _, _ := strings.Cut(s, "://")
	return scheme
}

// redactKeywords hides the secret values of a keyword/value DSN
// ("host=h password='p q'").
func redactKeywords(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		eq := strings.IndexByte(s[i:], '=')
		if eq < 0 {
			b.WriteString(s[i:])
			break
		}
		key := strings.TrimSpace(s[i : i+eq])
		if j := strings.LastIndexAny(key, " \t"); j >= 0 {
			key = key[j+1:]
		}
		b.WriteString(s[i : i+eq+1])
		i += eq + 1
		end := valueEnd(s, i)
		if secretParams[strings.ToLower(key)] {
			b.WriteString(redacted)
		} else {
			b.WriteString(s[i:end])
		}
		i = end
	}
	return b.String()
}

// valueEnd returns where the value that starts at s[i] ends: after its
// closing quote when quoted (backslash escapes honoured), else at the next
// space.
func valueEnd(s string, i int) int {
	if i < len(s) && s[i] == '\'' {
		for j := i + 1; j < len(s); j++ {
			switch s[j] {
			case '\\':
				j++
			case '\'':
				return j + 1
			}
		}
		return len(s)
	}
	if j := strings.IndexAny(s[i:], " \t"); j >= 0 {
		return i + j
	}
	return len(s)
}

// minNATSPassword is the shortest NATS password prod accepts.
const minNATSPassword = 16

// loadNATSAuth reads the NATS credentials and stream replicas into c,
// reporting bad values through bad, and returns the warnings: in prod an
// exposed embedded server (FLASHLIVE_NATS_LISTEN) must have a user and a
// password of at least minNATSPassword bytes; in dev one without them is a
// warning.
func loadNATSAuth(c *Config, get, getenv func(string) string, bad func(string, ...any)) []string {
	var warnings []string
	c.NATSUser, c.NATSPassword = get("FLASHLIVE_NATS_USER"), getenv("FLASHLIVE_NATS_PASSWORD")
	switch {
	case (c.NATSUser == "") != (c.NATSPassword == ""):
		bad("FLASHLIVE_NATS_USER and FLASHLIVE_NATS_PASSWORD go together: set both or neither")
	case c.NATSUser == "" && c.NATSURL == "" && c.NATSListen != "":
		if c.Dev() {
			warnings = append(warnings, "FLASHLIVE_NATS_LISTEN exposes the embedded NATS server without a password: anyone who reaches "+c.NATSListen+" can publish orders; set FLASHLIVE_NATS_USER and FLASHLIVE_NATS_PASSWORD")
		} else {
			bad("FLASHLIVE_NATS_LISTEN exposes the embedded NATS server: set FLASHLIVE_NATS_USER and FLASHLIVE_NATS_PASSWORD (at least %d bytes) in prod", minNATSPassword)
		}
	case c.NATSUser != "" && !c.Dev() && len(c.NATSPassword) < minNATSPassword:
		bad("FLASHLIVE_NATS_PASSWORD must have at least %d bytes in prod, it has %d", minNATSPassword, len(c.NATSPassword))
	}
	c.NATSReplicas = 1
	if v := get("FLASHLIVE_NATS_REPLICAS"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			bad("FLASHLIVE_NATS_REPLICAS %q is not a whole number", v)
		case n < 1 || n > 5:
			bad("FLASHLIVE_NATS_REPLICAS must be between 1 and 5, not %d", n)
		case n > 1 && c.NATSURL == "":
			bad("FLASHLIVE_NATS_REPLICAS %d needs a NATS cluster (FLASHLIVE_NATS_URL); the embedded server is one node", n)
		default:
			c.NATSReplicas = n
		}
	}
	return warnings
}

// loadAdmission reads Admission, reporting bad values through bad.
func loadAdmission(get func(string) string, bad func(string, ...any)) Admission {
	a := Admission{
		OperationTimeout:     DefaultOperationTimeout,
		MaxPurchasesInFlight: DefaultMaxPurchasesInFlight,
		PurchaseWait:         DefaultPurchaseWait,
	}
	duration := func(k string, lo, hi time.Duration, into *time.Duration) {
		v := get(k)
		if v == "" {
			return
		}
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			bad("%s %q is not a duration (such as 10s or 250ms)", k, v)
		case d < lo || d > hi:
			bad("%s must be between %s and %s, not %s", k, lo, hi, d)
		default:
			*into = d
		}
	}
	duration("FLASHLIVE_OPERATION_TIMEOUT", 100*time.Millisecond, 5*time.Minute, &a.OperationTimeout)
	duration("FLASHLIVE_PURCHASE_WAIT", time.Millisecond, 10*time.Second, &a.PurchaseWait)
	if v := get("FLASHLIVE_MAX_PURCHASES_IN_FLIGHT"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			bad("FLASHLIVE_MAX_PURCHASES_IN_FLIGHT %q is not a whole number", v)
		case n < 1 || n > 1_000_000:
			bad("FLASHLIVE_MAX_PURCHASES_IN_FLIGHT must be between 1 and 1000000, not %d", n)
		default:
			a.MaxPurchasesInFlight = n
		}
	}
	return a
}
