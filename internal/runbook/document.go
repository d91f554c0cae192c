package runbook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Document formats (DocumentFormat).
const (
	FormatJSON = "JSON"
	FormatYAML = "YAML"
)

// Definition is a parsed document: what an execution runs. It is kept with each execution,
// so a later version of the document does not change a running one.
type Definition struct {
	SchemaVersion string     `json:"schemaVersion"`
	Description   string     `json:"description,omitempty"`
	AssumeRole    string     `json:"assumeRole,omitempty"`
	Params        []Param    `json:"parameters,omitempty"`
	Steps         []Step     `json:"mainSteps,omitempty"`
	Outputs       []string   `json:"outputs,omitempty"`
	extra         []string   // top-level keys not understood (only reported, never run)
	params        paramIndex // by name
}

type paramIndex map[string]int

// Param is one declared document parameter.
type Param struct {
	Name           string   `json:"name"`
	Type           string   `json:"type"`
	Description    string   `json:"description,omitempty"`
	Default        any      `json:"default,omitempty"`
	HasDefault     bool     `json:"hasDefault,omitempty"`
	AllowedValues  []string `json:"allowedValues,omitempty"`
	AllowedPattern string   `json:"allowedPattern,omitempty"`
	MinItems       *int     `json:"minItems,omitempty"`
	MaxItems       *int     `json:"maxItems,omitempty"`
}

// Step is one of a document's mainSteps.
type Step struct {
	Name           string         `json:"name"`
	Action         string         `json:"action"`
	Inputs         map[string]any `json:"inputs,omitempty"`
	Outputs        []Output       `json:"outputs,omitempty"`
	OnFailure      string         `json:"onFailure,omitempty"`
	OnCancel       string         `json:"onCancel,omitempty"`
	NextStep       string         `json:"nextStep,omitempty"`
	IsEnd          bool           `json:"isEnd,omitempty"`
	MaxAttempts    int            `json:"maxAttempts,omitempty"`
	TimeoutSeconds int            `json:"timeoutSeconds,omitempty"`
	IsCritical     *bool          `json:"isCritical,omitempty"`
}

// Output is a value a step selects from its response.
type Output struct {
	Name     string `json:"Name"`
	Selector string `json:"Selector"`
	Type     string `json:"Type"`
}

// Parameter and output types.
const (
	TypeString     = "String"
	TypeStringList = "StringList"
	TypeInteger    = "Integer"
	TypeBoolean    = "Boolean"
	TypeMapList    = "MapList"
	TypeStringMap  = "StringMap"
)

var paramTypes = []string{TypeString, TypeStringList, TypeInteger, TypeBoolean, TypeMapList, TypeStringMap}

// Actions bannin runs.
const (
	ActionExecuteAPI = "aws:executeAwsApi"
	ActionAssert     = "aws:assertAwsResourceProperty"
	ActionWait       = "aws:waitForAwsResourceProperty"
	ActionBranch     = "aws:branch"
	ActionSleep      = "aws:sleep"
)

// runnable are the actions bannin executes; knownActions are AWS's other Automation actions,
// accepted in documents (so real runbooks import) but failing the step when reached.
var (
	runnable     = []string{ActionExecuteAPI, ActionAssert, ActionWait, ActionBranch, ActionSleep}
	knownActions = []string{"aws:approve", "aws:changeInstanceState", "aws:copyImage", "aws:createImage",
		"aws:createStack", "aws:createTags", "aws:deleteImage", "aws:deleteStack", "aws:executeAutomation",
		"aws:executeScript", "aws:executeStateMachine", "aws:invokeLambdaFunction", "aws:invokeWebhook",
		"aws:loop", "aws:pause", "aws:runCommand", "aws:runInstances", "aws:updateVariable"}
)

var (
	stepNameRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	refRE      = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)
)

// contentError is an InvalidDocumentContent problem.
type contentError struct{ msg string }

func (e *contentError) Error() string { return e.msg }

func invalid(format string, args ...any) error {
	return &contentError{msg: fmt.Sprintf(format, args...)}
}

// parseNode parses content in its format into a YAML node tree (JSON is parsed strictly
// as JSON first, so that a YAML-only construct is not accepted as JSON).
func parseNode(content, format string) (*yaml.Node, error) {
	if strings.TrimSpace(content) == "" {
		return nil, invalid("The content of the document is empty.")
	}
	if format == FormatJSON && !json.Valid([]byte(content)) {
		var v any
		err := json.Unmarshal([]byte(content), &v)
		return nil, invalid("The document is not valid JSON: %v", err)
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(content), &n); err != nil {
		return nil, invalid("The document is not valid %s: %v", format, err)
	}
	if len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode {
		return nil, invalid("The document must be a %s object.", format)
	}
	return n.Content[0], nil
}

// parseDefinition parses and checks a document of type docType.
func parseDefinition(content, format, docType string) (*Definition, error) {
	root, err := parseNode(content, format)
	if err != nil {
		return nil, err
	}
	var raw map[string]any
	if err := root.Decode(&raw); err != nil {
		return nil, invalid("The document cannot be decoded: %v", err)
	}
	d := &Definition{params: paramIndex{}}
	sv, ok := raw["schemaVersion"]
	if !ok {
		return nil, invalid("The document is missing the required field schemaVersion.")
	}
	d.SchemaVersion = scalarString(sv)
	d.Description, _ = raw["description"].(string)
	if docType != DocAutomation {
		// Other document types are stored, not run: their shape is not checked further.
		return d, nil
	}
	if d.SchemaVersion != "0.3" {
		return nil, invalid("schemaVersion %q is not supported for Automation documents; use \"0.3\".", d.SchemaVersion)
	}
	if ar, ok := raw["assumeRole"]; ok {
		s, isStr := ar.(string)
		if !isStr {
			return nil, invalid("assumeRole must be a string.")
		}
		d.AssumeRole = s
	}
	if err := d.parseParams(root, raw["parameters"]); err != nil {
		return nil, err
	}
	if err := d.parseSteps(raw["mainSteps"]); err != nil {
		return nil, err
	}
	if o, ok := raw["outputs"]; ok {
		list, ok := o.([]any)
		if !ok {
			return nil, invalid("outputs must be a list of step outputs (StepName.OutputName).")
		}
		for _, v := range list {
			s, ok := v.(string)
			if !ok {
				return nil, invalid("outputs must be a list of step outputs (StepName.OutputName).")
			}
			d.Outputs = append(d.Outputs, s)
		}
	}
	if err := d.check(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Definition) parseParams(root *yaml.Node, v any) error {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return invalid("parameters must be an object of parameter definitions.")
	}
	// Keep the document's order of parameters.
	var order []string
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "parameters" && root.Content[i+1].Kind == yaml.MappingNode {
			for j := 0; j < len(root.Content[i+1].Content); j += 2 {
				order = append(order, root.Content[i+1].Content[j].Value)
			}
		}
	}
	for _, name := range order {
		pm, ok := m[name].(map[string]any)
		if !ok {
			return invalid("Parameter %s must be an object with a type.", name)
		}
		p := Param{Name: name}
		p.Type, _ = pm["type"].(string)
		if !slices.Contains(paramTypes, p.Type) {
			return invalid("Parameter %s has type %q; the type must be one of %s.", name, scalarString(pm["type"]), strings.Join(paramTypes, ", "))
		}
		p.Description, _ = pm["description"].(string)
		if av, ok := pm["allowedValues"]; ok {
			list, ok := av.([]any)
			if !ok {
				return invalid("allowedValues of parameter %s must be a list.", name)
			}
			for _, x := range list {
				p.AllowedValues = append(p.AllowedValues, scalarString(x))
			}
		}
		if ap, ok := pm["allowedPattern"]; ok {
			p.AllowedPattern = scalarString(ap)
			if _, err := regexp.Compile(p.AllowedPattern); err != nil {
				return invalid("allowedPattern of parameter %s is not a valid regular expression: %v", name, err)
			}
		}
		for key, dst := range map[string]**int{"minItems": &p.MinItems, "maxItems": &p.MaxItems} {
			if x, ok := pm[key]; ok {
				n, ok := x.(int)
				if !ok {
					return invalid("%s of parameter %s must be an integer.", key, name)
				}
				*dst = &n
			}
		}
		if dv, ok := pm["default"]; ok {
			val, err := p.fromDocument(dv)
			if err != nil {
				return invalid("The default value of parameter %s is not valid: %v", name, err)
			}
			p.Default, p.HasDefault = val, true
		}
		d.params[name] = len(d.Params)
		d.Params = append(d.Params, p)
	}
	return nil
}

func (d *Definition) parseSteps(v any) error {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return invalid("mainSteps is required: an Automation document needs at least one step.")
	}
	for i, x := range list {
		m, ok := x.(map[string]any)
		if !ok {
			return invalid("Step %d of mainSteps must be an object.", i+1)
		}
		var st Step
		// A JSON round trip keeps the step's inputs as JSON-like values.
		b, err := json.Marshal(jsonable(m))
		if err != nil {
			return invalid("Step %d cannot be decoded: %v", i+1, err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		if err := dec.Decode(&st); err != nil {
			return invalid("Step %d is not valid: %v", i+1, err)
		}
		st.Inputs, _ = jsonable(m["inputs"]).(map[string]any)
		d.Steps = append(d.Steps, st)
	}
	return nil
}

// jsonable turns YAML-decoded values into values encoding/json accepts and a JSON decode
// would give (map[string]any, []any, float64 for numbers).
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonable(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = jsonable(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonable(e)
		}
		return out
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	}
	return v
}

// check applies the rules that span steps: unique names, known actions, step references,
// and every {{ variable }} defined.
func (d *Definition) check() error {
	names := map[string]*Step{}
	for i := range d.Steps {
		st := &d.Steps[i]
		if st.Name == "" {
			return invalid("Step %d has no name.", i+1)
		}
		if !stepNameRE.MatchString(st.Name) {
			return invalid("Step name %s is not valid: use letters, numbers and underscores.", st.Name)
		}
		if names[st.Name] != nil {
			return invalid("Step name %s is used more than once; step names must be unique.", st.Name)
		}
		names[st.Name] = st
	}
	stepRef := func(field, v string, st *Step) error {
		if _, ok := names[v]; !ok {
			return invalid("Step %s: %s refers to step %s, which is not defined in the document.", st.Name, field, v)
		}
		return nil
	}
	for i := range d.Steps {
		st := &d.Steps[i]
		switch {
		case st.Action == "":
			return invalid("Step %s has no action.", st.Name)
		case !slices.Contains(runnable, st.Action) && !slices.Contains(knownActions, st.Action):
			return invalid("Step %s: action %s is not a valid Automation action.", st.Name, st.Action)
		}
		if st.NextStep != "" {
			if err := stepRef("nextStep", st.NextStep, st); err != nil {
				return err
			}
		}
		for field, v := range map[string]string{"onFailure": st.OnFailure, "onCancel": st.OnCancel} {
			switch {
			case v == "" || v == "Abort" || (v == "Continue" && field == "onFailure"):
			case strings.HasPrefix(v, "step:"):
				if err := stepRef(field, strings.TrimPrefix(v, "step:"), st); err != nil {
					return err
				}
			default:
				return invalid("Step %s: %s %q is not valid; use Abort, %sstep:StepName.", st.Name, field, v,
					map[bool]string{true: "Continue or ", false: ""}[field == "onFailure"])
			}
		}
		if st.MaxAttempts < 0 || st.TimeoutSeconds < 0 {
			return invalid("Step %s: maxAttempts and timeoutSeconds must be positive.", st.Name)
		}
		for _, o := range st.Outputs {
			if o.Name == "" || o.Selector == "" {
				return invalid("Step %s: every output needs a Name and a Selector.", st.Name)
			}
			if !slices.Contains(paramTypes, o.Type) {
				return invalid("Step %s: output %s has type %q; the type must be one of %s.", st.Name, o.Name, o.Type, strings.Join(paramTypes, ", "))
			}
			if !strings.HasPrefix(o.Selector, "$") {
				return invalid("Step %s: output %s selector %q must start with $.", st.Name, o.Name, o.Selector)
			}
		}
		if err := checkInputs(st, names); err != nil {
			return err
		}
	}
	// Every variable used must be defined.
	refs := map[string]bool{}
	collectRefs(d.AssumeRole, refs)
	for i := range d.Steps {
		collectRefs(d.Steps[i].Inputs, refs)
	}
	for _, o := range d.Outputs {
		refs[o] = true
	}
	for _, r := range slices.Sorted(mapKeys(refs)) {
		if !d.defined(r, names) {
			return invalid("Variable {{ %s }} is used, but it is not a parameter, a step output or an automation variable defined in the document.", r)
		}
	}
	return nil
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// builtins are the automation and global variables every execution defines.
var builtins = []string{"automation:EXECUTION_ID", "automation:AUTOMATION_EXECUTION_ID", "global:ACCOUNT_ID",
	"global:REGION", "global:DATE_TIME", "global:DATE", "global:AWS_PARTITION"}

func (d *Definition) defined(ref string, steps map[string]*Step) bool {
	if _, ok := d.params[ref]; ok || slices.Contains(builtins, ref) {
		return true
	}
	step, out, ok := strings.Cut(ref, ".")
	if !ok {
		return false
	}
	st := steps[step]
	if st == nil {
		return false
	}
	for _, o := range st.Outputs {
		if o.Name == out {
			return true
		}
	}
	return false
}

// collectRefs adds the variables referred to in v's strings.
func collectRefs(v any, refs map[string]bool) {
	switch x := v.(type) {
	case string:
		for _, m := range refRE.FindAllStringSubmatch(x, -1) {
			refs[m[1]] = true
		}
	case map[string]any:
		for _, e := range x {
			collectRefs(e, refs)
		}
	case []any:
		for _, e := range x {
			collectRefs(e, refs)
		}
	}
}

// checkInputs checks an action's required inputs.
func checkInputs(st *Step, names map[string]*Step) error {
	need := func(keys ...string) error {
		for _, k := range keys {
			if _, ok := st.Inputs[k]; !ok {
				return invalid("Step %s: action %s requires input %s.", st.Name, st.Action, k)
			}
		}
		return nil
	}
	switch st.Action {
	case ActionExecuteAPI:
		return need("Service", "Api")
	case ActionAssert, ActionWait:
		if err := need("Service", "Api", "PropertySelector", "DesiredValues"); err != nil {
			return err
		}
		if _, ok := st.Inputs["DesiredValues"].([]any); !ok && !isRef(st.Inputs["DesiredValues"]) {
			return invalid("Step %s: DesiredValues must be a list.", st.Name)
		}
	case ActionSleep:
		_, dur := st.Inputs["Duration"]
		_, ts := st.Inputs["Timestamp"]
		if dur == ts {
			return invalid("Step %s: aws:sleep needs exactly one of Duration and Timestamp.", st.Name)
		}
		if s, ok := st.Inputs["Duration"].(string); ok && !isRef(s) {
			if _, err := parseDuration(s); err != nil {
				return invalid("Step %s: %v", st.Name, err)
			}
		}
	case ActionBranch:
		choices, ok := st.Inputs["Choices"].([]any)
		if !ok || len(choices) == 0 {
			return invalid("Step %s: aws:branch requires a non-empty list of Choices.", st.Name)
		}
		for i, c := range choices {
			cm, ok := c.(map[string]any)
			if !ok {
				return invalid("Step %s: choice %d must be an object.", st.Name, i+1)
			}
			next, _ := cm["NextStep"].(string)
			if next == "" {
				return invalid("Step %s: choice %d has no NextStep.", st.Name, i+1)
			}
			if names[next] == nil {
				return invalid("Step %s: choice %d refers to step %s, which is not defined in the document.", st.Name, i+1, next)
			}
			if err := checkCondition(cm); err != nil {
				return invalid("Step %s: choice %d: %v", st.Name, i+1, err)
			}
		}
		if def, ok := st.Inputs["Default"]; ok {
			s, _ := def.(string)
			if names[s] == nil {
				return invalid("Step %s: Default refers to step %v, which is not defined in the document.", st.Name, def)
			}
		}
	}
	return nil
}

// operators are aws:branch's comparison operators.
var operators = []string{"StringEquals", "EqualsIgnoreCase", "StartsWith", "EndsWith", "Contains",
	"NumericEquals", "NumericGreater", "NumericLesser", "NumericGreaterOrEquals", "NumericLesserOrEquals", "BooleanEquals"}

// checkCondition checks one branch condition: a Variable with one operator, or And, Or, Not.
func checkCondition(c map[string]any) error {
	var ops []string
	for k := range c {
		if slices.Contains(operators, k) || k == "And" || k == "Or" || k == "Not" {
			ops = append(ops, k)
		}
	}
	if len(ops) != 1 {
		return fmt.Errorf("a choice needs exactly one operator (%s, And, Or or Not), found %d", strings.Join(operators, ", "), len(ops))
	}
	switch ops[0] {
	case "And", "Or":
		list, ok := c[ops[0]].([]any)
		if !ok || len(list) == 0 {
			return fmt.Errorf("%s must be a non-empty list of conditions", ops[0])
		}
		for _, e := range list {
			m, ok := e.(map[string]any)
			if !ok {
				return fmt.Errorf("%s must be a list of conditions", ops[0])
			}
			if err := checkCondition(m); err != nil {
				return err
			}
		}
	case "Not":
		m, ok := c["Not"].(map[string]any)
		if !ok {
			return fmt.Errorf("not must be one condition")
		}
		return checkCondition(m)
	default:
		if _, ok := c["Variable"]; !ok {
			return fmt.Errorf("operator %s needs a Variable", ops[0])
		}
	}
	return nil
}

func isRef(v any) bool {
	s, ok := v.(string)
	return ok && refRE.MatchString(s)
}

// scalarString is the string form of a scalar value (numbers without exponent).
func scalarString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		if x == float64(int64(x)) {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	case bool, int, int64, uint64:
		return fmt.Sprint(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
