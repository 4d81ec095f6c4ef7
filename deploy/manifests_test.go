package deploy

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// object is one resource of a kustomize build, decoded into its API type.
type object struct {
	kind, name string
	obj        any
}

// newTyped returns the API type of a kind; anything else is refused, so a misspelt kind
// or an unexpected one fails the test.
func newTyped(apiVersion, kind string) (any, bool) {
	switch apiVersion + " " + kind {
	case "v1 Namespace":
		return &corev1.Namespace{}, true
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, true
	case "v1 Service":
		return &corev1.Service{}, true
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, true
	case "apps/v1 StatefulSet":
		return &appsv1.StatefulSet{}, true
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, true
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, true
	case "networking.k8s.io/v1 NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, true
	}
	return nil, false
}

// kustomizations lists every folder under k8s/ with a kustomization.yaml.
func kustomizations(t *testing.T) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir("k8s", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "kustomization.yaml" {
			dirs = append(dirs, filepath.Dir(p))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 3 {
		t.Fatalf("kustomizations found: %v; want base and the overlays", dirs)
	}
	return dirs
}

// build runs kustomize on dir (from disk, no network, no plugins) and decodes every
// resource strictly into its API type.
func build(t *testing.T, dir string) []object {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var out []object
	for _, r := range rm.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(y, &tm); err != nil {
			t.Fatal(err)
		}
		typed, ok := newTyped(tm.APIVersion, tm.Kind)
		if !ok {
			t.Errorf("%s: unexpected kind %s %s (%s)", dir, tm.APIVersion, tm.Kind, r.GetName())
			continue
		}
		if err := yaml.UnmarshalStrict(y, typed); err != nil {
			t.Errorf("%s: %s %s does not decode strictly: %v", dir, tm.Kind, r.GetName(), err)
			continue
		}
		out = append(out, object{kind: tm.Kind, name: r.GetName(), obj: typed})
	}
	return out
}

func ofKind[T any](objs []object) []T {
	var out []T
	for _, o := range objs {
		if v, ok := o.obj.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// fenquanImages are the Dockerfile's targets that the manifests run.
var fenquanImages = []string{"registry", "approval", "risk", "supervision", "gateway"}

// externalSecrets are the Secrets the operator creates before deploying (no key is kept
// in the repository); docs/OPERATIONS.md names each, with its keys.
var externalSecrets = map[string][]string{
	"etcd-tls":                  {"ca.crt", "server.crt", "server.key", "peer.crt", "peer.key"},
	"etcd-client-tls":           {"ca.crt", "tls.crt", "tls.key"},
	"fenquan-registry-tls":      {"ca.crt", "tls.crt", "tls.key"},
	"fenquan-approval-tls":      {"ca.crt", "tls.crt", "tls.key"},
	"fenquan-risk-tls":          {"ca.crt", "tls.crt", "tls.key"},
	"fenquan-supervision-tls":   {"ca.crt", "tls.crt", "tls.key"},
	"fenquan-gateway-tls":       {"ca.crt", "tls.crt", "tls.key"},
	"fenquan-jwks":              {"jwks.json"},
	"fenquan-approval-token":    {"token"},
	"fenquan-risk-token":        {"token"},
	"fenquan-supervision-token": {"token"},
	"fenquan-gateway-https":     {"tls.crt", "tls.key"},
}

func TestKustomizations(t *testing.T) {
	known := knownEnv(t)
	targets := dockerTargets(t)
	for _, dir := range kustomizations(t) {
		t.Run(filepath.ToSlash(dir), func(t *testing.T) {
			objs := build(t, dir)
			checkWorkloads(t, objs, known, targets)
			checkNetworkPolicies(t, objs)
			checkEtcd(t, objs)
		})
	}
}

// podOwner is a Deployment or StatefulSet, as far as the checks need it.
type podOwner struct {
	kind, name string
	replicas   int32
	selector   *metav1.LabelSelector
	tmpl       corev1.PodTemplateSpec
}

func owners(objs []object) []podOwner {
	var out []podOwner
	for _, d := range ofKind[*appsv1.Deployment](objs) {
		out = append(out, podOwner{"Deployment", d.Name, ptrOr(d.Spec.Replicas, 1), d.Spec.Selector, d.Spec.Template})
	}
	for _, s := range ofKind[*appsv1.StatefulSet](objs) {
		tmpl := *s.Spec.Template.DeepCopy()
		for _, c := range s.Spec.VolumeClaimTemplates {
			tmpl.Spec.Volumes = append(tmpl.Spec.Volumes, corev1.Volume{Name: c.Name})
		}
		out = append(out, podOwner{"StatefulSet", s.Name, ptrOr(s.Spec.Replicas, 1), s.Spec.Selector, tmpl})
	}
	return out
}

func ptrOr[T any](p *T, d T) T {
	if p == nil {
		return d
	}
	return *p
}

func selects(t *testing.T, sel *metav1.LabelSelector, lbls map[string]string) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Errorf("selector %v: %v", sel, err)
		return false
	}
	return !s.Empty() && s.Matches(labels.Set(lbls))
}

func checkWorkloads(t *testing.T, objs []object, knownEnv map[string]bool, targets map[string]string) {
	configMaps := map[string]*corev1.ConfigMap{}
	for _, c := range ofKind[*corev1.ConfigMap](objs) {
		configMaps[c.Name] = c
		for k := range c.Data {
			if strings.HasPrefix(k, "FENQUAN_") && !knownEnv[k] {
				t.Errorf("ConfigMap %s sets %s, which no binary reads", c.Name, k)
			}
		}
	}
	hpas := ofKind[*autoscalingv2.HorizontalPodAutoscaler](objs)
	pdbs := ofKind[*policyv1.PodDisruptionBudget](objs)
	deployments := ofKind[*appsv1.Deployment](objs)
	var names []string
	for _, d := range deployments {
		names = append(names, d.Name)
	}
	sort.Strings(names)
	if want := slices.Sorted(slices.Values(fenquanImages)); !slices.Equal(names, want) {
		t.Errorf("Deployments %v, want %v", names, want)
	}
	for _, o := range owners(objs) {
		where := o.kind + " " + o.name
		if !selects(t, o.selector, o.tmpl.Labels) {
			t.Errorf("%s: its selector does not select its own pod template", where)
		}
		spec := o.tmpl.Spec
		psc := spec.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: the pod must run as non-root with the RuntimeDefault seccomp profile", where)
		}
		if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
			t.Errorf("%s: mounts a service account token it does not need", where)
		}
		if o.kind == "Deployment" && len(spec.TopologySpreadConstraints) == 0 {
			t.Errorf("%s: no topologySpreadConstraints", where)
		}
		if len(spec.Containers) != 1 {
			t.Errorf("%s: %d containers, want 1", where, len(spec.Containers))
		}
		for _, c := range spec.Containers {
			checkContainer(t, where, c, spec, configMaps, knownEnv, targets, o.kind == "Deployment")
		}
		for _, v := range spec.Volumes {
			if v.Secret != nil {
				if _, ok := externalSecrets[v.Secret.SecretName]; !ok {
					t.Errorf("%s: Secret %s is not one the operator is told to create (externalSecrets, docs/OPERATIONS.md)", where, v.Secret.SecretName)
				}
				if v.Secret.DefaultMode == nil || *v.Secret.DefaultMode != 0o440 {
					t.Errorf("%s: Secret volume %s: defaultMode %v, want 0440", where, v.Name, v.Secret.DefaultMode)
				}
			}
		}
		if o.kind != "Deployment" {
			continue
		}
		var hpa *autoscalingv2.HorizontalPodAutoscaler
		for _, h := range hpas {
			if h.Spec.ScaleTargetRef.Kind == "Deployment" && h.Spec.ScaleTargetRef.Name == o.name && h.Spec.ScaleTargetRef.APIVersion == "apps/v1" {
				hpa = h
			}
		}
		switch {
		case hpa == nil:
			t.Errorf("%s: no HorizontalPodAutoscaler", where)
		case hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas != o.replicas || hpa.Spec.MaxReplicas < *hpa.Spec.MinReplicas:
			t.Errorf("%s: HPA min %v max %d does not fit %d replicas", where, hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas, o.replicas)
		case len(hpa.Spec.Metrics) == 0 || hpa.Spec.Metrics[0].Resource == nil || hpa.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU:
			t.Errorf("%s: the HPA does not scale on CPU", where)
		}
		checkPDB(t, where, pdbs, o)
	}
	checkPDBsOfStatefulSets(t, pdbs, objs)
	for _, s := range ofKind[*corev1.Service](objs) {
		checkService(t, s, owners(objs))
	}
}

func checkContainer(t *testing.T, where string, c corev1.Container, spec corev1.PodSpec, configMaps map[string]*corev1.ConfigMap, knownEnv map[string]bool, targets map[string]string, fenquan bool) {
	where += " container " + c.Name
	if c.ReadinessProbe == nil || c.LivenessProbe == nil {
		t.Errorf("%s: needs readiness and liveness probes", where)
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	for _, p := range []*corev1.Probe{c.StartupProbe, c.ReadinessProbe, c.LivenessProbe} {
		if p == nil {
			continue
		}
		switch {
		case p.HTTPGet != nil:
			if p.HTTPGet.Port.StrVal != "" && ports[p.HTTPGet.Port.StrVal] == 0 {
				t.Errorf("%s: probe port %q is not a container port", where, p.HTTPGet.Port.StrVal)
			}
		case p.GRPC != nil:
		default:
			t.Errorf("%s: probe is neither httpGet nor grpc", where)
		}
	}
	req, lim := c.Resources.Requests, c.Resources.Limits
	if req.Cpu().IsZero() || req.Memory().IsZero() || lim.Memory().IsZero() {
		t.Errorf("%s: needs cpu and memory requests and a memory limit", where)
	} else if req.Memory().Cmp(*lim.Memory()) > 0 {
		t.Errorf("%s: memory request above its limit", where)
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) ||
		sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("%s: securityContext must be read-only root, no privilege escalation, drop ALL, non-root", where)
	}
	volumes := map[string]bool{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = true
	}
	for _, m := range c.VolumeMounts {
		if !volumes[m.Name] {
			t.Errorf("%s: mounts %s, which is no volume", where, m.Name)
		}
	}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef != nil && configMaps[ef.ConfigMapRef.Name] == nil {
			t.Errorf("%s: envFrom ConfigMap %s is not in the build", where, ef.ConfigMapRef.Name)
		}
	}
	for _, e := range c.Env {
		if strings.HasPrefix(e.Name, "FENQUAN_") && !knownEnv[e.Name] {
			t.Errorf("%s: sets %s, which no binary reads", where, e.Name)
		}
	}
	if !fenquan {
		return
	}
	// The image is a target of deploy/docker/Dockerfile, named after the container, and
	// runs its entrypoint as built.
	repo, _, _ := strings.Cut(c.Image, ":")
	if !strings.HasSuffix(repo, "fenquan/"+c.Name) {
		t.Errorf("%s: image %s is not fenquan/%s", where, c.Image, c.Name)
	}
	if _, ok := targets[c.Name]; !ok {
		t.Errorf("%s: the Dockerfile has no target %s", where, c.Name)
	}
	if !strings.Contains(c.Image, ":") || strings.HasSuffix(c.Image, ":latest") {
		t.Errorf("%s: image %s has no pinned tag", where, c.Image)
	}
	if len(c.Command) > 0 {
		t.Errorf("%s: overrides the image's entrypoint", where)
	}
	mounted := map[string]bool{}
	for _, m := range c.VolumeMounts {
		mounted[m.MountPath] = true
	}
	env := map[string]string{}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef != nil && configMaps[ef.ConfigMapRef.Name] != nil {
			for k, v := range configMaps[ef.ConfigMapRef.Name].Data {
				env[k] = v
			}
		}
	}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	// Every file the settings name is in a mounted volume.
	for k, v := range env {
		if strings.HasPrefix(v, "/etc/") && !mounted[filepath.Dir(v)] {
			t.Errorf("%s: %s=%s is not in a mounted volume", where, k, v)
		}
	}
	if !mounted["/tmp"] {
		t.Errorf("%s: no writable /tmp", where)
	}
}

func checkPDB(t *testing.T, where string, pdbs []*policyv1.PodDisruptionBudget, o podOwner) {
	var found *policyv1.PodDisruptionBudget
	for _, p := range pdbs {
		if selects(t, p.Spec.Selector, o.tmpl.Labels) {
			found = p
		}
	}
	if found == nil {
		t.Errorf("%s: no PodDisruptionBudget", where)
		return
	}
	// A budget that leaves nothing to evict blocks every node drain.
	if m := found.Spec.MinAvailable; m != nil && m.IntValue() >= int(o.replicas) {
		t.Errorf("%s: PDB minAvailable %s with %d replicas blocks drains", where, m.String(), o.replicas)
	}
	if found.Spec.MinAvailable == nil && found.Spec.MaxUnavailable == nil {
		t.Errorf("%s: PDB sets neither minAvailable nor maxUnavailable", where)
	}
}

func checkPDBsOfStatefulSets(t *testing.T, pdbs []*policyv1.PodDisruptionBudget, objs []object) {
	for _, s := range ofKind[*appsv1.StatefulSet](objs) {
		checkPDB(t, "StatefulSet "+s.Name, pdbs, podOwner{replicas: ptrOr(s.Spec.Replicas, 1), tmpl: s.Spec.Template})
	}
}

func checkService(t *testing.T, s *corev1.Service, owners []podOwner) {
	var match *podOwner
	for i := range owners {
		if len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(owners[i].tmpl.Labels)) {
			match = &owners[i]
		}
	}
	if match == nil {
		t.Errorf("Service %s selects no pod template", s.Name)
		return
	}
	ports := map[string]int32{}
	for _, p := range match.tmpl.Spec.Containers[0].Ports {
		ports[p.Name] = p.ContainerPort
	}
	for _, p := range s.Spec.Ports {
		if tp := p.TargetPort; tp.StrVal != "" && ports[tp.StrVal] == 0 {
			t.Errorf("Service %s: targetPort %s is not a port of %s", s.Name, tp.StrVal, match.name)
		}
	}
}

func checkNetworkPolicies(t *testing.T, objs []object) {
	nps := ofKind[*networkingv1.NetworkPolicy](objs)
	var denyAll bool
	for _, np := range nps {
		if len(np.Spec.PodSelector.MatchLabels) == 0 && len(np.Spec.PodSelector.MatchExpressions) == 0 &&
			len(np.Spec.Ingress) == 0 && len(np.Spec.Egress) == 0 &&
			slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) && slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
			denyAll = true
		}
	}
	if !denyAll {
		t.Error("no default-deny NetworkPolicy (all pods, ingress and egress, no rules)")
	}
	// Every pod's ports are reachable only as some policy allows: each port a policy opens
	// is a port of a pod it selects, and each pod has a policy with ingress rules.
	for _, o := range owners(objs) {
		ports := map[int32]bool{}
		for _, p := range o.tmpl.Spec.Containers[0].Ports {
			ports[p.ContainerPort] = true
		}
		var covered bool
		for _, np := range nps {
			if len(np.Spec.PodSelector.MatchLabels) == 0 || !selects(t, &np.Spec.PodSelector, o.tmpl.Labels) {
				continue
			}
			for _, r := range np.Spec.Ingress {
				covered = true
				for _, p := range r.Ports {
					if p.Port == nil || !ports[int32(p.Port.IntValue())] {
						t.Errorf("NetworkPolicy %s opens port %v, which %s does not serve", np.Name, p.Port, o.name)
					}
				}
			}
		}
		if !covered {
			t.Errorf("%s %s: no NetworkPolicy admits anything to it", o.kind, o.name)
		}
	}
	// The calls the code makes are allowed, and no others: caller -> callee gRPC port.
	calls := map[string][]string{
		"gateway":     {"registry", "approval", "risk", "supervision"},
		"approval":    {"registry"},
		"risk":        {"registry"},
		"supervision": {"registry", "approval", "risk"},
		"registry":    nil,
	}
	grpcPort := map[string]int32{"registry": 7101, "approval": 7102, "risk": 7103, "supervision": 7104}
	for callee, port := range grpcPort {
		var np *networkingv1.NetworkPolicy
		for _, p := range nps {
			if p.Spec.PodSelector.MatchLabels["app.kubernetes.io/name"] == callee {
				np = p
			}
		}
		if np == nil {
			t.Errorf("no NetworkPolicy for %s", callee)
			continue
		}
		var from []string
		for _, r := range np.Spec.Ingress {
			if len(r.Ports) == 0 || r.Ports[0].Port.IntValue() != int(port) {
				continue
			}
			for _, peer := range r.From {
				if peer.PodSelector != nil {
					from = append(from, peer.PodSelector.MatchLabels["app.kubernetes.io/name"])
				}
			}
		}
		var want []string
		for caller, callees := range calls {
			if slices.Contains(callees, callee) {
				want = append(want, caller)
			}
		}
		sort.Strings(from)
		sort.Strings(want)
		if !slices.Equal(from, want) {
			t.Errorf("NetworkPolicy %s admits %v to port %d, want exactly its callers %v", callee, from, port, want)
		}
	}
	checkEgress(t, nps, calls, grpcPort)
}

// checkEgress: each caller's policies let it reach exactly the gRPC ports of the services
// it calls (besides DNS and etcd).
func checkEgress(t *testing.T, nps []*networkingv1.NetworkPolicy, calls map[string][]string, grpcPort map[string]int32) {
	for caller, callees := range calls {
		var got []string
		for _, np := range nps {
			if np.Spec.PodSelector.MatchLabels["app.kubernetes.io/name"] != caller {
				continue
			}
			for _, r := range np.Spec.Egress {
				for _, peer := range r.To {
					if peer.PodSelector == nil {
						continue
					}
					to := peer.PodSelector.MatchLabels["app.kubernetes.io/name"]
					for _, p := range r.Ports {
						if grpcPort[to] != 0 && p.Port.IntValue() == int(grpcPort[to]) {
							got = append(got, to)
						}
					}
				}
			}
		}
		want := slices.Clone(callees)
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("NetworkPolicies let %s call %v, want exactly %v", caller, got, want)
		}
	}
}

func checkEtcd(t *testing.T, objs []object) {
	var sts *appsv1.StatefulSet
	for _, s := range ofKind[*appsv1.StatefulSet](objs) {
		if s.Name == "etcd" {
			sts = s
		}
	}
	if sts == nil {
		t.Fatal("no etcd StatefulSet")
	}
	if ptrOr(sts.Spec.Replicas, 1) != 3 {
		t.Errorf("etcd has %d members, want 3", ptrOr(sts.Spec.Replicas, 1))
	}
	if len(sts.Spec.VolumeClaimTemplates) != 1 {
		t.Error("etcd: want one volume claim template")
	}
	if a := sts.Spec.Template.Spec.Affinity; a == nil || a.PodAntiAffinity == nil || len(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) == 0 {
		t.Error("etcd: members must be kept apart (required pod anti-affinity)")
	}
	var headless bool
	for _, s := range ofKind[*corev1.Service](objs) {
		if s.Name == sts.Spec.ServiceName && s.Spec.ClusterIP == corev1.ClusterIPNone && s.Spec.PublishNotReadyAddresses {
			headless = true
		}
	}
	if !headless {
		t.Errorf("etcd: no headless Service %q publishing not-ready addresses", sts.Spec.ServiceName)
	}
	for _, p := range ofKind[*policyv1.PodDisruptionBudget](objs) {
		if p.Name == "etcd" && (p.Spec.MinAvailable == nil || p.Spec.MinAvailable.IntValue() != 2) {
			t.Errorf("etcd PDB: minAvailable %v, want 2", p.Spec.MinAvailable)
		}
	}
	// The members' initial cluster names each member at the address it advertises, and
	// the services' endpoints are those members.
	env := map[string]string{}
	for _, e := range sts.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e.Value
	}
	for i := range 3 {
		peer := fmt.Sprintf("etcd-%d=https://etcd-%d.%s.fenquan.svc:2380", i, i, sts.Spec.ServiceName)
		if !strings.Contains(env["ETCD_INITIAL_CLUSTER"], peer) {
			t.Errorf("etcd: ETCD_INITIAL_CLUSTER lacks %s", peer)
		}
	}
	for _, k := range []string{"ETCD_QUOTA_BACKEND_BYTES", "ETCD_MAX_TXN_OPS", "ETCD_MAX_REQUEST_BYTES", "ETCD_AUTO_COMPACTION_RETENTION", "ETCD_CLIENT_CERT_AUTH", "ETCD_PEER_CLIENT_CERT_AUTH"} {
		if env[k] == "" {
			t.Errorf("etcd: %s unset", k)
		}
	}
	for _, c := range ofKind[*corev1.ConfigMap](objs) {
		if eps, ok := c.Data["FENQUAN_ETCD_ENDPOINTS"]; ok {
			for i := range 3 {
				if !strings.Contains(eps, fmt.Sprintf("https://etcd-%d.%s.fenquan.svc:2379", i, sts.Spec.ServiceName)) {
					t.Errorf("FENQUAN_ETCD_ENDPOINTS %s lacks member %d", eps, i)
				}
			}
		}
	}
}

// knownEnv lists the FENQUAN_* variables the binaries read: every flag of
// services/shared/config (each has a FENQUAN_* fallback) and the gateway's own.
func knownEnv(t *testing.T) map[string]bool {
	t.Helper()
	known := map[string]bool{}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "../services/shared/config/config.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) < 3 {
			return true
		}
		var fn string
		switch f := call.Fun.(type) {
		case *ast.Ident:
			fn = f.Name
		case *ast.SelectorExpr:
			fn = f.Sel.Name
		}
		if fn != "str" && fn != "boolean" && fn != "integer" {
			return true
		}
		if lit, ok := call.Args[2].(*ast.BasicLit); ok && lit.Kind == token.STRING {
			name, _ := strconv.Unquote(lit.Value)
			known["FENQUAN_"+strings.ToUpper(strings.ReplaceAll(name, "-", "_"))] = true
		}
		return true
	})
	if !known["FENQUAN_ETCD_ENDPOINTS"] || !known["FENQUAN_SERVICE_TOKEN_FILE"] {
		t.Fatalf("read %d flags from services/shared/config: the parser no longer finds them", len(known))
	}
	gw, err := os.ReadFile("../gateway/cmd/gateway/main.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`"(FENQUAN_[A-Z_]+)"`).FindAllSubmatch(gw, -1) {
		known[string(m[1])] = true
	}
	if !known["FENQUAN_LISTEN"] || !known["FENQUAN_UPSTREAM_CA"] {
		t.Fatal("the gateway's own variables were not found in gateway/cmd/gateway/main.go")
	}
	return known
}

// dockerTargets reads deploy/docker/Dockerfile: each final stage's name and entrypoint.
func dockerTargets(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("docker/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]string{}
	from := regexp.MustCompile(`^FROM\s+(\S+)\s+AS\s+(\S+)`)
	var stage, image string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if m := from.FindStringSubmatch(line); m != nil {
			image, stage = m[1], m[2]
			continue
		}
		if rest, ok := strings.CutPrefix(line, "ENTRYPOINT "); ok {
			var ep []string
			if err := yaml.Unmarshal([]byte(rest), &ep); err != nil || len(ep) != 1 {
				t.Fatalf("Dockerfile stage %s: ENTRYPOINT %s is not one exec-form path", stage, rest)
			}
			if image != "base" {
				t.Errorf("Dockerfile stage %s is not built on the distroless base stage", stage)
			}
			targets[stage] = ep[0]
		}
	}
	if !strings.Contains(string(b), "FROM gcr.io/distroless/static-debian12:nonroot AS base") ||
		!strings.Contains(string(b), `CGO_ENABLED=0`) || !strings.Contains(string(b), `-trimpath -ldflags "-s -w"`) {
		t.Error("Dockerfile: want static builds (CGO_ENABLED=0, -trimpath, -s -w) on distroless static nonroot")
	}
	for _, name := range append(slices.Clone(fenquanImages), "fenquanctl", "probe") {
		if targets[name] != "/usr/local/bin/"+name {
			t.Errorf("Dockerfile: target %s has entrypoint %q, want /usr/local/bin/%s", name, targets[name], name)
		}
		if !strings.Contains(string(b), "/out/"+name+" /usr/local/bin/"+name) && name != "probe" {
			t.Errorf("Dockerfile: target %s does not copy its binary", name)
		}
	}
	return targets
}

// TestSecretsDocumented: every Secret the manifests mount is in docs/OPERATIONS.md, with
// its keys, and every key a pod reads from it is one of those keys.
func TestSecretsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/OPERATIONS.md")
	if err != nil {
		t.Fatal(err)
	}
	for name, keys := range externalSecrets {
		if !bytes.Contains(doc, []byte(name)) {
			t.Errorf("docs/OPERATIONS.md does not say how to create the Secret %s", name)
		}
		for _, k := range keys {
			if !bytes.Contains(doc, []byte(k)) {
				t.Errorf("docs/OPERATIONS.md does not name key %s of %s", k, name)
			}
		}
	}
	used := map[string]bool{}
	for _, dir := range kustomizations(t) {
		objs := build(t, dir)
		config := map[string]map[string]string{}
		for _, c := range ofKind[*corev1.ConfigMap](objs) {
			config[c.Name] = c.Data
		}
		for _, o := range owners(objs) {
			mountOf := map[string]string{}
			for _, v := range o.tmpl.Spec.Volumes {
				if v.Secret != nil {
					used[v.Secret.SecretName] = true
					mountOf[v.Name] = v.Secret.SecretName
				}
			}
			c := o.tmpl.Spec.Containers[0]
			files := map[string]string{}
			for _, m := range c.VolumeMounts {
				if s, ok := mountOf[m.Name]; ok {
					files[m.MountPath] = s
				}
			}
			for _, e := range c.Env {
				checkSecretFile(t, o.name, e.Value, files)
			}
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef != nil {
					for _, v := range config[ef.ConfigMapRef.Name] {
						checkSecretFile(t, o.name, v, files)
					}
				}
			}
		}
	}
	for name := range externalSecrets {
		if !used[name] {
			t.Errorf("Secret %s is listed but no manifest mounts it", name)
		}
	}
}

// checkSecretFile: a path inside a Secret's mount names one of that Secret's keys.
func checkSecretFile(t *testing.T, where, path string, files map[string]string) {
	secret, ok := files[filepath.Dir(path)]
	if !ok {
		return
	}
	if !slices.Contains(externalSecrets[secret], filepath.Base(path)) {
		t.Errorf("%s: %s is not a key of Secret %s %v", where, path, secret, externalSecrets[secret])
	}
}

// TestProductionOverlay: production mode is on, and the gateway serves HTTPS (production
// refuses a plaintext REST listener off loopback) with probes that speak it.
func TestProductionOverlay(t *testing.T) {
	objs := build(t, "k8s/overlays/production")
	var on bool
	for _, c := range ofKind[*corev1.ConfigMap](objs) {
		on = on || c.Data["FENQUAN_PRODUCTION"] == "true"
	}
	if !on {
		t.Error("production overlay: FENQUAN_PRODUCTION is not true")
	}
	for _, d := range ofKind[*appsv1.Deployment](objs) {
		if d.Name != "gateway" {
			continue
		}
		c := d.Spec.Template.Spec.Containers[0]
		env := map[string]string{}
		for _, e := range c.Env {
			env[e.Name] = e.Value
		}
		if env["FENQUAN_HTTPS_CERT"] == "" || env["FENQUAN_HTTPS_KEY"] == "" || env["FENQUAN_UPSTREAM_CA"] == "" {
			t.Error("production gateway: needs FENQUAN_HTTPS_CERT, FENQUAN_HTTPS_KEY and FENQUAN_UPSTREAM_CA")
		}
		for _, p := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe} {
			if p.HTTPGet.Scheme != corev1.URISchemeHTTPS {
				t.Error("production gateway: probes must use HTTPS")
			}
		}
	}
	for _, o := range owners(objs) {
		img := o.tmpl.Spec.Containers[0].Image
		if !strings.HasPrefix(img, "registry.example.gov.cn/") {
			t.Errorf("production %s: image %s is not from the site's registry", o.name, img)
		}
	}
}
