package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startClusterScript runs scripts/<script> up in a new temporary
// directory on n consecutive free ports (each with the ports at offsets
// free too) and returns the URL of the export line it prints and the
// directory. The script's down stops the nodes, and the directory is
// removed, when the test ends. what names the cluster in failures.
func startClusterScript(t testing.TB, what, script string, n int, offsets ...int) (url, dir string) {
	t.Helper()
	path := filepath.Join(RepoRoot(t), "scripts", script)
	dir, err := os.MkdirTemp("", "flashlive-"+strings.TrimSuffix(script, ".sh")+"-")
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(path, "down", dir).CombinedOutput(); err != nil {
			t.Errorf("stop %s: %v\n%s", what, err, out)
		}
		_ = os.RemoveAll(dir)
	})
	first := freePortRun(t, n, offsets...)
	return scriptUp(t, what, path, dir, strconv.Itoa(first)), dir
}

// scriptUp runs the script at path with up, dir and args, and returns
// the URL of the export line it prints. what names the cluster in
// failures.
func scriptUp(t testing.TB, what, path, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(path, append([]string{"up", dir}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %s up: %v\n%s", what, path, err, stderr.String())
	}
	_, url, ok := strings.Cut(strings.TrimSpace(string(out)), "=")
	if !ok {
		t.Fatalf("%s: %s printed %q, want an export line", what, path, out)
	}
	return strings.Trim(url, "'")
}

// killPIDFile kills the process whose PID is in pidFile with SIGKILL, as
// a machine lost, and waits until it is gone. node names it in failures.
func killPIDFile(t testing.TB, node, pidFile string) {
	t.Helper()
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("kill %s: %v", node, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatalf("kill %s: pid file: %v", node, err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s (pid %d): %v", node, pid, err)
	}
	WaitFor(t, 10*time.Second, fmt.Sprintf("%s (pid %d) gone", node, pid), func() bool {
		return syscall.Kill(pid, 0) != nil
	})
}
