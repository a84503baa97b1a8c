package node_test

import "github.com/alknet/alknet/alknet-core/auth"

func authToken(s string) auth.AuthToken { return auth.NewAuthToken([]byte(s)) }
