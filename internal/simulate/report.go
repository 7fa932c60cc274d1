package simulate

// Report is what a simulation found. Its JSON form is the output of
// `auditstream simulate --output json`, described by simulate.schema.json.
type Report struct {
	Policy string `json:"policy"`
	// Events counts every line read; Invalid those that were not audit events.
	Events  int64 `json:"events"`
	Invalid int64 `json:"invalid"`
	// In is every valid event; Kept those the policy keeps, at their rewritten size.
	In          Count     `json:"in"`
	Kept        Count     `json:"kept"`
	KeptShare   Share     `json:"keptShare"`
	Rules       []RuleRow `json:"rules"`
	NoMatch     RuleRow   `json:"noMatch"`
	Levels      []Row     `json:"levels"`
	Stages      []Row     `json:"stages"`
	Topics      []Row     `json:"topics"`
	TopUsers    []Row     `json:"topUsers"`
	TopVerbs    []Row     `json:"topVerbs"`
	TopResource []Row     `json:"topResources"`
	// UnusedRules lists the indexes of rules that matched no event.
	UnusedRules []int `json:"unusedRules"`
	// Redaction is what redaction replaced in the kept events.
	Redaction RedactionReport `json:"redaction"`
}

// RedactionReport counts what redaction did: Events kept events had
// something redacted; Fields has one row per field redaction looks for.
type RedactionReport struct {
	Mode   string      `json:"mode"`
	Events int64       `json:"events"`
	Fields []RedactRow `json:"fields"`
}

// RedactRow is one redacted field: the kept events it was found in and the
// values redacted (a list holds several).
type RedactRow struct {
	Field  string `json:"field"`
	Events int64  `json:"events"`
	Values int64  `json:"values"`
}

// Count is a number of events and their bytes.
type Count struct {
	Events int64 `json:"events"`
	Bytes  int64 `json:"bytes"`
}

// Share is the kept fraction of events and of bytes, from 0 to 1.
type Share struct {
	Events float64 `json:"events"`
	Bytes  float64 `json:"bytes"`
}

// RuleRow is what one rule decided: the events it matched, their bytes as
// read, and the bytes kept after the rewrite.
type RuleRow struct {
	Index       int    `json:"index"`
	Description string `json:"description"`
	Matched     int64  `json:"matched"`
	Kept        int64  `json:"kept"`
	BytesIn     int64  `json:"bytesIn"`
	BytesOut    int64  `json:"bytesOut"`
}

// Row is one line of a breakdown: all events under Key, and the kept ones.
type Row struct {
	Key      string `json:"key"`
	Events   int64  `json:"events"`
	Kept     int64  `json:"kept"`
	BytesIn  int64  `json:"bytesIn"`
	BytesOut int64  `json:"bytesOut"`
}
