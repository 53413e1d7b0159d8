package asl

import "testing"

func TestMermaid(t *testing.T) {
	def := mustParse(t, `{"StartAt":"Check","States":{
		"Check":{"Type":"Task","Resource":"r","Next":"Ready?","Catch":[{"ErrorEquals":["Busy","States.Timeout"],"Next":"Undo"}]},
		"Ready?":{"Type":"Choice","Choices":[
			{"Variable":"$.state","StringEquals":"done \"now\"","Next":"Publish"},
			{"And":[{"Variable":"$.n","NumericGreaterThan":3},{"Not":{"Variable":"$.x","IsPresent":true}}],"Next":"Undo"}
		],"Default":"Pause"},
		"Pause":{"Type":"Wait","Seconds":5,"Next":"Check"},
		"Publish":{"Type":"Pass","End":true},
		"Undo":{"Type":"Fail","Error":"E"}}}`)
	want := `flowchart TD
    __start((Start))
    s0["Check"]
    s1{"Ready?"}
    s2[/"Pause"/]
    s3("Publish")
    s4(["Undo"])
    __end((End))
    __start --> s0
    s0 --> s1
    s0 -.->|"Busy, States.Timeout"| s4
    s1 -->|"$.state == #quot;done #quot;now#quot;#quot;"| s3
    s1 -->|"$.n > 3 and not ($.x is present)"| s4
    s1 -->|"Default"| s2
    s2 --> s0
    s3 --> __end
    classDef fail fill:#fdd,stroke:#c00
    class s4 fail
`
	if got := Mermaid(def); got != want {
		t.Fatalf("Mermaid:\n%s\nwant:\n%s", got, want)
	}
}
