package framework

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/defenseunicorns/go-oscal/src/pkg/validation"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// maxProblems is how many schema violations an error lists.
const maxProblems = 5

// compiled caches each OSCAL schema once compiled: compiling the complete
// schema takes a tenth of a second, validating NIST High about as long, and
// go-oscal's Validator would compile it again for every file.
var compiled sync.Map // schema version -> *schemaOnce

type schemaOnce struct {
	once sync.Once
	sch  *jsonschema.Schema
	err  error
}

// Schema returns the compiled official OSCAL schema of version v (such as
// "1.1.2"), as go-oscal ships it, compiled once per process. It is the
// complete schema: it accepts any OSCAL model at the top level.
func Schema(v string) (*jsonschema.Schema, error) {
	s, _ := compiled.LoadOrStore(v, &schemaOnce{})
	so := s.(*schemaOnce)
	so.once.Do(func() {
		// go-oscal hands out its embedded schema through the parameters of a
		// validator; the document it is given only has to name a model.
		val, err := validation.NewValidatorDesiredVersion(map[string]any{"catalog": map[string]any{}}, v)
		if err != nil {
			so.err = err
			return
		}
		p, err := val.GetValidationParams()
		if err != nil {
			so.err = err
			return
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource(p.SchemaPath, p.SchemaData); err != nil {
			so.err = err
			return
		}
		so.sch, so.err = c.Compile(p.SchemaPath)
	})
	return so.sch, so.err
}

// validate checks doc against the OSCAL schema of version schemaVersion.
func validate(doc map[string]any, oscalVersion, schemaVersion string) error {
	sch, err := Schema(schemaVersion)
	if err != nil {
		return fmt.Errorf("loading the OSCAL %s schema: %w", schemaVersion, err)
	}
	err = sch.Validate(any(doc))
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("checking against the OSCAL %s schema: %w", schemaVersion, err)
	}
	found := validation.ExtractErrors(doc, ve.DetailedOutput())
	type problem struct{ path, text string }
	var problems []problem
	seen := map[string]bool{}
	for _, f := range found {
		// A catalog is checked against every model of the complete schema;
		// what the other models say about the top level is noise.
		if !strings.HasPrefix(f.InstanceLocation, "/catalog") {
			continue
		}
		path, control := locate(doc, f.InstanceLocation)
		where := path
		if control != "" {
			where += " (" + control + ")"
		}
		msg, _ := strconv.Unquote(f.Error)
		if msg == "" {
			msg = f.Error
		}
		p := where + ": " + msg
		if seen[p] {
			continue
		}
		seen[p] = true
		problems = append(problems, problem{path, p})
	}
	if len(problems) == 0 {
		problems = append(problems, problem{"", "the document as a whole: " + ve.Error()})
	}
	slices.SortStableFunc(problems, func(a, b problem) int { return Natural(a.text, b.text) })
	more := ""
	if len(problems) > maxProblems {
		more = fmt.Sprintf(" (the first %d of %d problems are below)", maxProblems, len(problems))
		problems = problems[:maxProblems]
	}
	texts := make([]string, len(problems))
	for i, p := range problems {
		texts[i] = p.text
	}
	schemaNote := "OSCAL " + oscalVersion
	if schemaVersion != oscalVersion {
		schemaNote += " (checked against the " + schemaVersion + " schema)"
	}
	e := parseErr(ErrSchema, problems[0].path, "The catalog does not follow the schema of %s%s", schemaNote, more)
	e.Problems = texts
	return e
}

// locate turns a JSON pointer (/catalog/groups/3/controls/12/title) into a
// path a person reads (catalog.groups[3].controls[12].title), and names the
// innermost control on the way.
func locate(doc map[string]any, pointer string) (path, control string) {
	var b strings.Builder
	var cur any = doc
	for i, tok := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch v := cur.(type) {
		case []any:
			n, err := strconv.Atoi(tok)
			b.WriteString("[" + tok + "]")
			if err != nil || n < 0 || n >= len(v) {
				cur = nil
				continue
			}
			cur = v[n]
			if m, ok := cur.(map[string]any); ok && strings.HasSuffix(b.String(), "controls["+tok+"]") {
				if id := controlID(m); id != "" {
					control = id
				}
			}
		case map[string]any:
			if i > 0 {
				b.WriteString(".")
			}
			b.WriteString(tok)
			cur = v[tok]
		default:
			if i > 0 {
				b.WriteString(".")
			}
			b.WriteString(tok)
			cur = nil
		}
	}
	return b.String(), control
}
