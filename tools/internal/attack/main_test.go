package attack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/requests"
	"github.com/fenquan/fenquan/services/shared/store"
	"github.com/fenquan/fenquan/tools/internal/up"
)

// sys is the system under attack: one stack for the whole package (it takes a while to
// start), with the demo loaded.
var sys struct {
	stack    *up.Stack
	gw       string // the gateway's base URL
	etcd     *clientv3.Client
	conns    map[string]*grpc.ClientConn // by service: registry, approval, risk, supervision
	requests *requests.Log               // the approval service's request records
}

const org = up.DemoOrg // czj, 江城市财政局

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	began := time.Now()
	// The demo load races the supervision service (which may hold the 康宁 case before its
	// script signs it): a failed start is tried once more, on a fresh folder.
	var s *up.Stack
	for attempt := 1; ; attempt++ {
		dir, err := os.MkdirTemp("", "fenquan-attack-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "attack:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		if s, err = up.Start(ctx, up.Options{DataDir: dir, Demo: true}); err == nil {
			break
		}
		fmt.Fprintf(os.Stderr, "attack: start the stack (attempt %d): %v\n", attempt, err)
		if attempt == 2 {
			return 1
		}
	}
	defer func() {
		if err := s.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "attack: stop the stack:", err)
		}
	}()
	sys.stack, sys.gw, sys.etcd = s, s.GatewayURL, s.Etcd.Client
	sys.requests = requests.New(s.Etcd.Client, up.KeyRoot, "approval")
	sys.conns = map[string]*grpc.ClientConn{}
	for name, addr := range s.GRPC {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			fmt.Fprintln(os.Stderr, "attack: dial", name, err)
			return 1
		}
		defer conn.Close()
		sys.conns[name] = conn
	}
	// The gateway finds the services through etcd: wait until it reaches them.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(sys.gw + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			fmt.Fprintln(os.Stderr, "attack: the gateway never became ready")
			return 1
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintf(os.Stderr, "attack: stack with the demo up in %s\n", time.Since(began).Round(100*time.Millisecond))
	return m.Run()
}

// ---- identities -------------------------------------------------------------------

// staff is a development token for a demo person of czj with the role staff (and roles).
func staff(t *testing.T, person string, roles ...string) string {
	t.Helper()
	return mint(t, person, up.StaffClaims(person, roles...))
}

// admin is the development administrator's token (platform-admin, policy-officer, and
// catalog-admin, auditor, staff in czj as 王静).
func admin(t *testing.T) string { t.Helper(); return mint(t, up.AdminSub, up.AdminClaims()) }

// officer is a second policy officer's token.
func officer(t *testing.T) string { t.Helper(); return mint(t, "officer-2", up.OfficerClaims()) }

func mint(t *testing.T, subject string, c auth.Claims) string {
	t.Helper()
	tok, err := sys.stack.Dev.Mint(subject, c, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// ---- names and keys ---------------------------------------------------------------

var seq atomic.Int64

// uniq makes an id unique in this process (the suite may run with -count > 1 on the same
// stack).
func uniq(prefix string) string { return fmt.Sprintf("%s-%d", prefix, seq.Add(1)) }

func person(id string) string { return "orgs/" + org + "/people/" + id }

var (
	approvalKeys = store.Keyspace{Root: up.KeyRoot, Service: "approval"}
	eventKeys    = store.Keyspace{Root: up.KeyRoot, Service: "approval-events"}
	registryKeys = store.Keyspace{Root: up.KeyRoot, Service: "registry"}
)

// caseID is the last segment of "orgs/{org}/cases/{id}".
func caseID(name string) string { return name[strings.LastIndexByte(name, '/')+1:] }

func caseKey(o, id string) string      { return approvalKeys.Key(o, "cases", id) }
func casesPrefix(o string) string      { return approvalKeys.CollectionPrefix(o, "cases") }
func eventsPrefix(o, id string) string { return eventKeys.OrgPrefix(o) + id + "/" }

// requestKey is where the approval service records caller's request id (the subject of a
// development token is the person id).
func requestKey(o, subject, id string) string { return sys.requests.Key(o, subject, id) }

// ---- nothing written --------------------------------------------------------------

// writes is a snapshot of the keys an attack would write. exact keys and prefixes must
// keep their mod revisions (absent keys stay absent); for set prefixes only the set of
// keys is compared (no new key), since background writers — supervision holding a demo
// case, say — may legitimately change existing ones.
type writes struct {
	exact, prefixes, sets []string
	before                map[string]int64
}

func (w *writes) key(k ...string) *writes    { w.exact = append(w.exact, k...); return w }
func (w *writes) prefix(p ...string) *writes { w.prefixes = append(w.prefixes, p...); return w }
func (w *writes) set(p ...string) *writes    { w.sets = append(w.sets, p...); return w }

// watch snapshots the keys now; check compares.
func (w *writes) watch(t *testing.T) *writes {
	t.Helper()
	w.before = snapshot(t, w)
	return w
}

// check fails the test when any watched key changed since watch.
func (w *writes) check(t *testing.T) {
	t.Helper()
	if diff := w.diff(t); len(diff) > 0 {
		t.Errorf("the attack wrote to etcd:\n  %s", strings.Join(diff, "\n  "))
	}
}

// diff lists what changed since watch.
func (w *writes) diff(t *testing.T) []string {
	t.Helper()
	after := snapshot(t, w)
	if maps.Equal(w.before, after) {
		return nil
	}
	var diff []string
	for k, v := range after {
		if b, ok := w.before[k]; !ok {
			diff = append(diff, fmt.Sprintf("written: %s (revision %d)", k, v))
		} else if b != v {
			diff = append(diff, fmt.Sprintf("changed: %s (revision %d → %d)", k, b, v))
		}
	}
	for k, b := range w.before {
		if _, ok := after[k]; !ok {
			diff = append(diff, fmt.Sprintf("deleted: %s (revision %d)", k, b))
		}
	}
	sort.Strings(diff)
	return diff
}

func snapshot(t *testing.T, w *writes) map[string]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := map[string]int64{}
	for _, k := range w.exact {
		resp, err := sys.etcd.Get(ctx, k, clientv3.WithKeysOnly())
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Kvs) > 0 {
			out[k] = resp.Kvs[0].ModRevision
		}
	}
	for _, p := range w.prefixes {
		resp, err := sys.etcd.Get(ctx, p, clientv3.WithPrefix(), clientv3.WithKeysOnly())
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range resp.Kvs {
			out[string(kv.Key)] = kv.ModRevision
		}
	}
	for _, p := range w.sets {
		resp, err := sys.etcd.Get(ctx, p, clientv3.WithPrefix(), clientv3.WithKeysOnly())
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range resp.Kvs {
			out[string(kv.Key)] = -1
		}
	}
	return out
}

// revision is a key's mod revision, 0 when absent.
func revision(t *testing.T, key string) int64 {
	t.Helper()
	resp, err := sys.etcd.Get(context.Background(), key, clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) == 0 {
		return 0
	}
	return resp.Kvs[0].ModRevision
}

// mustExist is the positive controls' proof that the key layout the guards watch is the
// one the services write.
func mustExist(t *testing.T, key string) {
	t.Helper()
	if revision(t, key) == 0 {
		t.Fatalf("%s is absent after a successful write: the guards watch the wrong keys", key)
	}
}

// onCase watches what an action on a case would write: the case, its events, and the
// records of the request ids.
func onCase(t *testing.T, name, subject string, requestIDs ...string) *writes {
	t.Helper()
	w := (&writes{}).key(caseKey(org, caseID(name))).prefix(eventsPrefix(org, caseID(name)))
	for _, id := range requestIDs {
		w.key(requestKey(org, subject, id))
	}
	return w.watch(t)
}

// onCreate watches what opening a case would write: the named case, its events, the
// request record, and any new case of the org.
func onCreate(t *testing.T, o, id, subject, requestID string) *writes {
	t.Helper()
	return (&writes{}).key(caseKey(o, id), requestKey(o, subject, requestID)).
		prefix(eventsPrefix(o, id)).set(casesPrefix(o)).watch(t)
}

// ---- REST -------------------------------------------------------------------------

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) String() string { return fmt.Sprintf("HTTP %d %.800s", r.status, r.body) }

// rest sends a request to the gateway. body is a string, []byte, io.Reader or any value
// marshalled as JSON (nil: no body); header is name, value pairs (a name may repeat).
func rest(t *testing.T, method, path, token string, body any, header ...string) reply {
	t.Helper()
	r, err := send(method, path, token, body, header...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// send is rest for goroutines: it returns its error.
func send(method, path, token string, body any, header ...string) (reply, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return reply{}, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, sys.gw+path, rd)
	if err != nil {
		return reply{}, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// apiError is the gateway's error body: google.rpc.Status in protojson form.
type apiError struct {
	Code    int               `json:"code"`
	Message string            `json:"message"`
	Details []json.RawMessage `json:"details"`
}

type detail struct {
	Type string `json:"@type"`
	// ErrorInfo
	Reason   string            `json:"reason"`
	Domain   string            `json:"domain"`
	Metadata map[string]string `json:"metadata"`
	// PolicyDenial
	DecisionID string `json:"decisionId"`
	Violations []struct {
		Rule, Zh, En, Basis string
	} `json:"violations"`
	// BadRequest
	FieldViolations []struct {
		Field, Description, Reason string
	} `json:"fieldViolations"`
	// LocalizedMessage
	Locale  string `json:"locale"`
	Message string `json:"message"`
}

func parseError(t *testing.T, r reply) apiError {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(r.body, &e); err != nil || e.Code == 0 {
		t.Fatalf("not an error body: %v; %s", err, r)
	}
	return e
}

func (e apiError) details() []detail {
	out := make([]detail, 0, len(e.Details))
	for _, raw := range e.Details {
		var d detail
		_ = json.Unmarshal(raw, &d)
		d.Type = d.Type[strings.LastIndexByte(d.Type, '/')+1:]
		out = append(out, d)
	}
	return out
}

func (e apiError) reason() string {
	for _, d := range e.details() {
		if d.Type == "google.rpc.ErrorInfo" {
			return d.Reason
		}
	}
	return ""
}

// rules are the rule ids of the policy violations.
func (e apiError) rules() []string {
	var out []string
	for _, d := range e.details() {
		if d.Type == "fenquan.api.v1.PolicyDenial" {
			for _, v := range d.Violations {
				out = append(out, v.Rule)
			}
		}
	}
	return out
}

// violationText is every violation's English and Chinese message.
func (e apiError) violationText() string {
	var b strings.Builder
	for _, d := range e.details() {
		for _, v := range d.Violations {
			b.WriteString(v.Rule + ": " + v.En + " / " + v.Zh + "\n")
		}
		for _, f := range d.FieldViolations {
			b.WriteString(f.Field + ": " + f.Description + "\n")
		}
	}
	return b.String()
}

// refused asserts r is an error with status and ErrorInfo reason, and, for a policy
// denial, that every rule in rules is among its violations; it returns the error.
func refused(t *testing.T, r reply, status int, reason string, rules ...string) apiError {
	t.Helper()
	if r.status != status {
		t.Fatalf("want HTTP %d (%s), got %s", status, reason, r)
	}
	e := parseError(t, r)
	if got := e.reason(); got != reason {
		t.Fatalf("want reason %s, got %q: %s", reason, got, r)
	}
	got := e.rules()
	for _, rule := range rules {
		if !slices.Contains(got, rule) {
			t.Fatalf("want the rule %s among the violations %v: %s", rule, got, r)
		}
	}
	if len(rules) > 0 && e.details()[0].Type != "fenquan.api.v1.PolicyDenial" {
		t.Fatalf("a policy denial should lead with its PolicyDenial detail: %s", r)
	}
	return e
}

func ok(t *testing.T, r reply) map[string]any {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("positive control refused: %s", r)
	}
	var out map[string]any
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("positive control: %v: %s", err, r)
	}
	return out
}

// ---- cases over REST ----------------------------------------------------------------

// payee is a counterparty of a case.
type payee struct{ name, code string }

var (
	mzj      = payee{"江城市民政局", "11429001MB0C5R7T2W"}
	kangning = payee{"江城市康宁养老服务有限公司", "91429001MA49K3XT6B"} // 曹阳 declared a relation (回避)
	fushou   = payee{"江城市江北区福寿养老院", "52429001MJH2X8K41C"}
)

// caseBody is a 资金拨付 (zjbf) case: A and B person ids, the amount decides the path (50万
// adds the 处长; the suite stays under 500万, which would bring the 集体决策 and a hold by
// supervision).
func caseBody(a, b string, amount float64, p payee, indicator string) map[string]any {
	return map[string]any{
		"title": "攻击测试：养老服务补贴拨付",
		"flow":  "orgs/" + org + "/powers/zjbf/flows/internal",
		"a":     person(a), "b": person(b),
		"payload": map[string]any{
			"amount": amount, "fund": "ZX-SHBZ-2026", "indicator": indicator,
			"payee":   map[string]any{"name": p.name, "code": p.code},
			"purpose": "攻击测试用例",
		},
	}
}

func createPath(o, id, requestID string) string {
	return "/v1/orgs/" + o + "/cases?caseId=" + id + "&requestId=" + requestID
}

// openCase opens a case as applicant and returns its name.
func openCase(t *testing.T, applicant string, body map[string]any) string {
	t.Helper()
	id := uniq("atk")
	out := ok(t, rest(t, http.MethodPost, createPath(org, id, id+"-open"), staff(t, applicant), body))
	name, _ := out["name"].(string)
	if name != "orgs/"+org+"/cases/"+id {
		t.Fatalf("opened %q", name)
	}
	mustExist(t, caseKey(org, id))
	return name
}

// act posts an action on a case as token.
func act(t *testing.T, token, name string, body map[string]any) reply {
	t.Helper()
	return rest(t, http.MethodPost, "/v1/"+name+":act", token, body)
}

// sign is an ACTION_SIGN body.
func sign(step, requestID string) map[string]any {
	return map[string]any{"action": "ACTION_SIGN", "step": step, "requestId": requestID}
}

// signs plays "step:person" signatures that must succeed.
func signs(t *testing.T, name string, chain ...string) {
	t.Helper()
	for _, s := range chain {
		step, who, _ := strings.Cut(s, ":")
		ok(t, act(t, staff(t, who), name, sign(step, uniq("sign"))))
	}
}

// todayPlus is the date days from today in China time (delegations end on a day).
func todayPlus(days int) string {
	return time.Now().In(time.FixedZone("CST", 8*3600)).AddDate(0, 0, days).Format(time.DateOnly)
}

// activeSteps lists the case's active steps.
func activeSteps(t *testing.T, name string) []string {
	t.Helper()
	c := ok(t, rest(t, http.MethodGet, "/v1/"+name, admin(t), nil))
	var out []string
	steps, _ := c["active"].([]any)
	for _, s := range steps {
		if m, ok := s.(map[string]any); ok {
			out = append(out, fmt.Sprint(m["step"]))
		}
	}
	return out
}

// ---- gRPC ---------------------------------------------------------------------------

// asToken is a context for a direct gRPC call with the bearer token (none when empty) and
// further metadata pairs.
func asToken(token string, md ...string) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	if token != "" {
		md = append(md, "authorization", "Bearer "+token)
	}
	if len(md) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, md...)
	}
	return ctx, cancel
}

// The guards are not vacuous: a legitimate action is seen writing the case, an event and
// its request record; a legitimate open, the new case.
func TestGuardsSeeWrites(t *testing.T) {
	id := uniq("guard")
	w := onCreate(t, org, id, "feng-yu", id)
	ok(t, rest(t, http.MethodPost, createPath(org, id, id), staff(t, "feng-yu"), caseBody("feng-yu", "cao-yang", 120000, mzj, "ZB-2026-SB-0031")))
	if d := w.diff(t); len(d) < 3 {
		t.Fatalf("opening a case changed only %v", d)
	}
	name := "orgs/" + org + "/cases/" + id
	rid := uniq("guard")
	w = onCase(t, name, "feng-yu", rid)
	ok(t, act(t, staff(t, "feng-yu"), name, sign("zcjh", rid)))
	d := w.diff(t)
	want := []string{caseKey(org, id), eventsPrefix(org, id), requestKey(org, "feng-yu", rid)}
	for _, k := range want {
		if !slices.ContainsFunc(d, func(s string) bool { return strings.Contains(s, k) }) {
			t.Fatalf("signing was not seen writing %s: %v", k, d)
		}
	}
}
