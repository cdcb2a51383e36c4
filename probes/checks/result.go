package checks

// Status is the outcome of one check on one host.
type Status string

// Check outcomes. A check whose facts could not be collected is an error,
// never a pass.
const (
	Pass          Status = "pass"
	Fail          Status = "fail"
	Error         Status = "error"
	NotApplicable Status = "not-applicable"
)

// Result is one check evaluated on one host, with its evidence.
type Result struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Status   Status   `json:"status"`
	Probe    string   `json:"probe,omitempty"`    // probe ids the facts came from, e.g. "L13"
	Expected string   `json:"expected"`           // the rule, with blueprint parameters filled in
	Actual   string   `json:"actual"`             // the fact values the rule read
	Message  string   `json:"message,omitempty"`  // why it failed, errored or does not apply
	Evidence []string `json:"evidence,omitempty"` // raw lines the facts were derived from
}
