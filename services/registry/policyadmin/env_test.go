package policyadmin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/fenquan/fenquan/policies"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	policyv1 "github.com/fenquan/fenquan/proto/fenquan/policy/v1"
	"github.com/fenquan/fenquan/services/registry/policyadmin"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/etcdtest"
	"github.com/fenquan/fenquan/services/shared/pdp"
	"github.com/fenquan/fenquan/services/shared/server"
)

func TestMain(m *testing.M) { etcdtest.Main(m) }

// files builds a small policy set shaped like the real one: the action is denied when
// input.amount exceeds data.t.limit; tag makes sets differ.
func files(tag string) map[string][]byte {
	return map[string][]byte{
		"main/main.rego": []byte(`package fenquan.main

violations contains v if {
	input.amount > data.t.limit
	v := {
		"rule": "t.limit",
		"zh": sprintf("金额 %v 超过限额 %v", [input.amount, data.t.limit]),
		"en": sprintf("the amount %v exceeds the limit %v", [input.amount, data.t.limit]),
		"basis": data.t.tag,
	}
}

decision := {"allowed": count(violations) == 0, "violations": [v | some v in violations], "output": {"tag": data.t.tag}}
`),
		"main/main_test.rego": []byte(`package fenquan.main_test

import data.fenquan.main

test_allows_within_the_limit if {
	main.decision.allowed with input as {"amount": 1}
}

test_denies_above_the_limit if {
	not main.decision.allowed with input as {"amount": 1000000}
}
`),
		"t/data.json": []byte(fmt.Sprintf(`{"limit": 100, "tag": %q}`, tag)),
	}
}

func defaultSet() *pdp.Set { return &pdp.Set{Revision: "embedded", Files: files("default")} }

// env is the policy service over real gRPC (authentication, validation, access rules) on
// the shared embedded etcd, with its own decision point loaded with the default set.
type env struct {
	t      *testing.T
	cli    *clientv3.Client
	root   string
	policy policyv1.PolicyServiceClient
	dev    *auth.DevTokens
	pdp    *pdp.PDP

	mu     sync.Mutex
	tokens map[string]string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cli := etcdtest.Client(t)
	root := etcdtest.Root(t)
	log := slog.New(slog.DiscardHandler)
	dev, err := auth.NewEphemeralDevTokens()
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := auth.NewVerifier(auth.Config{Issuers: []auth.IssuerConfig{dev.IssuerConfig()}})
	if err != nil {
		t.Fatal(err)
	}
	// Access is decided by the real api policy, like in every service.
	access := pdp.New(pdp.Config{Service: "access", Timeout: 10 * time.Second})
	embedded, err := pdp.EmbeddedSet(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	if err := access.Load(context.Background(), embedded); err != nil {
		t.Fatal(err)
	}
	roles := pdp.Authorizer{PDP: access}
	srv, err := server.New(server.Config{
		Service: "registry", GRPCServices: policyadmin.GRPCServices,
		Logger: log, Verifier: verifier, Authorizer: roles,
	})
	if err != nil {
		t.Fatal(err)
	}
	p := pdp.New(pdp.Config{Service: "registry", Timeout: 10 * time.Second})
	if err := p.Load(ctx, defaultSet()); err != nil {
		t.Fatal(err)
	}
	policyadmin.New(policyadmin.Config{Etcd: cli, KeyRoot: root, PDP: p, Default: defaultSet(), Logger: log}).Register(srv.GRPC)
	done := make(chan struct{})
	go func() { _ = srv.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	conn, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &env{t: t, cli: cli, root: root, policy: policyv1.NewPolicyServiceClient(conn), dev: dev, pdp: p, tokens: map[string]string{}}
}

// as returns a context calling as subject with the given platform roles.
func (e *env) as(subject string, platformRoles ...string) context.Context {
	e.t.Helper()
	key := subject + "|" + strings.Join(platformRoles, ",")
	e.mu.Lock()
	defer e.mu.Unlock()
	tok, ok := e.tokens[key]
	if !ok {
		var err error
		if tok, err = e.dev.Mint(subject, auth.Claims{PlatformRoles: platformRoles}, time.Hour); err != nil {
			e.t.Fatal(err)
		}
		e.tokens[key] = tok
	}
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
}

// The officers: alice and bob are policy officers; reader may only read.
func (e *env) alice() context.Context  { return e.as("alice", "policy-officer") }
func (e *env) bob() context.Context    { return e.as("bob", "policy-officer") }
func (e *env) reader() context.Context { return e.as("reader", "policy-reader") }

// propose proposes files as ctx and fails the test on error.
func (e *env) propose(ctx context.Context, fs map[string][]byte, note string) *policyv1.PolicySet {
	e.t.Helper()
	ps, err := e.policy.ProposePolicySet(ctx, &policyv1.ProposePolicySetRequest{Files: fs, Note: note})
	if err != nil {
		e.t.Fatalf("propose: %v", describe(err))
	}
	return ps
}

func (e *env) approve(ctx context.Context, name string) *policyv1.PolicySet {
	e.t.Helper()
	ps, err := e.policy.ApprovePolicySet(ctx, &policyv1.ApprovePolicySetRequest{Name: name})
	if err != nil {
		e.t.Fatalf("approve %s: %v", name, describe(err))
	}
	return ps
}

// publish proposes as alice and approves as bob.
func (e *env) publish(tag string) *policyv1.PolicySet {
	e.t.Helper()
	return e.approve(e.bob(), e.propose(e.alice(), files(tag), "set "+tag).Name)
}

func (e *env) get(name string) *policyv1.PolicySet {
	e.t.Helper()
	ps, err := e.policy.GetPolicySet(e.reader(), &policyv1.GetPolicySetRequest{Name: name})
	if err != nil {
		e.t.Fatalf("get %s: %v", name, describe(err))
	}
	return ps
}

func (e *env) wantState(name string, want policyv1.PolicySet_State) {
	e.t.Helper()
	if got := e.get(name).State; got != want {
		e.t.Fatalf("%s is %s, want %s", name, got, want)
	}
}

// activation reads the active pointer from etcd (nil when absent).
func (e *env) activation() *pdp.Activation {
	e.t.Helper()
	resp, err := e.cli.Get(context.Background(), pdp.ActiveKey(e.root))
	if err != nil {
		e.t.Fatal(err)
	}
	if len(resp.Kvs) == 0 {
		return nil
	}
	var act pdp.Activation
	if err := json.Unmarshal(resp.Kvs[0].Value, &act); err != nil {
		e.t.Fatal(err)
	}
	return &act
}

// revision is etcd's current revision: it moves with any write anywhere.
// revision is the latest mod revision of the test's keys other than the followers' status
// reports (which a follower rewrites on its own schedule): a refused call must not move it.
func (e *env) revision() int64 {
	e.t.Helper()
	resp, err := e.cli.Get(context.Background(), e.root, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		e.t.Fatal(err)
	}
	var latest int64
	for _, kv := range resp.Kvs {
		if !strings.HasPrefix(string(kv.Key), pdp.StatusPrefix(e.root)) {
			latest = max(latest, kv.ModRevision)
		}
	}
	return latest
}

// follow runs a decision point following the published sets, as every service does,
// reporting its status as service/instance. Cleanup waits for its status report to be
// withdrawn, so no write of it lands in a later test.
func (e *env) follow(service, instance string) *pdp.PDP {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := pdp.New(pdp.Config{Service: service, Timeout: 10 * time.Second})
	if err := p.Follow(ctx, pdp.FollowConfig{Etcd: e.cli, Root: e.root, Service: service, Instance: instance, Default: defaultSet()}); err != nil {
		cancel()
		e.t.Fatal(err)
	}
	key := pdp.StatusPrefix(e.root) + service + "/" + instance
	e.t.Cleanup(func() {
		cancel()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if resp, err := e.cli.Get(context.Background(), key); err == nil && len(resp.Kvs) == 0 {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	return p
}

// eventually waits up to 10s for ok.
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func describe(err error) string {
	st := status.Convert(err)
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", st.Code(), st.Message())
	for _, fv := range violations(err) {
		fmt.Fprintf(&b, "\n  %s: %s", fv.Field, fv.Description)
	}
	return b.String()
}

func violations(err error) []*errdetails.BadRequest_FieldViolation {
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			return br.FieldViolations
		}
	}
	return nil
}

func reason(err error) string {
	for _, d := range status.Convert(err).Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei.Reason
		}
	}
	return ""
}

func localized(err error) string {
	for _, d := range status.Convert(err).Details() {
		if lm, ok := d.(*errdetails.LocalizedMessage); ok && lm.Locale == "zh-CN" {
			return lm.Message
		}
	}
	return ""
}

// wantRefusal asserts the code and, when given, the ErrorInfo reason.
func wantRefusal(t *testing.T, err error, code codes.Code, why string) {
	t.Helper()
	if got := status.Code(err); got != code {
		t.Fatalf("code = %s, want %s (%v)", got, code, describe(err))
	}
	if why != "" && reason(err) != why {
		t.Fatalf("reason = %q, want %q (%v)", reason(err), why, describe(err))
	}
}

// message is the status message of err ("" for nil).
func message(err error) string {
	if err == nil {
		return ""
	}
	return status.Convert(err).Message()
}
