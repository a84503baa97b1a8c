package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"

	"github.com/alknet/alknet/alknet-core/alkerr"
)

// problems collects validation findings in document order.
type problems []string

func (p *problems) add(path, msg string) { *p = append(*p, path+": "+msg) }

// err returns nil or one CONFIG_INVALID error listing every problem.
func (p problems) err(what string) error {
	if len(p) == 0 {
		return nil
	}
	return alkerr.New(alkerr.CodeConfigInvalid, "invalid "+what+": "+strings.Join(p, "; "))
}

// addValidator runs the struct tags of v and records each failure under its path without the
// root type name. validator's own messages (which use Go field names and internal wording)
// never reach the user.
func (p *problems) addValidator(v *validator.Validate, s any) {
	err := v.Struct(s)
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		if err != nil {
			p.add("(config)", "cannot be validated")
		}
		return
	}
	for _, fe := range verrs {
		path := fe.Namespace()
		if i := strings.IndexByte(path, '.'); i >= 0 {
			path = path[i+1:]
		}
		p.add(path, describe(fe))
	}
}

func describe(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "required"
	case "hostport":
		return fmt.Sprintf("%q is not host:port", fe.Value())
	case "gte":
		return "must be at least " + fe.Param()
	case "lte":
		return "must be at most " + fe.Param()
	case "eq=0|gte=3":
		return "must be 0 (the default) or at least 3"
	}
	return "fails rule " + fe.Tag()
}

func newValidator(jsonNames bool) *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	if jsonNames {
		v.RegisterTagNameFunc(func(f reflect.StructField) string {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				return ""
			}
			if name == "" {
				return f.Name
			}
			return name
		})
	}
	if err := v.RegisterValidation("hostport", func(fl validator.FieldLevel) bool {
		return validHostPort(fl.Field().String())
	}); err != nil {
		panic(err) // a bad tag name is a programming error
	}
	return v
}

// The validators are built once and then only read (validator.Validate is safe for
// concurrent use).
var (
	goNames   = sync.OnceValue(func() *validator.Validate { return newValidator(false) })
	jsonNames = sync.OnceValue(func() *validator.Validate { return newValidator(true) })
)
