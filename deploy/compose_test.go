package deploy

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// composeFile is the part of the Compose specification the site uses; decoding is
// strict, so any other key (or a misspelt one) fails the test.
type composeFile struct {
	Name     string                    `json:"name"`
	Services map[string]composeService `json:"services"`
	Volumes  map[string]struct{}       `json:"volumes"`
	Secrets  map[string]struct {
		File string `json:"file"`
	} `json:"secrets"`
}

type composeService struct {
	Image string `json:"image"`
	Build *struct {
		Context    string `json:"context"`
		Dockerfile string `json:"dockerfile"`
		Target     string `json:"target"`
	} `json:"build"`
	Command     []string `json:"command"`
	NetworkMode string   `json:"network_mode"`
	Ports       []string `json:"ports"`
	DependsOn   map[string]struct {
		Condition string `json:"condition"`
	} `json:"depends_on"`
	EnvFile         []string          `json:"env_file"`
	Environment     map[string]string `json:"environment"`
	Secrets         []string          `json:"secrets"`
	Volumes         []string          `json:"volumes"`
	Tmpfs           []string          `json:"tmpfs"`
	Restart         string            `json:"restart"`
	ReadOnly        bool              `json:"read_only"`
	User            string            `json:"user"`
	CapDrop         []string          `json:"cap_drop"`
	SecurityOpt     []string          `json:"security_opt"`
	StopGracePeriod string            `json:"stop_grace_period"`
	Healthcheck     *struct {
		Test        []string `json:"test"`
		Interval    string   `json:"interval"`
		Timeout     string   `json:"timeout"`
		Retries     int      `json:"retries"`
		StartPeriod string   `json:"start_period"`
	} `json:"healthcheck"`
}

func TestCompose(t *testing.T) {
	b, err := os.ReadFile("compose/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cf composeFile
	if err := yaml.UnmarshalStrict(b, &cf); err != nil {
		t.Fatalf("compose.yaml does not decode strictly: %v", err)
	}
	known := knownEnv(t)
	targets := dockerTargets(t)
	want := append(slices.Clone(fenquanImages), "etcd", "net")
	var got []string
	for name := range cf.Services {
		got = append(got, name)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("compose services %v, want %v", got, want)
	}
	tag := regexp.MustCompile(`^fenquan/([a-z]+):\$\{FENQUAN_VERSION:-[0-9.]+\}$`)
	for name, s := range cf.Services {
		hc := s.Healthcheck
		if hc == nil || len(hc.Test) < 2 || hc.Test[0] != "CMD" || hc.Interval == "" || hc.Retries == 0 {
			t.Errorf("%s: needs a healthcheck [CMD, …] with an interval and retries", name)
		}
		if !s.ReadOnly || !slices.Equal(s.CapDrop, []string{"ALL"}) || !slices.Contains(s.SecurityOpt, "no-new-privileges:true") || s.User == "" || s.Restart == "" {
			t.Errorf("%s: want read_only, cap_drop [ALL], no-new-privileges, an explicit user and a restart policy", name)
		}
		if name != "net" && s.NetworkMode != "service:net" {
			t.Errorf("%s: network_mode %q, want service:net (the shared loopback)", name, s.NetworkMode)
		}
		if name != "net" && len(s.Ports) > 0 {
			t.Errorf("%s: publishes ports; only net publishes (the gateway's)", name)
		}
		for dep, c := range s.DependsOn {
			if _, ok := cf.Services[dep]; !ok || c.Condition != "service_healthy" {
				t.Errorf("%s: depends on %s (%s): want an existing service, service_healthy", name, dep, c.Condition)
			}
		}
		for _, sec := range s.Secrets {
			if _, ok := cf.Secrets[sec]; !ok {
				t.Errorf("%s: secret %s is not declared", name, sec)
			}
		}
		env := map[string]string{}
		for _, f := range s.EnvFile {
			for k, v := range readEnvFile(t, filepath.Join("compose", f)) {
				env[k] = v
			}
		}
		for k, v := range s.Environment {
			env[k] = v
		}
		for k, v := range env {
			if strings.HasPrefix(k, "FENQUAN_") && !known[k] {
				t.Errorf("%s: sets %s, which no binary reads", name, k)
			}
			if sec, ok := strings.CutPrefix(v, "/run/secrets/"); ok && !slices.Contains(s.Secrets, sec) {
				t.Errorf("%s: %s=%s names a secret the service does not mount", name, k, v)
			}
		}
		if name == "etcd" {
			if !strings.HasPrefix(s.Image, "gcr.io/etcd-development/etcd:v3.7.") || hc == nil || hc.Test[1] != "/usr/local/bin/etcdctl" {
				t.Errorf("etcd: image %s / healthcheck %v", s.Image, hc)
			}
			continue
		}
		// A Fenquan image: built from its Dockerfile target, named after it, run with its
		// entrypoint (command only adds arguments), checked by the probe it carries.
		m := tag.FindStringSubmatch(s.Image)
		if m == nil || s.Build == nil || s.Build.Target != m[1] || s.Build.Dockerfile != "deploy/docker/Dockerfile" || s.Build.Context != "../.." {
			t.Errorf("%s: image %s and build %+v do not match a Dockerfile target", name, s.Image, s.Build)
			continue
		}
		if _, ok := targets[m[1]]; !ok {
			t.Errorf("%s: the Dockerfile has no target %s", name, m[1])
		}
		if name != "net" && m[1] != name {
			t.Errorf("%s runs the image of %s", name, m[1])
		}
		if hc != nil && hc.Test[1] != "/usr/local/bin/probe" {
			t.Errorf("%s: healthcheck %v: the image has no shell; use /usr/local/bin/probe", name, hc.Test)
		}
		if slices.Contains([]string{"approval", "risk", "supervision"}, name) && env["FENQUAN_SERVICE_TOKEN_FILE"] == "" {
			t.Errorf("%s: calls other services on its own behalf and needs FENQUAN_SERVICE_TOKEN_FILE", name)
		}
		if name != "net" && (env["FENQUAN_JWKS_FILE"] == "" || env["FENQUAN_TOKEN_ISSUER"] == "") {
			t.Errorf("%s: no token issuer configured", name)
		}
	}
	// The gateway's listener is the port net publishes.
	gw := cf.Services["gateway"].Environment["FENQUAN_LISTEN"]
	if _, port, _ := strings.Cut(gw, ":"); len(cf.Services["net"].Ports) != 1 || !strings.HasSuffix(cf.Services["net"].Ports[0], ":"+port) {
		t.Errorf("net publishes %v, the gateway listens on %s", cf.Services["net"].Ports, gw)
	}
}

func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf("%s: %q is not NAME=value", path, line)
		}
		out[k] = v
	}
	return out
}
