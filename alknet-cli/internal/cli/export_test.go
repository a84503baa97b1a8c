package cli_test

import "github.com/alknet/alknet/alknet-cli/internal/config"

func templateForTest() string { return string(config.Template("127.0.0.1:4433")) }
