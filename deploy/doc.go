// Package deploy holds Fenquan's deployment files — the container build
// (docker/Dockerfile), the Kubernetes manifests (k8s/, kustomize) and the single-host
// compose site (compose/) — and the tests that check them: every kustomization builds
// and strictly decodes into the Kubernetes API types with its essentials in place, the
// compose file agrees with the images and the binaries' flags, and an etcd snapshot
// restores (docs/OPERATIONS.md).
package deploy
