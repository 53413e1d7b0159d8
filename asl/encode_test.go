package asl

import (
	"encoding/json"
	"testing"
)

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	docs := []string{
		`null`, `true`, `false`, `0`, `-1.5e10`, `"plain"`, `""`,
		`"quotes \" and \\ and \n\r\t and \u0001 and <html> & \u2028\u2029 and é 日本"`,
		`{"b":1,"a":[1,"x",null,{"z":{},"y":[]}],"c":{"k":true}}`,
		`{"k17":1,"k1":2,"k2":3,"k3":4,"k4":5,"k5":6,"k6":7,"k7":8,"k8":9,"k9":10,"k10":11,"k11":12,"k12":13,"k13":14,"k14":15,"k15":16,"k16":17}`,
		`[]`, `{}`,
	}
	for _, d := range docs {
		v := decode(t, d)
		got, err := marshalValue(v)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(v)
		if string(got) != string(want) {
			t.Errorf("encode %s:\n got  %s\n want %s", d, got, want)
		}
	}
	bad := string([]byte{'a', 0xff, 'b'})
	got, _ := marshalValue(bad)
	want, _ := json.Marshal(bad)
	if string(got) != string(want) {
		t.Errorf("invalid UTF-8: got %s want %s", got, want)
	}
}
