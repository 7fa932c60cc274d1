package policyreload

import (
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// rulePath finds the first rule an apiserver validation error names, as in
// "rules[3].level: Unsupported value".
var rulePath = regexp.MustCompile(`\brules\[(\d+)\]`)

// errorLine returns the line of the policy file err is about, or 0 when it
// cannot tell or err names the line itself. The apiserver's validation
// errors name a field path (rules[3].resources), which in a long policy is
// hard to find by eye; decoding errors already carry their line.
func errorLine(data []byte, err error) int {
	msg := err.Error()
	if strings.Contains(msg, "line ") {
		return 0
	}
	m := rulePath.FindStringSubmatch(msg)
	if m == nil {
		return 0
	}
	index, convErr := strconv.Atoi(m[1])
	if convErr != nil {
		return 0
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return 0
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return 0
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "rules" {
			continue
		}
		rules := root.Content[i+1]
		if rules.Kind != yaml.SequenceNode || index >= len(rules.Content) {
			return 0
		}
		return rules.Content[index].Line
	}
	return 0
}
