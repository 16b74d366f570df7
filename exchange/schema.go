package exchange

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/defenseunicorns/go-oscal/src/pkg/validation"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/srmhq/srm"
)

// ErrSchema is wrapped by ValidateSSP's error when the document breaks
// the OSCAL schema; it wraps srm.ErrInvalid.
var ErrSchema = fmt.Errorf("the document does not follow the OSCAL %s schema: %w", OSCALVersion, srm.ErrInvalid)

// schemaOnce compiles the official OSCAL schema once (a tenth of a second;
// go-oscal's own Validator would compile it for every document), as the
// framework package does for catalogs.
var schemaOnce = sync.OnceValues(func() (*jsonschema.Schema, error) {
	// go-oscal hands out its embedded schema through the parameters of a
	// validator; the document it is given only has to name a model.
	val, err := validation.NewValidatorDesiredVersion(map[string]any{"system-security-plan": map[string]any{}}, OSCALVersion)
	if err != nil {
		return nil, err
	}
	p, err := val.GetValidationParams()
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(p.SchemaPath, p.SchemaData); err != nil {
		return nil, err
	}
	return c.Compile(p.SchemaPath)
})

func validateOSCAL(doc map[string]any) error {
	sch, err := schemaOnce()
	if err != nil {
		return fmt.Errorf("loading the OSCAL %s schema: %w", OSCALVersion, err)
	}
	err = sch.Validate(any(doc))
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("checking against the OSCAL %s schema: %w", OSCALVersion, err)
	}
	var problems []string
	for _, f := range validation.ExtractErrors(doc, ve.DetailedOutput()) {
		// The complete schema offers every model; what the others say
		// about the top level is noise.
		if !strings.HasPrefix(f.InstanceLocation, "/system-security-plan") {
			continue
		}
		msg, _ := strconv.Unquote(f.Error)
		if msg == "" {
			msg = f.Error
		}
		p := f.InstanceLocation + ": " + msg
		if !slices.Contains(problems, p) {
			problems = append(problems, p)
		}
	}
	if len(problems) == 0 {
		problems = append(problems, ve.Error())
	}
	more := ""
	if len(problems) > 5 {
		more = fmt.Sprintf(" (first 5 of %d)", len(problems))
		problems = problems[:5]
	}
	return fmt.Errorf("%w%s: %s", ErrSchema, more, strings.Join(problems, "; "))
}
