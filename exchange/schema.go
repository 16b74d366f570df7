package exchange

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/defenseunicorns/go-oscal/src/pkg/validation"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/srmhq/srm"
	"github.com/srmhq/srm/framework"
)

// ErrSchema is wrapped by ValidateSSP's error when the document breaks
// the OSCAL schema; it wraps srm.ErrInvalid.
var ErrSchema = fmt.Errorf("the document does not follow the OSCAL %s schema: %w", OSCALVersion, srm.ErrInvalid)

func validateOSCAL(doc map[string]any) error {
	sch, err := framework.Schema(OSCALVersion)
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
