// Package check holds the test of the Kubernetes manifests of deploy/k8s:
// it builds each kustomization with kustomize's own library (krusty),
// decodes every resource strictly into the Kubernetes API types (an
// unknown field fails) and checks that the resources refer to each other
// and to the server's configuration correctly. It is a module of its own
// so that kustomize and the Kubernetes API stay out of the server's
// go.mod; scripts/test.sh runs it.
package check
