package discovery

import "github.com/alknet/alknet/alknet-core/secret"

// secretNone is the empty capability set: the built-ins hold no credentials (DISC-R1).
func secretNone() secret.Capabilities { return secret.Capabilities{} }
