package workflow

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestGroupOpsRegistered(t *testing.T) {
	r := New(Clients{}, Config{}, nil)
	for _, op := range []string{"resolve", "lock", "unlock", "freeze", "update-launch-template", "thaw", "start-refresh", "check-refresh", "compensate"} {
		if !slices.Contains(r.Ops(), op) {
			t.Errorf("op %s is not registered", op)
		}
	}
}

// TestGroupOpsJSON runs ops that need no AWS call through Invoke: the
// results carry exactly the fields the definition's ResultSelectors pick.
func TestGroupOpsJSON(t *testing.T) {
	r := New(Clients{}, Config{}, nil)
	cases := []struct {
		op, state string
		want      map[string]any
	}{
		{"lock", `{"target":{"group":"web"}}`, map[string]any{"table": "", "key": "group#web", "owner": grpExec, "expiresAt": "2026-11-27T15:00:00Z"}}, // entered + DefaultLockTTL (27 h),
		{"unlock", `{"lock":{"table":"","key":"group#web","owner":"x"}}`, map[string]any{"released": false}},
		{"freeze", `{"target":{"group":"web","settings":{"freezeMaxSize":false}}}`, map[string]any{"frozen": false, "originalMaxSize": 0.0, "frozenMaxSize": 0.0}},
		{"thaw", `{"target":{"group":"web"},"freeze":{"frozen":false}}`, map[string]any{"restored": false, "maxSize": 0.0}},
		{"compensate", `{"target":{"skip":true},"error":{"Error":"AWSError","Cause":"x"}}`, map[string]any{"actions": []any{}, "problems": []any{}}},
		{"resolve", `{"backupJobId":"x","resourceType":"RDS"}`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.op, func(t *testing.T) {
			payload := `{"op":"` + tc.op + `","state":` + tc.state + `,"context":{"executionId":"` + grpExec + `","enteredTime":"2026-11-26T12:00:00Z"}}`
			out, err := r.Invoke(t.Context(), "", []byte(payload))
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if tc.op == "resolve" {
				for _, k := range []string{"skip", "skipReason", "group", "source", "launchTemplate", "capacity", "builder", "settings"} {
					if _, ok := got[k]; !ok {
						t.Errorf("resolve result lacks %q: %s", k, out)
					}
				}
				if got["skip"] != true {
					t.Errorf("resolve of an RDS backup: %s", out)
				}
				return
			}
			b, _ := json.Marshal(tc.want)
			if string(b) != string(mustCanon(t, out)) {
				t.Errorf("%s result %s, want %s", tc.op, out, b)
			}
		})
	}
}

// mustCanon re-encodes JSON with sorted keys.
func mustCanon(t *testing.T, b []byte) []byte {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	return out
}
