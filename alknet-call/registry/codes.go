package registry

// Stable error codes of package registry. Never rename or reuse one; each is listed in
// docs/errors.md.
const (
	// CodeInvalidRegistration: a registration breaks REG-R1..R23 (Builder.Build, overlays).
	CodeInvalidRegistration = "REGISTRY_INVALID_REGISTRATION"
	// CodeSchemaInvalid: a schema breaks VAL-R10 or does not compile under VAL-R2..R6.
	CodeSchemaInvalid = "REGISTRY_SCHEMA_INVALID"
	// CodeCollision: a name is registered twice in one layer (REG-R14, REG-R18).
	CodeCollision = "REGISTRY_COLLISION"
	// CodeSetClosed: the ImportedSet's connection is gone (REG-R19).
	CodeSetClosed = "REGISTRY_SET_CLOSED"
	// CodePeerAttach: a PeerSet attachment was refused (empty id, ended connection; ROUTE-R2, R17).
	CodePeerAttach = "REGISTRY_PEER_ATTACH"
)

// Codes returns every stable code of this package.
func Codes() []string {
	return []string{CodeInvalidRegistration, CodeSchemaInvalid, CodeCollision, CodeSetClosed, CodePeerAttach}
}
