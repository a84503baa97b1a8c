// Package registry holds the operation registry of an alknet/call node and its one dispatch
// core.
//
// An operation is described by an [OperationSpec] (name, type, visibility, JSON Schemas, error
// schemas, access control) and served by a [Handler] or [StreamHandler]. The assembly layer
// bundles both with provenance, composition authority, reachability scope and capabilities into
// a [HandlerRegistration]; that bundle is the only place where trust enters the system
// (REG-R8).
//
// Registrations live in three layers: Layer 0, the curated [Registry] built once with a
// [Builder] and immutable afterwards (the only layer a wire call can reach, REG-R20); Layer 1,
// a per-session [SessionOverlay]; and Layer 2, a per-connection [ImportedSet] of operations
// imported from a peer. Every invocation — a wire call entering through [Registry.ServeCall] or
// [Registry.ServeSubscribe], or a composed call made through a handler's [Env] — runs the same
// check sequence (DSP-R1): reachability, name, resolution, visibility, access control, handler
// kind, input schema, deadline, and only then the handler, with the capabilities of the
// executing registration attached.
//
// Access control always looks at the direct caller ([OperationContext.Identity]): the
// authenticated identity for a wire call, the parent's [CompositionAuthority] for a composed
// one. A forwarded caller claim is a [ForwardedIdentity], a distinct type that
// [AccessControl.Check] cannot accept (ACL-R7, FWD-R2).
package registry
