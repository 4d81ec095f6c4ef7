package attack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	apiv1 "github.com/fenquan/fenquan/proto/fenquan/api/v1"
	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/store"
	"github.com/fenquan/fenquan/tools/internal/up"
)

// ---- identity headers ----------------------------------------------------------------

// Identity comes from the verified token only: headers that name a user, or carry a
// token under another name, change nothing — without a token the call is 401, with a
// staff member's token the call is decided as that staff member.
func TestIdentityHeaders(t *testing.T) {
	adminTok := admin(t)
	han := staff(t, "han-bing")
	service := mint(t, "fenquan-supervision", auth.Claims{PlatformRoles: []string{"service"}})

	// Each set of headers, as an attacker would try them. Values name the administrator
	// (anonymous calls) or 韩冰 (calls with 冯雨's token); the token-carrying ones carry a
	// genuine token, so a gateway or service that honoured them would let the call pass.
	spoofs := func(who, token string) [][]string {
		all := []string{
			"X-User", who, "Grpc-Metadata-Authorization", "Bearer " + token, "Grpc-Metadata-X-User", who,
			"X-Forwarded-User", who, "X-Fenquan-Service-Authorization", "Bearer " + service,
		}
		return [][]string{
			{"X-User", who},
			{"Grpc-Metadata-Authorization", "Bearer " + token},
			{"Grpc-Metadata-X-User", who},
			{"X-Forwarded-User", who},
			{"X-Fenquan-Service-Authorization", "Bearer " + service},
			{"X-Remote-User", who, "X-Auth-Request-User", who, "Remote-User", who},
			all,
		}
	}
	label := func(h []string) string {
		var names []string
		for i := 0; i < len(h); i += 2 {
			names = append(names, h[i])
		}
		if len(names) > 3 {
			return "all of " + strings.Join(names, ", ")
		}
		return strings.Join(names, ", ")
	}

	t.Run("without a token", func(t *testing.T) {
		for _, h := range spoofs(up.AdminSub, adminTok) {
			t.Run(label(h)+" opening a case", func(t *testing.T) {
				id := uniq("hdr")
				w := onCreate(t, org, id, up.AdminSub, id)
				r := rest(t, http.MethodPost, createPath(org, id, id), "", caseBody("feng-yu", "cao-yang", 120000, mzj, "ZB-2026-SB-0031"), h...)
				tokenRefusal(t, r, true)
				w.check(t)
			})
		}
		t.Run("the same headers as gRPC metadata, straight at the service", func(t *testing.T) {
			id := uniq("hdr")
			w := onCreate(t, org, id, up.AdminSub, id)
			ctx, cancel := asToken("", "x-user", up.AdminSub, "x-forwarded-user", up.AdminSub,
				"grpc-metadata-authorization", "Bearer "+adminTok, "x-fenquan-service-authorization", "Bearer "+service)
			defer cancel()
			_, err := approvalv1.NewCaseServiceClient(sys.conns["approval"]).CreateCase(ctx, grpcCase(id))
			if status.Code(err) != codes.Unauthenticated {
				t.Fatalf("want Unauthenticated, got %v", err)
			}
			w.check(t)
		})
	})

	// 冯雨 opened the case and signed its entry step; the next step (主管责任人) is 韩冰's.
	// Signing it as 冯雨, whatever the headers say, is refused in 冯雨's name.
	t.Run("with a staff member's token", func(t *testing.T) {
		feng := staff(t, "feng-yu")
		name := openCase(t, "feng-yu", caseBody("feng-yu", "cao-yang", 120000, mzj, "ZB-2026-SB-0031"))
		signs(t, name, "zcjh:feng-yu")
		for _, h := range spoofs("han-bing", han) {
			t.Run(label(h)+" signing 韩冰's step", func(t *testing.T) {
				rid := uniq("hdr")
				w := onCase(t, name, "feng-yu", rid).key(requestKey(org, "han-bing", rid))
				r := rest(t, http.MethodPost, "/v1/"+name+":act", feng, sign("zgzr", rid), h...)
				e := refused(t, r, http.StatusForbidden, "POLICY_DENIED", "signoff.not_holder", "sod.self_approval")
				asFengYu(t, e)
				w.check(t)
			})
		}
		t.Run("x-user metadata straight at the service", func(t *testing.T) {
			rid := uniq("hdr")
			w := onCase(t, name, "feng-yu", rid).key(requestKey(org, "han-bing", rid))
			ctx, cancel := asToken(feng, "x-user", "han-bing", "x-forwarded-user", "han-bing", "grpc-metadata-authorization", "Bearer "+han)
			defer cancel()
			_, err := approvalv1.NewCaseServiceClient(sys.conns["approval"]).Act(ctx, &approvalv1.ActRequest{
				Name: name, Action: approvalv1.Action_ACTION_SIGN, Step: "zgzr", RequestId: rid})
			if status.Code(err) != codes.PermissionDenied {
				t.Fatalf("want PermissionDenied, got %v", err)
			}
			for _, d := range status.Convert(err).Details() {
				if pd, ok := d.(*apiv1.PolicyDenial); ok {
					for _, v := range pd.Violations {
						if strings.Contains(v.En, "han-bing") {
							t.Fatalf("decided as han-bing: %s", v.En)
						}
					}
				}
			}
			w.check(t)
		})
		// x-fenquan-service-authorization is how a service names itself beside the user it
		// acts for; at the edge it is dropped, and straight at a service it lends no power.
		t.Run("a genuine service token beside 冯雨's, straight at the service, holding the case", func(t *testing.T) {
			rid := uniq("hdr")
			w := onCase(t, name, "feng-yu", rid)
			ctx, cancel := asToken(feng, "x-fenquan-service-authorization", "Bearer "+service)
			defer cancel()
			_, err := approvalv1.NewCaseServiceClient(sys.conns["approval"]).Act(ctx, &approvalv1.ActRequest{
				Name: name, Action: approvalv1.Action_ACTION_HOLD, Text: "拦截", Rule: "attack", RequestId: rid})
			if status.Code(err) != codes.PermissionDenied {
				t.Fatalf("want PermissionDenied (decided as 冯雨), got %v", err)
			}
			w.check(t)
		})
		t.Run("a forged service token beside 冯雨's, straight at the service, signing 韩冰's step", func(t *testing.T) {
			rid := uniq("hdr")
			w := onCase(t, name, "feng-yu", rid)
			forged := compact(jose{"alg": "ES256", "typ": "JWT"}, claims("fenquan-supervision", auth.Claims{PlatformRoles: []string{"service"}}, nil), es256(attackerKey(t)))
			ctx, cancel := asToken(feng, "x-fenquan-service-authorization", "Bearer "+forged)
			defer cancel()
			_, err := approvalv1.NewCaseServiceClient(sys.conns["approval"]).Act(ctx, &approvalv1.ActRequest{
				Name: name, Action: approvalv1.Action_ACTION_SIGN, Step: "zgzr", RequestId: rid})
			// Refused as unauthenticated (the service identity is verified) or as 冯雨 (it is
			// ignored): never decided as anyone else.
			if c := status.Code(err); c != codes.Unauthenticated && c != codes.PermissionDenied {
				t.Fatalf("want Unauthenticated or PermissionDenied, got %v", err)
			}
			w.check(t)
		})
		t.Run("a catalogue write (create a unit) as 冯雨 claiming the admin", func(t *testing.T) {
			unit := uniq("hdr-unit")
			key := registryKeys.Key(org, "units", unit)
			w := (&writes{}).key(key).watch(t)
			r := rest(t, http.MethodPost, "/v1/orgs/"+org+"/units?unitId="+unit, feng, unitBody(),
				"X-User", up.AdminSub, "Grpc-Metadata-X-User", up.AdminSub, "X-Forwarded-User", up.AdminSub,
				"Grpc-Metadata-Authorization", "Bearer "+adminTok)
			e := refused(t, r, http.StatusForbidden, "POLICY_DENIED", "api.permission")
			asFengYu(t, e)
			w.check(t)
		})
		t.Run("control: 韩冰's own token signs the step; the admin's creates the unit", func(t *testing.T) {
			ok(t, act(t, han, name, sign("zgzr", uniq("hdr"))))
			unit := uniq("hdr-unit")
			ok(t, rest(t, http.MethodPost, "/v1/orgs/"+org+"/units?unitId="+unit, adminTok, unitBody()))
			mustExist(t, registryKeys.Key(org, "units", unit))
		})
	})
}

// asFengYu asserts every violation is about 冯雨 (feng-yu), never about the person the
// headers named.
func asFengYu(t *testing.T, e apiError) {
	t.Helper()
	for _, d := range e.details() {
		for _, v := range d.Violations {
			if !strings.Contains(v.En, "feng-yu") || strings.Contains(v.En, "han-bing") || strings.Contains(v.En, up.AdminSub) {
				t.Fatalf("the call was not decided as feng-yu: %s: %s", v.Rule, v.En)
			}
		}
	}
}

func unitBody() map[string]any {
	return map[string]any{"displayName": "攻击测试科", "kind": "UNIT_KIND_SECTION", "parent": "orgs/" + org + "/units/bgs"}
}

// ---- bodies -------------------------------------------------------------------------

// Bodies are checked at the edge before anything is forwarded: size, UTF-8, nesting,
// JSON, unknown fields. Each attack is a case opened by 冯雨 that the well-formed body
// opens (the control).
func TestBodyAttacks(t *testing.T) {
	feng := staff(t, "feng-yu")
	good := caseBody("feng-yu", "cao-yang", 120000, mzj, "ZB-2026-SB-0031")
	goodJSON, err := json.Marshal(good)
	if err != nil {
		t.Fatal(err)
	}
	// withTitle is the good body with the title's JSON value replaced by raw bytes.
	withTitle := func(raw string) []byte {
		j, _ := json.Marshal(good["title"])
		return bytes.Replace(goodJSON, j, []byte(raw), 1)
	}
	big := strings.Repeat("廉", (5<<20)/3) // 5 MiB of UTF-8
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)

	attacks := []struct {
		name   string
		body   func() io.Reader
		status int
		reason string
		msg    string // the error message contains it
		field  string // a field violation names it
	}{
		{name: "a 5 MiB body (Content-Length over the 4 MiB limit)",
			body:   func() io.Reader { return bytes.NewReader(withTitle(`"` + big + `"`)) },
			status: http.StatusRequestEntityTooLarge, reason: "TOO_LARGE", msg: "request body exceeds 4194304 bytes"},
		{name: "a 5 MiB body streamed without a Content-Length (chunked)",
			body:   func() io.Reader { return io.MultiReader(bytes.NewReader(withTitle(`"` + big + `"`))) },
			status: http.StatusRequestEntityTooLarge, reason: "TOO_LARGE", msg: "request body exceeds 4194304 bytes"},
		{name: "JSON nested 10,000 deep in the payload",
			body: func() io.Reader {
				return bytes.NewReader(bytes.Replace(goodJSON, []byte(`"purpose":"攻击测试用例"`), []byte(`"purpose":`+deep), 1))
			},
			status: http.StatusBadRequest, reason: "INVALID_ARGUMENT", msg: "nests JSON deeper than 64 levels"},
		{name: "JSON nested 10,000 deep as the whole body",
			body: func() io.Reader {
				return strings.NewReader(strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000))
			},
			status: http.StatusBadRequest, reason: "INVALID_ARGUMENT", msg: "nests JSON deeper than 64 levels"},
		{name: "invalid UTF-8 in the title",
			body:   func() io.Reader { return bytes.NewReader(withTitle("\"攻击\xff\xfe测试\"")) },
			status: http.StatusBadRequest, reason: "INVALID_ARGUMENT", msg: "not valid UTF-8"},
		{name: "invalid UTF-8 in the payee's name (a truncated multi-byte character)",
			body: func() io.Reader {
				return bytes.NewReader(bytes.Replace(goodJSON, []byte(mzj.name), []byte("江城市民政\xe5\xb1"), 1))
			},
			status: http.StatusBadRequest, reason: "INVALID_ARGUMENT", msg: "not valid UTF-8"},
		{name: "an overlong UTF-8 encoding of '/' in the flow name",
			body: func() io.Reader {
				return bytes.NewReader(bytes.Replace(goodJSON, []byte("orgs/czj/powers"), []byte("orgs\xc0\xafczj/powers"), 1))
			},
			status: http.StatusBadRequest, reason: "INVALID_ARGUMENT", msg: "not valid UTF-8"},
		{name: "an unknown field smuggled into the case (isAdmin)",
			body: func() io.Reader {
				return bytes.NewReader(bytes.Replace(goodJSON, []byte(`{"a":`), []byte(`{"isAdmin":true,"a":`), 1))
			},
			status: http.StatusBadRequest, reason: "INVALID_ARGUMENT", msg: "unknown field", field: "case.isAdmin:"},
		{name: "truncated JSON",
			body:   func() io.Reader { return bytes.NewReader(goodJSON[:len(goodJSON)/2]) },
			status: http.StatusBadRequest, reason: "INVALID_ARGUMENT", msg: "not valid JSON"},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			id := uniq("body")
			w := onCreate(t, org, id, "feng-yu", id)
			r := rest(t, http.MethodPost, createPath(org, id, id), feng, a.body())
			e := refused(t, r, a.status, a.reason)
			if !strings.Contains(e.Message, a.msg) {
				t.Fatalf("message %q does not say %q", e.Message, a.msg)
			}
			if a.field != "" && !strings.Contains(e.violationText(), a.field) {
				t.Fatalf("no field violation names %s: %s", a.field, r)
			}
			w.check(t)
		})
	}
	// Mass assignment: the fields a case gets from the service (applicant, state,
	// signatures, the payload's version) are part of the resource, so the body may name
	// them; the service sets them itself, whatever the body says.
	t.Run("output-only fields in the body (applicant 周建国, state COMPLETED, a signature, payload version 9) are ignored", func(t *testing.T) {
		id := uniq("body")
		body := caseBody("feng-yu", "cao-yang", 120000, mzj, "ZB-2026-SB-0031")
		body["applicant"] = person("zhou-jianguo")
		body["firstResponsible"] = person("zhou-jianguo")
		body["state"] = "STATE_COMPLETED"
		body["held"] = false
		body["signatures"] = []any{map[string]any{"step": "zcjh", "person": person("zhou-jianguo")}}
		body["payload"].(map[string]any)["version"] = 9
		ok(t, rest(t, http.MethodPost, createPath(org, id, id), feng, body))
		c := ok(t, rest(t, http.MethodGet, "/v1/orgs/"+org+"/cases/"+id, feng, nil))
		sigs, _ := c["signatures"].([]any)
		if c["applicant"] != person("feng-yu") || c["state"] != "STATE_OPEN" || len(sigs) != 0 ||
			c["firstResponsible"] != "" || c["payload"].(map[string]any)["version"] != float64(1) {
			t.Fatalf("the body's output-only fields were stored: applicant %v, state %v, signatures %v, first responsible %v, payload %v",
				c["applicant"], c["state"], sigs, c["firstResponsible"], c["payload"])
		}
	})
	t.Run("control: the well-formed body opens the case", func(t *testing.T) {
		id := uniq("body")
		ok(t, rest(t, http.MethodPost, createPath(org, id, id), feng, goodJSON))
		mustExist(t, caseKey(org, id))
	})

	// Straight at the service, past the gateway's checks: gRPC's own limits and
	// protobuf's UTF-8 check on string fields.
	t.Run("gRPC: invalid UTF-8 in the title, sent as raw protobuf", func(t *testing.T) {
		id := uniq("body")
		w := onCreate(t, org, id, "feng-yu", id)
		req := grpcCase(id)
		req.Case.Title = "PLACEHOLDER"
		b, err := proto.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.Replace(b, []byte("PLACEHOLDER"), []byte("ATTACK\xff\xfe\xfd\xfc\xfb"), 1)
		ctx, cancel := asToken(feng)
		defer cancel()
		err = sys.conns["approval"].Invoke(ctx, "/fenquan.approval.v1.CaseService/CreateCase", rawMessage(b), &approvalv1.Case{}, grpc.ForceCodec(rawCodec{}))
		// grpc-go refuses the message while decoding it, before any interceptor: INTERNAL
		// (its code for a request it cannot decode), saying why.
		if status.Code(err) != codes.Internal || !strings.Contains(status.Convert(err).Message(), "invalid UTF-8") {
			t.Fatalf("want the codec's refusal of invalid UTF-8, got %v", err)
		}
		w.check(t)
	})
	t.Run("gRPC: a 5 MiB request message", func(t *testing.T) {
		id := uniq("body")
		w := onCreate(t, org, id, "feng-yu", id)
		req := grpcCase(id)
		req.Case.Payload.Purpose = big
		ctx, cancel := asToken(feng)
		defer cancel()
		_, err := approvalv1.NewCaseServiceClient(sys.conns["approval"]).CreateCase(ctx, req)
		if status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("want ResourceExhausted, got %v", err)
		}
		w.check(t)
	})
	t.Run("gRPC control: the well-formed message as raw protobuf opens the case", func(t *testing.T) {
		id := uniq("body")
		b, err := proto.Marshal(grpcCase(id))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := asToken(feng)
		defer cancel()
		if err := sys.conns["approval"].Invoke(ctx, "/fenquan.approval.v1.CaseService/CreateCase", rawMessage(b), &approvalv1.Case{}, grpc.ForceCodec(rawCodec{})); err != nil {
			t.Fatal(err)
		}
		mustExist(t, caseKey(org, id))
	})
}

// rawMessage is a request already encoded; rawCodec sends it as it is.
type rawMessage []byte

type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) ([]byte, error) {
	if b, ok := v.(rawMessage); ok {
		return b, nil
	}
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("rawCodec: %T", v)
	}
	return proto.Marshal(m)
}

func (rawCodec) Unmarshal(b []byte, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("rawCodec: %T", v)
	}
	return proto.Unmarshal(b, m)
}

// ---- the public edge ----------------------------------------------------------------

// The public catalogue (晒权) shows published public powers and their external flows,
// to anyone; internal powers and internal flows are not there, whoever asks — a token
// sent on a public route is dropped at the edge.
func TestPublicCatalogue(t *testing.T) {
	adminTok := admin(t)
	get := func(t *testing.T, path, token string) reply {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			// The public routes are rate-limited (TestPublicFlood empties the bucket).
			if r := rest(t, http.MethodGet, path, token, nil); r.status != http.StatusTooManyRequests || time.Now().After(deadline) {
				return r
			}
		}
	}
	for _, c := range []struct{ name, path, what string }{
		{"read an internal power (资金拨付)", "/public/v1/orgs/czj/powers/zjbf", "orgs/czj/powers/zjbf"},
		{"draw the internal flow of an internal power", "/public/v1/orgs/czj/powers/zjbf/flows/internal:diagram", "orgs/czj/powers/zjbf/flows/internal"},
		{"draw the internal flow of a public power", "/public/v1/orgs/czj/powers/dljz/flows/internal:diagram", "orgs/czj/powers/dljz/flows/internal"},
	} {
		for _, who := range []struct{ label, token string }{{"anonymously", ""}, {"with the admin's token", adminTok}} {
			t.Run(c.name+" "+who.label, func(t *testing.T) {
				r := get(t, c.path, who.token)
				e := refused(t, r, http.StatusNotFound, "NOT_FOUND")
				if !strings.HasPrefix(e.Message, c.what) {
					t.Fatalf("message %q", e.Message)
				}
			})
		}
	}
	t.Run("control: the public power and its external flow", func(t *testing.T) {
		ok(t, get(t, "/public/v1/orgs/czj/powers/dljz", ""))
		if r := get(t, "/public/v1/orgs/czj/powers/dljz/flows/external:diagram", ""); r.status != http.StatusOK || !bytes.Contains(r.body, []byte("<svg")) {
			t.Fatalf("the external flow: %s", r)
		}
		if r := get(t, "/v1/orgs/czj/powers/zjbf/flows/internal:diagram", adminTok); r.status != http.StatusOK {
			t.Fatalf("the internal flow, as staff see it: %s", r)
		}
	})
}

// 信访举报 needs no login, so its route is rate-limited per client address (10/s, burst
// 20). An outsider floods it, claiming a new address on every request
// (X-Forwarded-For, X-Real-Ip, Forwarded): the gateway trusts no proxy here, so the
// limit holds, the refused requests write nothing, and the first ones within the burst
// are filed (the control).
func TestPublicFlood(t *testing.T) {
	const n = 80
	prefix := store.Keyspace{Root: up.KeyRoot, Service: "supervision"}.CollectionPrefix(org, "complaints")
	count := func() int {
		resp, err := sys.etcd.Get(t.Context(), prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		return int(resp.Count)
	}
	before := count()
	var mu sync.Mutex
	answers := map[int]int{}
	var failed []error
	var limited []reply
	var wg sync.WaitGroup
	began := time.Now()
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				addr := fmt.Sprintf("203.0.113.%d", i+1)
				r, err := send(http.MethodPost, "/public/v1/orgs/"+org+"/complaints", "",
					map[string]any{"text": fmt.Sprintf("攻击测试：第%d条举报，反映国库处支付审核岗拖延支付。", i+1), "about": "国库处支付审核岗"},
					"X-Forwarded-For", addr, "X-Real-Ip", addr, "Forwarded", "for="+addr)
				mu.Lock()
				if err != nil {
					failed = append(failed, err)
				}
				answers[r.status]++
				if r.status == http.StatusTooManyRequests {
					limited = append(limited, r)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(began)
	if len(failed) > 0 {
		t.Fatal(failed[0])
	}
	filed := answers[http.StatusOK]
	t.Logf("%d complaints in %s: %v", n, elapsed.Round(time.Millisecond), answers)
	if filed == 0 {
		t.Fatalf("control: no complaint was filed: %v", answers)
	}
	if filed+len(limited) != n {
		t.Fatalf("answers other than 200 and 429: %v", answers)
	}
	if allowed := 20 + int(10*elapsed.Seconds()) + 1; filed > allowed {
		t.Fatalf("%d complaints filed in %s: the limit allows %d", filed, elapsed, allowed)
	}
	if len(limited) == 0 {
		t.Fatalf("no request was limited: %v", answers)
	}
	e := refused(t, limited[0], http.StatusTooManyRequests, "RATE_LIMITED")
	if limited[0].header.Get("Retry-After") == "" {
		t.Fatalf("429 without Retry-After: %s", e.Message)
	}
	if got := count() - before; got != filed {
		t.Fatalf("%d complaints answered 200, %d written", filed, got)
	}
}
