package main

import (
	"bufio"
	"bytes"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	natsserver "github.com/nats-io/nats-server/v2/server"

	"flashlive/internal/testenv"
	"flashlive/storage/redis/redisurl"
)

// This file checks docker-compose.yml, .env.example, the files the compose
// file mounts and the Dockerfile without a Docker engine: the compose file
// is decoded strictly (a field this struct does not know fails), its
// variables interpolated as compose does, and each app's environment is
// run through LoadConfig.

// composeFile is the part of the Compose specification docker-compose.yml
// uses; decoding is strict, so a field outside it (or a typo) fails.
type composeFile struct {
	Name string `yaml:"name"`
	// Extension fields: YAML anchors merged into the services.
	XRestart   any `yaml:"x-restart"`
	XRedisNode any `yaml:"x-redis-node"`
	XNATSNode  any `yaml:"x-nats-node"`
	XApp       any `yaml:"x-app"`

	Services map[string]composeService `yaml:"services"`
	Networks map[string]struct {
		IPAM struct {
			Config []struct {
				Subnet  string `yaml:"subnet"`
				IPRange string `yaml:"ip_range"`
			} `yaml:"config"`
		} `yaml:"ipam"`
	} `yaml:"networks"`
	Volumes map[string]*struct{} `yaml:"volumes"`
}

type composeService struct {
	Image string `yaml:"image"`
	Build *struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	User        string            `yaml:"user"`
	Profiles    []string          `yaml:"profiles"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	Volumes     []string          `yaml:"volumes"`
	Healthcheck *struct {
		Test        []string `yaml:"test"`
		Interval    string   `yaml:"interval"`
		Timeout     string   `yaml:"timeout"`
		Retries     int      `yaml:"retries"`
		StartPeriod string   `yaml:"start_period"`
	} `yaml:"healthcheck"`
	Restart         string `yaml:"restart"`
	StopGracePeriod string `yaml:"stop_grace_period"`
	DependsOn       map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Networks map[string]struct {
		IPv4Address string `yaml:"ipv4_address"`
	} `yaml:"networks"`
	Ulimits map[string]struct {
		Soft int `yaml:"soft"`
		Hard int `yaml:"hard"`
	} `yaml:"ulimits"`
}

// composeVarRe matches a compose variable reference: ${NAME}, ${NAME:-def},
// ${NAME-def}, ${NAME:?err}, ${NAME?err}; $$ is an escaped $.
var composeVarRe = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}`)

// interpolate substitutes compose variables in text from env (a missing
// name reads as unset), as `docker compose` does; names collects every
// variable referenced.
func interpolate(t *testing.T, text string, env map[string]string) string {
	t.Helper()
	return composeVarRe.ReplaceAllStringFunc(text, func(m string) string {
		if m == "$$" {
			return "$"
		}
		g := composeVarRe.FindStringSubmatch(m)
		name, op, arg := g[1], g[2], g[3]
		v, set := env[name]
		switch op {
		case "":
			return v
		case ":-":
			if v == "" {
				return arg
			}
		case "-":
			if !set {
				return arg
			}
		case ":?", "?":
			if v == "" && (op == ":?" || !set) {
				t.Fatalf("${%s%s%s}: docker compose would refuse to run without %s", name, op, arg, name)
			}
		}
		return v
	})
}

// composeVars returns the variables docker-compose.yml's non-comment lines
// reference.
func composeVars(text string) map[string]bool {
	vars := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, g := range composeVarRe.FindAllStringSubmatch(line, -1) {
			if g[1] != "" {
				vars[g[1]] = true
			}
		}
	}
	return vars
}

// envExample returns the variables .env.example sets, each with whether a
// comment says what it is.
func envExample(t *testing.T) (vars map[string]string, documented map[string]bool) {
	t.Helper()
	f, err := os.Open(filepath.Join(testenv.RepoRoot(t), ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vars, documented = map[string]string{}, map[string]bool{}
	commented := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			commented = false
		case strings.HasPrefix(line, "#"):
			commented = true
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf(".env.example: %q is not NAME=value", line)
			}
			vars[k] = v
			documented[k] = commented
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return vars, documented
}

// loadCompose reads docker-compose.yml, interpolates it with env and
// decodes it strictly.
func loadCompose(t *testing.T, env map[string]string) (composeFile, string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	dec := yaml.NewDecoder(bytes.NewReader([]byte(interpolate(t, string(raw), env))), yaml.Strict())
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("docker-compose.yml does not decode strictly: %v", err)
	}
	return c, string(raw)
}

// composeSecrets are the values of .env a test stack would have.
func composeSecrets(t *testing.T) map[string]string {
	t.Helper()
	env, _ := envExample(t)
	env["FLASHLIVE_JWT_SECRET"] = "test-secret-of-the-compose-check-0123456789abcdef"
	env["FLASHLIVE_PG_PASSWORD"] = "0123456789abcdef0123456789abcdef"
	env["FLASHLIVE_REDIS_PASSWORD"] = "fedcba9876543210fedcba9876543210"
	env["FLASHLIVE_NATS_PASSWORD"] = "00112233445566778899aabbccddeeff"
	return env
}

var appServices = []string{"app-1", "app-2", "app-3"}

// TestComposeServicesHealthAndRestart: every service has a healthcheck and
// a restart policy, every dependency names a service and a condition, and
// every file mounted from the repository exists.
func TestComposeServicesHealthAndRestart(t *testing.T) {
	c, _ := loadCompose(t, composeSecrets(t))
	want := []string{"postgres", "postgres-replica", "redis", "redis-1", "redis-2", "redis-3", "redis-4", "redis-5", "redis-6",
		"redis-cluster-init", "nats-1", "nats-2", "nats-3", "app-1", "app-2", "app-3", "lb"}
	var got []string
	for name := range c.Services {
		got = append(got, name)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("services = %v, want %v", got, want)
	}
	for name, s := range c.Services {
		hc := s.Healthcheck
		if hc == nil || len(hc.Test) < 2 || (hc.Test[0] != "CMD" && hc.Test[0] != "CMD-SHELL") || hc.Retries < 1 {
			t.Errorf("%s: no usable healthcheck: %+v", name, hc)
		} else {
			for _, d := range []string{hc.Interval, hc.Timeout, hc.StartPeriod} {
				if _, err := time.ParseDuration(orDefault(d, "0s")); err != nil {
					t.Errorf("%s: healthcheck duration %q: %v", name, d, err)
				}
			}
		}
		if !slices.Contains([]string{"always", "unless-stopped", "on-failure"}, s.Restart) {
			t.Errorf("%s: restart %q, want always, unless-stopped or on-failure", name, s.Restart)
		}
		if s.Image == "" {
			t.Errorf("%s: no image", name)
		}
		for dep, d := range s.DependsOn {
			if _, ok := c.Services[dep]; !ok {
				t.Errorf("%s depends on %s, which is no service", name, dep)
			}
			if !slices.Contains([]string{"service_healthy", "service_completed_successfully", "service_started"}, d.Condition) {
				t.Errorf("%s depends on %s with condition %q", name, dep, d.Condition)
			}
		}
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, "./") {
				if _, err := os.Stat(filepath.Join(testenv.RepoRoot(t), src)); err != nil {
					t.Errorf("%s mounts %s: %v", name, src, err)
				}
			} else if _, ok := c.Volumes[src]; !ok {
				t.Errorf("%s mounts volume %q, not declared under volumes", name, src)
			}
		}
	}
	if d := c.Services["redis-cluster-init"].DependsOn; len(d) != 6 {
		t.Errorf("redis-cluster-init waits for %d nodes, want the 6", len(d))
	}
	for _, app := range appServices {
		s := c.Services[app]
		if s.DependsOn["redis-cluster-init"].Condition != "service_completed_successfully" {
			t.Errorf("%s does not wait for the Redis Cluster to be created", app)
		}
		for _, n := range []string{"postgres", "nats-1", "nats-2", "nats-3"} {
			if s.DependsOn[n].Condition != "service_healthy" {
				t.Errorf("%s does not wait for %s to be healthy", app, n)
			}
		}
		if got := s.Healthcheck.Test; !slices.Equal(got, []string{"CMD", "/flashlive", "healthcheck", "/readyz"}) {
			t.Errorf("%s healthcheck %v, want the binary's own /readyz probe (distroless has no shell)", app, got)
		}
		// SIGTERM: ShutdownTimeout for requests in flight, then up to 5 s
		// to flush the order stream (Main.close).
		grace, err := time.ParseDuration(s.StopGracePeriod)
		if err != nil || grace <= ShutdownTimeout+5*time.Second {
			t.Errorf("%s stop_grace_period %q, want more than %s", app, s.StopGracePeriod, ShutdownTimeout+5*time.Second)
		}
	}
	for _, sh := range []string{"postgres-primary-init.sh", "postgres-replica.sh", "redis-cluster-init.sh"} {
		if out, err := exec.Command("sh", "-n", filepath.Join(testenv.RepoRoot(t), "deploy/compose", sh)).CombinedOutput(); err != nil {
			t.Errorf("deploy/compose/%s: %v\n%s", sh, err, out)
		}
	}
}

// TestComposeEnvExample: every variable the compose file reads is in
// .env.example with a comment, nothing else is, and no secret has a
// value there.
func TestComposeEnvExample(t *testing.T) {
	_, raw := loadCompose(t, composeSecrets(t))
	used := composeVars(raw)
	example, documented := envExample(t)
	for v := range used {
		if _, ok := example[v]; !ok {
			t.Errorf("docker-compose.yml reads %s, which .env.example does not list", v)
		}
	}
	for v, val := range example {
		if !used[v] {
			t.Errorf(".env.example lists %s, which docker-compose.yml does not read", v)
		}
		if !documented[v] {
			t.Errorf(".env.example: %s has no comment saying what it is", v)
		}
		if isSecretName(v) && val != "" {
			t.Errorf(".env.example gives the secret %s a value", v)
		}
	}
}

func isSecretName(name string) bool {
	for _, s := range []string{"PASSWORD", "SECRET", "AUTH"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// TestComposeNoInlineSecrets: with nothing in the environment, every
// secret in the compose file is empty (the services then refuse to start),
// but for the dev PostgreSQL password scripts/services.sh relies on.
func TestComposeNoInlineSecrets(t *testing.T) {
	c, _ := loadCompose(t, map[string]string{})
	// scripts/services.sh connects as flashlive:flashlive to the compose
	// PostgreSQL of a dev machine; .env sets a real one elsewhere.
	const devPGPassword = "flashlive"
	devPGKeys := map[string]bool{"POSTGRES_PASSWORD": true, "PGPASSWORD": true}
	for name, s := range c.Services {
		for k, v := range s.Environment {
			if isSecretName(k) && v != "" && !(v == devPGPassword && devPGKeys[k]) {
				t.Errorf("%s: %s has the inline value %q", name, k, v)
			}
			if !strings.Contains(v, "://") {
				continue
			}
			for _, u := range strings.Split(v, ",") {
				if _, rest, ok := strings.Cut(u, "://"); ok {
					if userinfo, _, ok := strings.Cut(rest, "@"); ok {
						_, pw, _ := strings.Cut(userinfo, ":")
						if pw != "" && !(pw == devPGPassword && strings.HasPrefix(u, "postgres")) {
							t.Errorf("%s: %s holds the inline password %q", name, k, pw)
						}
					}
				}
			}
		}
	}
	for _, app := range appServices {
		env := c.Services[app].Environment
		if _, _, err := LoadConfig(func(k string) string { return env[k] }); err == nil ||
			!strings.Contains(err.Error(), "FLASHLIVE_JWT_SECRET") {
			t.Errorf("%s starts without a JWT secret of its own: %v", app, err)
		}
	}
}

// TestComposeAppsProd: each app replica's environment loads as a prod
// configuration with nothing but real FLASHLIVE_* variables, against the
// Redis Cluster of the six nodes, the NATS cluster with 3 replicas and the
// balancer as its one trusted proxy.
func TestComposeAppsProd(t *testing.T) {
	secrets := composeSecrets(t)
	c, _ := loadCompose(t, secrets)
	var redisNodes []string
	for i := 1; i <= 6; i++ {
		s := c.Services["redis-"+string(rune('0'+i))]
		redisNodes = append(redisNodes, staticIP(t, s)+":6379")
		if !strings.Contains(strings.Join(s.Command, " "), "--cluster-enabled yes") {
			t.Errorf("redis-%d does not run in cluster mode: %v", i, s.Command)
		}
	}
	if got := c.Services["redis-cluster-init"].Command; !slices.Equal(got, redisNodes) {
		t.Errorf("redis-cluster-init creates the cluster of %v, want the nodes %v", got, redisNodes)
	}
	lbIP := netip.MustParseAddr(staticIP(t, c.Services["lb"]))
	for _, app := range appServices {
		env := c.Services[app].Environment
		read := map[string]bool{}
		cfg, _, err := LoadConfig(func(k string) string { read[k] = true; return env[k] })
		if err != nil {
			t.Fatalf("%s: %v", app, err)
		}
		for k := range env {
			if !read[k] {
				t.Errorf("%s sets %s, which LoadConfig does not read", app, k)
			}
		}
		if cfg.Env != EnvProd || cfg.Seed {
			t.Errorf("%s: env %q seed %v, want prod without the demo seed", app, cfg.Env, cfg.Seed)
		}
		if cfg.NATSReplicas != 3 || cfg.NATSPassword != secrets["FLASHLIVE_NATS_PASSWORD"] {
			t.Errorf("%s: NATS replicas %d, password from .env %v", app, cfg.NATSReplicas, cfg.NATSPassword == secrets["FLASHLIVE_NATS_PASSWORD"])
		}
		opts, err := redisurl.Parse(cfg.RedisURL)
		if err != nil || opts.Cluster == nil {
			t.Fatalf("%s: FLASHLIVE_REDIS_URL %q is no cluster URL: %v", app, redactURL(cfg.RedisURL), err)
		}
		if !slices.Equal(opts.Cluster.Addrs, redisNodes) || opts.Cluster.Password != secrets["FLASHLIVE_REDIS_PASSWORD"] {
			t.Errorf("%s: Redis Cluster %v (password from .env %v), want the nodes %v", app, opts.Cluster.Addrs,
				opts.Cluster.Password == secrets["FLASHLIVE_REDIS_PASSWORD"], redisNodes)
		}
		for _, u := range strings.Split(cfg.NATSURL, ",") {
			host, _, _ := net.SplitHostPort(strings.TrimPrefix(u, "nats://"))
			if _, ok := c.Services[host]; !ok || !strings.HasPrefix(host, "nats-") {
				t.Errorf("%s: NATS URL %q names no NATS node", app, u)
			}
		}
		if !cfg.TrustedProxies.trusts(lbIP) || len(cfg.TrustedProxies) != 1 {
			t.Errorf("%s trusts %v, want the balancer %s only", app, cfg.TrustedProxies, lbIP)
		}
		if len(c.Services[app].Ports) != 0 {
			t.Errorf("%s publishes %v: the balancer is the one way in", app, c.Services[app].Ports)
		}
	}
}

// staticIP returns the address s has on the default network, which must
// lie in the network's subnet below its dynamic range.
func staticIP(t *testing.T, s composeService) string {
	t.Helper()
	ip := s.Networks["default"].IPv4Address
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		t.Fatalf("static address %q: %v", ip, err)
	}
	return addr.String()
}

// TestComposeNetwork: static addresses are unique, inside the subnet and
// outside the range Docker hands out.
func TestComposeNetwork(t *testing.T) {
	c, _ := loadCompose(t, composeSecrets(t))
	cfg := c.Networks["default"].IPAM.Config
	if len(cfg) != 1 {
		t.Fatalf("default network ipam config %+v, want one subnet", cfg)
	}
	subnet, err1 := netip.ParsePrefix(cfg[0].Subnet)
	dynamic, err2 := netip.ParsePrefix(cfg[0].IPRange)
	if err1 != nil || err2 != nil || !subnet.Contains(dynamic.Addr()) {
		t.Fatalf("subnet %q ip_range %q: %v %v", cfg[0].Subnet, cfg[0].IPRange, err1, err2)
	}
	seen := map[string]string{}
	for name, s := range c.Services {
		ip := s.Networks["default"].IPv4Address
		if ip == "" {
			continue
		}
		addr := netip.MustParseAddr(staticIP(t, s))
		if !subnet.Contains(addr) || dynamic.Contains(addr) {
			t.Errorf("%s: %s is outside %s or inside the dynamic %s", name, addr, subnet, dynamic)
		}
		if other, dup := seen[ip]; dup {
			t.Errorf("%s and %s share %s", name, other, ip)
		}
		seen[ip] = name
	}
}

// TestComposeBalancer: the balancer runs deploy/haproxy/haproxy.cfg with
// every FLASHLIVE_LB_* variable that file needs, pointing at the three
// apps' HTTP ports.
func TestComposeBalancer(t *testing.T) {
	c, _ := loadCompose(t, composeSecrets(t))
	lb := c.Services["lb"]
	if !slices.Contains(lb.Volumes, "./deploy/haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro") {
		t.Fatalf("lb does not mount deploy/haproxy/haproxy.cfg where the image reads it: %v", lb.Volumes)
	}
	cfg, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "deploy/haproxy/haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	// "${NAME}" without a default ("${NAME-def}") is required.
	for _, m := range regexp.MustCompile(`\$\{(FLASHLIVE_[A-Z0-9_]+)\}`).FindAllStringSubmatch(string(cfg), -1) {
		if lb.Environment[m[1]] == "" {
			t.Errorf("haproxy.cfg needs %s; lb does not set it", m[1])
		}
	}
	for i, app := range appServices {
		s := c.Services[app]
		_, port, _ := net.SplitHostPort(s.Environment["FLASHLIVE_HTTP_ADDR"])
		want := net.JoinHostPort(staticIP(t, s), port)
		if got := lb.Environment["FLASHLIVE_LB_APP"+string(rune('1'+i))]; got != want {
			t.Errorf("FLASHLIVE_LB_APP%d = %q, want %s's %s", i+1, got, app, want)
		}
		if lb.DependsOn[app].Condition != "service_healthy" {
			t.Errorf("lb does not wait for %s", app)
		}
	}
	_, bindPort, err := net.SplitHostPort(lb.Environment["FLASHLIVE_LB_BIND"])
	if err != nil || len(lb.Ports) != 1 || !strings.HasSuffix(lb.Ports[0], ":"+bindPort) {
		t.Errorf("lb binds %q and publishes %v", lb.Environment["FLASHLIVE_LB_BIND"], lb.Ports)
	}
}

// TestComposeServicesScript: scripts/services.sh starts `postgres` and
// `redis` by name and connects with defaults that must hold here.
func TestComposeServicesScript(t *testing.T) {
	c, _ := loadCompose(t, map[string]string{})
	script, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "scripts/services.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(script), "docker compose --profile dev") {
		t.Error("scripts/services.sh does not ask for the dev profile, which holds the dev Redis")
	}
	pg := c.Services["postgres"]
	if pg.Environment["POSTGRES_USER"] != "flashlive" || pg.Environment["POSTGRES_DB"] != "flashlive" ||
		pg.Environment["POSTGRES_PASSWORD"] != "flashlive" || !slices.Equal(pg.Ports, []string{"127.0.0.1:55432:5432"}) {
		t.Errorf("postgres no longer matches scripts/services.sh (flashlive:flashlive@127.0.0.1:55432/flashlive): %+v %v", pg.Environment, pg.Ports)
	}
	r := c.Services["redis"]
	if !slices.Equal(r.Profiles, []string{"dev"}) || !slices.Equal(r.Ports, []string{"127.0.0.1:56379:6379"}) ||
		strings.Contains(strings.Join(r.Command, " "), "requirepass") {
		t.Errorf("redis no longer matches scripts/services.sh (redis://127.0.0.1:56379/0, no password): %+v", r)
	}
	for name, s := range c.Services {
		if name != "redis" && len(s.Profiles) > 0 {
			t.Errorf("%s has profiles %v: `docker compose up` would leave it out of the topology", name, s.Profiles)
		}
	}
}

// TestComposeNATS: the NATS nodes run the nats-server version go.mod pins
// for the embedded server, and deploy/nats/nats.conf is a valid
// configuration (parsed by that server) for each: JetStream, client
// authentication from .env, routes to the three nodes.
func TestComposeNATS(t *testing.T) {
	c, _ := loadCompose(t, composeSecrets(t))
	version := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "github.com/nats-io/nats-server/v2" {
				version = strings.TrimPrefix(m.Version, "v")
			}
		}
	}
	if version == "" {
		t.Fatal("no nats-server module in the build info")
	}
	nodes := []string{"nats-1", "nats-2", "nats-3"}
	for _, name := range nodes {
		s := c.Services[name]
		if s.Image != "nats:"+version+"-alpine" {
			t.Errorf("%s runs %s, want nats:%s-alpine (go.mod's nats-server)", name, s.Image, version)
		}
		if !slices.Contains(s.Volumes, "./deploy/nats/nats.conf:/etc/nats/nats.conf:ro") {
			t.Errorf("%s does not mount deploy/nats/nats.conf: %v", name, s.Volumes)
		}
		for k, v := range s.Environment {
			t.Setenv(k, v)
		}
		opts, err := natsserver.ProcessConfigFile(filepath.Join(testenv.RepoRoot(t), "deploy/nats/nats.conf"))
		if err != nil {
			t.Fatalf("%s: deploy/nats/nats.conf: %v", name, err)
		}
		var routes []string
		for _, r := range opts.Routes {
			routes = append(routes, r.Host)
		}
		if opts.ServerName != name || !opts.JetStream || opts.Cluster.Name != "flashlive" ||
			!slices.Equal(routes, []string{"nats-1:6222", "nats-2:6222", "nats-3:6222"}) {
			t.Errorf("%s: server %q jetstream %v cluster %q routes %v", name, opts.ServerName, opts.JetStream, opts.Cluster.Name, routes)
		}
		if opts.Username != "flashlive" || opts.Password != c.Services["app-1"].Environment["FLASHLIVE_NATS_PASSWORD"] {
			t.Errorf("%s: clients authenticate as %q with another password than the apps'", name, opts.Username)
		}
	}
}

// TestDockerfileBuildsWhatComposeRuns: the image compose builds for the
// apps is the server (./cmd/flashlive) at /flashlive, the path of the
// healthcheck, on the Go go.mod asks for, in prod.
func TestDockerfileBuildsWhatComposeRuns(t *testing.T) {
	root := testenv.RepoRoot(t)
	df, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
	text := string(df)
	for _, want := range []string{
		"FROM golang:" + string(goVersion[1]) + "-",
		"go build -trimpath -ldflags=\"-s -w\" -o /flashlive ./cmd/flashlive",
		"COPY --from=build /flashlive /flashlive",
		"ENV FLASHLIVE_ENV=prod",
		"ENV FLASHLIVE_HTTP_ADDR=:8080",
		`ENTRYPOINT ["/flashlive"]`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	c, _ := loadCompose(t, composeSecrets(t))
	for _, app := range appServices {
		b := c.Services[app].Build
		if b == nil || b.Context != "." || b.Dockerfile != "Dockerfile" {
			t.Errorf("%s does not build the Dockerfile: %+v", app, b)
		}
	}
	ignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(strings.Fields(string(ignore)), ".env") {
		t.Error(".dockerignore does not keep .env (secrets) out of the build context")
	}
}
