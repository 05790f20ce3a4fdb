package check

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// manifests are the resources of one kustomization, decoded strictly.
type manifests struct {
	deployments []appsv1.Deployment
	services    []corev1.Service
	configMaps  []corev1.ConfigMap
	secrets     []corev1.Secret
	ingresses   []networkingv1.Ingress
	pdbs        []policyv1.PodDisruptionBudget
	hpas        []autoscalingv2.HorizontalPodAutoscaler
}

// root is the repository's root (absolute, so that an in-memory file
// system can hold a copy at the same paths).
var root = func() string {
	abs, err := filepath.Abs("../../..")
	if err != nil {
		panic(err)
	}
	return abs
}()

// build runs kustomize on dir (relative to the repository) over fs and
// decodes every resource into its API type, failing on an unknown field or
// kind.
func build(t *testing.T, fs filesys.FileSystem, dir string) manifests {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(fs, filepath.Join(root, dir))
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var m manifests
	for _, r := range rm.Resources() {
		doc, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		kind := r.GetKind()
		var into any
		switch kind {
		case "Deployment":
			into = grow(&m.deployments)
		case "Service":
			into = grow(&m.services)
		case "ConfigMap":
			into = grow(&m.configMaps)
		case "Secret":
			into = grow(&m.secrets)
		case "Ingress":
			into = grow(&m.ingresses)
		case "PodDisruptionBudget":
			into = grow(&m.pdbs)
		case "HorizontalPodAutoscaler":
			into = grow(&m.hpas)
		default:
			t.Fatalf("%s: a %s, which this check does not decode", dir, kind)
		}
		if err := yaml.UnmarshalStrict(doc, into); err != nil {
			t.Fatalf("%s: %s %s does not decode strictly: %v\n%s", dir, kind, r.GetName(), err, doc)
		}
	}
	return m
}

// grow appends a zero T to list and returns a pointer to it, to decode
// into.
func grow[T any](list *[]T) *T {
	*list = append(*list, *new(T))
	return &(*list)[len(*list)-1]
}

// configVars returns the FLASHLIVE_* names the server's configuration
// code (cmd/flashlive, not its tests) names.
func configVars(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "cmd/flashlive/*.go"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`"(FLASHLIVE_[A-Z0-9_]*[A-Z0-9])"`)
	vars := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			vars[m[1]] = true
		}
	}
	if !vars["FLASHLIVE_JWT_SECRET"] || !vars["FLASHLIVE_NATS_REPLICAS"] {
		t.Fatalf("found no configuration variables in cmd/flashlive: %v", vars)
	}
	return vars
}

// shutdownTimeout reads the server's ShutdownTimeout from its source.
func shutdownTimeout(t *testing.T) time.Duration {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root, "cmd/flashlive/app.go"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`ShutdownTimeout = (\d+) \* time\.Second`).FindSubmatch(src)
	if m == nil {
		t.Fatal("no ShutdownTimeout = N * time.Second in cmd/flashlive/app.go")
	}
	n, _ := strconv.Atoi(string(m[1]))
	return time.Duration(n) * time.Second
}

// TestBase builds deploy/k8s/base and checks it.
func TestBase(t *testing.T) {
	m := build(t, filesys.MakeFsOnDisk(), "deploy/k8s/base")
	check(t, m)
	for _, s := range m.secrets {
		for k, v := range s.StringData {
			if v != "" {
				t.Errorf("base Secret %s has a value for %s: the base is a template", s.Name, k)
			}
		}
	}
}

// TestProductionOverlay builds the production overlay with its
// secrets.env made from secrets.env.example (in memory: nothing is
// written to the repository), and checks that its Secret replaces the
// base's template with those keys.
func TestProductionOverlay(t *testing.T) {
	fs := filesys.MakeFsInMemory()
	for _, dir := range []string{"deploy/k8s/base", "deploy/k8s/overlays/production"} {
		entries, err := os.ReadDir(filepath.Join(root, dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			b, err := os.ReadFile(filepath.Join(root, dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := fs.WriteFile(filepath.Join(root, dir, e.Name()), b); err != nil {
				t.Fatal(err)
			}
		}
	}
	example, err := os.ReadFile(filepath.Join(root, "deploy/k8s/overlays/production/secrets.env.example"))
	if err != nil {
		t.Fatal(err)
	}
	var filled []string
	var keys []string
	for _, line := range strings.Split(string(example), "\n") {
		if k, _, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			filled = append(filled, k+"=value-of-"+k)
			keys = append(keys, k)
		}
	}
	if err := fs.WriteFile(filepath.Join(root, "deploy/k8s/overlays/production/secrets.env"), []byte(strings.Join(filled, "\n")+"\n")); err != nil {
		t.Fatal(err)
	}
	m := build(t, fs, "deploy/k8s/overlays/production")
	check(t, m)
	if len(m.secrets) != 1 {
		t.Fatalf("%d Secrets, want the one", len(m.secrets))
	}
	s := m.secrets[0]
	var got []string
	for k, v := range s.Data {
		got = append(got, k)
		if string(v) != "value-of-"+k {
			t.Errorf("Secret %s: %s = %q, want the value of secrets.env", s.Name, k, v)
		}
	}
	slices.Sort(got)
	slices.Sort(keys)
	var base []string
	for k := range build(t, filesys.MakeFsOnDisk(), "deploy/k8s/base").secrets[0].StringData {
		base = append(base, k)
	}
	slices.Sort(base)
	if !slices.Equal(got, keys) || !slices.Equal(keys, base) {
		t.Errorf("Secret keys %v; secrets.env.example %v; base template %v: want the same", got, keys, base)
	}
	for _, r := range []string{m.deployments[0].Namespace, m.services[0].Namespace, s.Namespace} {
		if r != "flashlive" {
			t.Errorf("namespace %q, want flashlive", r)
		}
	}
}

// check checks a built kustomization: one of each resource, and every
// reference between them and to the server's configuration right.
func check(t *testing.T, m manifests) {
	t.Helper()
	if len(m.deployments) != 1 || len(m.services) != 1 || len(m.configMaps) != 1 || len(m.secrets) != 1 ||
		len(m.ingresses) != 1 || len(m.pdbs) != 1 || len(m.hpas) != 1 {
		t.Fatalf("want one Deployment, Service, ConfigMap, Secret, Ingress, PodDisruptionBudget and HPA: %d %d %d %d %d %d %d",
			len(m.deployments), len(m.services), len(m.configMaps), len(m.secrets), len(m.ingresses), len(m.pdbs), len(m.hpas))
	}
	d, svc, cm, sec := m.deployments[0], m.services[0], m.configMaps[0], m.secrets[0]
	pod := d.Spec.Template
	if d.Spec.Selector == nil || !matches(d.Spec.Selector.MatchLabels, pod.Labels) {
		t.Errorf("Deployment selector %v does not select its pods %v", d.Spec.Selector, pod.Labels)
	}
	if len(svc.Spec.Selector) == 0 || !matches(svc.Spec.Selector, pod.Labels) {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, pod.Labels)
	}
	if p := m.pdbs[0]; p.Spec.Selector == nil || !matches(p.Spec.Selector.MatchLabels, pod.Labels) ||
		p.Spec.MinAvailable == nil {
		t.Errorf("PodDisruptionBudget %+v does not guard the pods %v", p.Spec, pod.Labels)
	}
	h := m.hpas[0]
	ref := h.Spec.ScaleTargetRef
	if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || ref.Name != d.Name {
		t.Errorf("HPA targets %+v, want the Deployment %s", ref, d.Name)
	}
	if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < int32(m.pdbs[0].Spec.MinAvailable.IntValue())+1 {
		t.Errorf("HPA minReplicas %v leaves no pod to disrupt under the PDB's minAvailable %v", h.Spec.MinReplicas, m.pdbs[0].Spec.MinAvailable)
	}

	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	for _, sp := range svc.Spec.Ports {
		if _, ok := ports[sp.TargetPort.String()]; !ok && sp.TargetPort.IntValue() == 0 {
			t.Errorf("Service port %s targets %s, which the container does not have", sp.Name, sp.TargetPort.String())
		}
	}
	probe := func(name string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path {
			t.Errorf("%s probe %+v, want GET %s", name, p, path)
			return
		}
		if _, ok := ports[p.HTTPGet.Port.String()]; !ok || p.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe on port %s, want the container's http port", name, p.HTTPGet.Port.String())
		}
	}
	probe("readiness", c.ReadinessProbe, "/readyz")
	probe("liveness", c.LivenessProbe, "/healthz")

	// The configuration: every key a real variable, the listen addresses
	// the container's ports, prod.
	vars := configVars(t)
	for k := range cm.Data {
		if !vars[k] {
			t.Errorf("ConfigMap key %s is no FLASHLIVE_* variable cmd/flashlive parses", k)
		}
	}
	secretKeys := map[string]bool{}
	for k := range sec.StringData {
		secretKeys[k] = true
	}
	for k := range sec.Data {
		secretKeys[k] = true
	}
	for k := range secretKeys {
		if !vars[k] {
			t.Errorf("Secret key %s is no FLASHLIVE_* variable cmd/flashlive parses", k)
		}
		if _, dup := cm.Data[k]; dup {
			t.Errorf("%s is both in the ConfigMap and the Secret", k)
		}
	}
	for _, k := range []string{"FLASHLIVE_JWT_SECRET", "FLASHLIVE_POSTGRES_URL", "FLASHLIVE_REDIS_URL", "FLASHLIVE_NATS_PASSWORD"} {
		if !secretKeys[k] {
			t.Errorf("the Secret lacks %s", k)
		}
	}
	if cm.Data["FLASHLIVE_ENV"] != "prod" {
		t.Errorf("FLASHLIVE_ENV %q, want prod", cm.Data["FLASHLIVE_ENV"])
	}
	for key, port := range map[string]string{"FLASHLIVE_HTTP_ADDR": "http", "FLASHLIVE_METRICS_ADDR": "metrics"} {
		if want := fmt.Sprintf(":%d", ports[port]); cm.Data[key] != want {
			t.Errorf("%s %q, want %s (the container's %s port)", key, cm.Data[key], want, port)
		}
	}
	var fromCM, fromSecret bool
	for _, e := range c.EnvFrom {
		switch {
		case e.ConfigMapRef != nil && e.ConfigMapRef.Name == cm.Name:
			fromCM = true
		case e.SecretRef != nil && e.SecretRef.Name == sec.Name:
			fromSecret = true
		}
	}
	if !fromCM || !fromSecret {
		t.Errorf("the container's envFrom %+v does not name the ConfigMap %s and the Secret %s", c.EnvFrom, cm.Name, sec.Name)
	}
	for _, v := range pod.Spec.Volumes {
		found := false
		for _, vm := range c.VolumeMounts {
			found = found || vm.Name == v.Name
			if vm.Name == v.Name && cm.Data["FLASHLIVE_DATA_DIR"] != vm.MountPath {
				t.Errorf("FLASHLIVE_DATA_DIR %q is not the writable mount %s", cm.Data["FLASHLIVE_DATA_DIR"], vm.MountPath)
			}
		}
		if !found {
			t.Errorf("volume %s is mounted nowhere", v.Name)
		}
	}

	// Graceful termination: the preStop pause, then the server's
	// shutdown (ShutdownTimeout, then 5 s to flush the order stream).
	var pause time.Duration
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		pause = time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	}
	need := pause + shutdownTimeout(t) + 5*time.Second
	if g := pod.Spec.TerminationGracePeriodSeconds; pause == 0 || g == nil || time.Duration(*g)*time.Second <= need {
		t.Errorf("preStop pause %s, terminationGracePeriodSeconds %v: want a pause and more than %s", pause, g, need)
	}

	// Resources and a locked-down container.
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v: want CPU and memory requests and a memory limit (the HPA needs the CPU request)", c.Resources)
	}
	ps, cs := pod.Spec.SecurityContext, c.SecurityContext
	if ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot || cs == nil || cs.ReadOnlyRootFilesystem == nil ||
		!*cs.ReadOnlyRootFilesystem || cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation ||
		cs.Capabilities == nil || !slices.Contains(cs.Capabilities.Drop, "ALL") {
		t.Errorf("security contexts %+v / %+v: want non-root, read-only root, no escalation, all capabilities dropped", ps, cs)
	}

	// The ingress: to the Service's http port, with WebSocket timeouts.
	ing := m.ingresses[0]
	for _, r := range ing.Spec.Rules {
		for _, p := range r.HTTP.Paths {
			b := p.Backend.Service
			if b == nil || b.Name != svc.Name || b.Port.Name != "http" {
				t.Errorf("ingress path %s goes to %+v, want the Service %s port http", p.Path, b, svc.Name)
			}
		}
	}
	for _, a := range []string{"nginx.ingress.kubernetes.io/proxy-read-timeout", "nginx.ingress.kubernetes.io/proxy-send-timeout"} {
		if n, err := strconv.Atoi(ing.Annotations[a]); err != nil || n < 600 {
			t.Errorf("%s = %q: a WebSocket viewer would be cut after the default 60 s", a, ing.Annotations[a])
		}
	}
}

// matches reports whether every label of sel is in labels.
func matches(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return len(sel) > 0
}
