package asl

// This file renders a Definition as a Mermaid flowchart.

import (
	"fmt"
	"strings"
)

// Mermaid returns a Mermaid flowchart of def: one node per state (shaped by
// type), solid edges for Next, Choices and Default (labelled with the rule),
// dashed edges for Catch (labelled with the error names), from a start node
// and into an end node for End states.
func Mermaid(def *Definition) string {
	var b strings.Builder
	ids := make(map[string]string, len(def.order))
	for i, name := range def.order {
		ids[name] = fmt.Sprintf("s%d", i)
	}
	b.WriteString("flowchart TD\n")
	b.WriteString("    __start((Start))\n")
	var hasEnd bool
	for _, name := range def.order {
		st := def.states[name]
		label := mermaidText(name)
		var node string
		switch st.typ {
		case TypeChoice:
			node = "{\"" + label + "\"}"
		case TypeWait:
			node = "[/\"" + label + "\"/]"
		case TypePass:
			node = "(\"" + label + "\")"
		case TypeSucceed, TypeFail:
			node = "([\"" + label + "\"])"
		default:
			node = "[\"" + label + "\"]"
		}
		fmt.Fprintf(&b, "    %s%s\n", ids[name], node)
		if st.end {
			hasEnd = true
		}
	}
	if hasEnd {
		b.WriteString("    __end((End))\n")
	}
	fmt.Fprintf(&b, "    __start --> %s\n", ids[def.startAt])
	for _, name := range def.order {
		st := def.states[name]
		for _, e := range st.edges() {
			arrow := "-->"
			if e.catch {
				arrow = "-.->"
			}
			if e.label == "" {
				fmt.Fprintf(&b, "    %s %s %s\n", ids[e.from], arrow, ids[e.to])
			} else {
				fmt.Fprintf(&b, "    %s %s|\"%s\"| %s\n", ids[e.from], arrow, mermaidText(e.label), ids[e.to])
			}
		}
		if st.end {
			fmt.Fprintf(&b, "    %s --> __end\n", ids[name])
		}
	}
	var fails, succeeds []string
	for _, name := range def.order {
		switch def.states[name].typ {
		case TypeFail:
			fails = append(fails, ids[name])
		case TypeSucceed:
			succeeds = append(succeeds, ids[name])
		}
	}
	if len(fails) > 0 {
		b.WriteString("    classDef fail fill:#fdd,stroke:#c00\n")
		fmt.Fprintf(&b, "    class %s fail\n", strings.Join(fails, ","))
	}
	if len(succeeds) > 0 {
		b.WriteString("    classDef succeed fill:#dfd,stroke:#080\n")
		fmt.Fprintf(&b, "    class %s succeed\n", strings.Join(succeeds, ","))
	}
	return b.String()
}

// mermaidText escapes text for a quoted Mermaid label.
func mermaidText(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "\n", " ").Replace(s)
}
