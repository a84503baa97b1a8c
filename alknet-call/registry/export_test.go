package registry

// CompileCount reports how many schema documents Build compiled for r (test 96).
func CompileCount(r *Registry) int { return r.compiles }

// ImportedCompileCount reports how many schema documents s compiled (test 96).
func ImportedCompileCount(s *ImportedSet) int { return int(s.compiles.Load()) }

// InflightSize reports the number of indexed invocations (test 86).
func InflightSize(r *Registry) int { return r.inflight.size() }

// CheckSchemaLimits exposes the VAL-R10 scan.
var CheckSchemaLimits = checkSchemaLimits

// ValidTraceParent exposes the traceparent check.
var ValidTraceParent = validTraceParent

// CompiledOf returns the compiled spec a layer stored on reg.
func CompiledOf(reg *HandlerRegistration) *CompiledSpec { return reg.compiled }
