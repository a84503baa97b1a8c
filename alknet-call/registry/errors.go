package registry

// RegistrationError reports a registration that a layer refused (REG-R10): Code is
// CodeInvalidRegistration or CodeSchemaInvalid, Op names the operation.
type RegistrationError struct {
	Code string
	Op   string
	Err  error // what is wrong; may join several causes
}

// Error names the operation and every reason.
func (e *RegistrationError) Error() string {
	op := e.Op
	if op == "" {
		op = "<unnamed>"
	}
	return "registry: operation " + truncateName(op) + ": " + e.Err.Error()
}

// ErrorCode returns e.Code.
func (e *RegistrationError) ErrorCode() string { return e.Code }

// Unwrap returns the cause.
func (e *RegistrationError) Unwrap() error { return e.Err }

// CollisionError reports a name registered twice in one layer (REG-R14, REG-R18). Adapters map
// it to a same-peer collision.
type CollisionError struct{ Op string }

// Error names the operation.
func (e *CollisionError) Error() string {
	return "registry: operation " + truncateName(e.Op) + " is registered twice"
}

// ErrorCode returns CodeCollision.
func (e *CollisionError) ErrorCode() string { return CodeCollision }

// Error is a coded failure of a registry container (an ImportedSet or a PeerSet).
type Error struct {
	Code    string
	Message string
}

// Error returns "registry: " + Message.
func (e *Error) Error() string { return "registry: " + e.Message }

// ErrorCode returns e.Code.
func (e *Error) ErrorCode() string { return e.Code }

// Is matches any *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

var (
	// ErrSetClosed is returned by ImportedSet.Register and Replace after Close (REG-R19).
	ErrSetClosed = &Error{Code: CodeSetClosed, Message: "imported set is closed"}
	// ErrEmptyPeerID is returned by PeerSet.Attach for an empty id (ROUTE-R2).
	ErrEmptyPeerID = &Error{Code: CodePeerAttach, Message: "empty peer id"}
	// ErrConnectionEnded is returned by PeerSet.AttachConnection for an ended connection (ROUTE-R17).
	ErrConnectionEnded = &Error{Code: CodePeerAttach, Message: "connection already ended"}
)
