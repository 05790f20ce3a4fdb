//go:build linux

package testenv

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresBinDirEnv names the directory of initdb and postgres when they
// are neither in /usr/lib/postgresql/*/bin nor on the PATH.
const PostgresBinDirEnv = "FLASHLIVE_PG_BINDIR"

// Postgres is a PostgreSQL server of one test's own, which the test may
// pause and resume without hurting any other test. It is stopped, and its
// files removed, when the test ends.
type Postgres struct {
	// URL is the server's postgres database, for the superuser flashlive.
	URL string

	pid    int
	exited chan struct{} // closed when the server process is gone
	log    string
	paused []int // the processes Pause stopped
}

// StartPostgres starts a throwaway PostgreSQL server on a free loopback
// port, with its data in a temporary directory (fsync off: it is thrown
// away), and waits until it accepts connections. The test fails when the
// PostgreSQL binaries (initdb, postgres) are missing, or, running as root,
// when there is no postgres user to run them as: PostgreSQL refuses root.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	bin := postgresBinDir(t)
	attr := &syscall.SysProcAttr{Setpgid: true}
	dir, err := os.MkdirTemp("", "flashlive-pg-")
	if err != nil {
		t.Fatalf("private PostgreSQL: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("private PostgreSQL: running as root, PostgreSQL needs a user of its own, and there is no 'postgres' user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		attr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatalf("private PostgreSQL: %v", err)
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "flashlive", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync")
	initdb.SysProcAttr = attr
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("private PostgreSQL: initdb: %v\n%s", err, out)
	}

	port := freePort(t)
	p := &Postgres{
		URL:    fmt.Sprintf("postgres://flashlive@127.0.0.1:%d/postgres?sslmode=disable", port),
		exited: make(chan struct{}),
		log:    filepath.Join(dir, "postgres.log"),
	}
	logFile, err := os.Create(p.log)
	if err != nil {
		t.Fatalf("private PostgreSQL: %v", err)
	}
	defer logFile.Close()
	srv := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	srv.SysProcAttr = attr // its own process group, for a last-resort kill
	srv.Stdout, srv.Stderr = logFile, logFile
	if err := srv.Start(); err != nil {
		t.Fatalf("private PostgreSQL: start %s: %v", srv.Path, err)
	}
	p.pid = srv.Process.Pid
	go func() {
		_ = srv.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.stop(t) })
	p.waitReady(t)
	return p
}

// Pause stops every process of the server (SIGSTOP), the postmaster
// first so that it starts no other: connections stay open and queries
// hang, as with a frozen machine or container. (Each backend is a process
// group of its own, so the postmaster's group is not enough.)
func (p *Postgres) Pause(t testing.TB) {
	t.Helper()
	if err := syscall.Kill(p.pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("pause private PostgreSQL: %v", err)
	}
	p.paused = append(p.paused, p.pid)
	kids, err := children(p.pid)
	if err != nil {
		t.Fatalf("pause private PostgreSQL: %v", err)
	}
	for _, pid := range kids {
		if err := syscall.Kill(pid, syscall.SIGSTOP); err == nil {
			p.paused = append(p.paused, pid)
		}
	}
}

// Resume lets a paused server run again (SIGCONT).
func (p *Postgres) Resume(t testing.TB) {
	t.Helper()
	p.resume()
}

func (p *Postgres) resume() {
	for _, pid := range p.paused {
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}
	p.paused = nil
}

// children returns the processes whose parent is pid, from /proc.
func children(pid int) ([]int, error) {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return nil, err
	}
	var out []int
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at its ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(b[i+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(pid) {
			continue
		}
		if n, err := strconv.Atoi(filepath.Base(filepath.Dir(f))); err == nil {
			out = append(out, n)
		}
	}
	return out, nil
}

// stop resumes the server and shuts it down (fast: sessions are ended),
// killing it if it does not go within 30 s.
func (p *Postgres) stop(t testing.TB) {
	p.resume()
	_ = syscall.Kill(p.pid, syscall.SIGINT)
	select {
	case <-p.exited:
		return
	case <-time.After(30 * time.Second):
	}
	t.Errorf("private PostgreSQL did not stop within 30s; killing it (log: %s)", p.log)
	_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	<-p.exited
}

// waitReady polls until the server accepts a connection.
func (p *Postgres) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, p.URL)
		if err == nil {
			_ = conn.Close(ctx)
			cancel()
			return
		}
		cancel()
		select {
		case <-p.exited:
			b, _ := os.ReadFile(p.log)
			t.Fatalf("private PostgreSQL exited at start:\n%s", b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("private PostgreSQL not ready within 30s: %v (log: %s)", err, p.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// postgresBinDir finds the directory of initdb and postgres:
// $FLASHLIVE_PG_BINDIR, the highest /usr/lib/postgresql/*/bin, or the PATH.
func postgresBinDir(t testing.TB) string {
	t.Helper()
	ok := func(d string) bool {
		for _, b := range []string{"initdb", "postgres"} {
			if fi, err := os.Stat(filepath.Join(d, b)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if d := os.Getenv(PostgresBinDirEnv); d != "" {
		if !ok(d) {
			t.Fatalf("%s=%s has no initdb and postgres", PostgresBinDirEnv, d)
		}
		return d
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return majorOf(b) - majorOf(a) })
	if path, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(path); err == nil {
			dirs = append(dirs, filepath.Dir(real))
		}
		dirs = append(dirs, filepath.Dir(path))
	}
	for _, d := range dirs {
		if ok(d) {
			return d
		}
	}
	t.Fatalf("private PostgreSQL: no initdb and postgres in /usr/lib/postgresql/*/bin or on the PATH; install PostgreSQL's server binaries or set %s", PostgresBinDirEnv)
	return ""
}

// majorOf returns the major version in /usr/lib/postgresql/<major>/bin.
func majorOf(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// freePort returns a loopback TCP port nobody listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
