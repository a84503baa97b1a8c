package vault

import (
	"strconv"

	"github.com/alknet/alknet/alknet-vault/internal/vaulterr"
)

// The alknet derivation paths (VAULT-R21), in canonical form. Coin type 74'
// is alknet's; m/74'/1'/… is retired and never reused (VAULT-R24).
const (
	// PathIdentity is the primary node identity key (Ed25519).
	PathIdentity = "m/74'/0'/0'/0'"
	// PathDevicePrefix is the prefix of [DevicePath].
	PathDevicePrefix = "m/74'/0'/0'"
	// PathSSHHost is the SSH host key (Ed25519).
	PathSSHHost = "m/74'/0'/1'/0'"
	// PathEncryption is the credential encryption key of key version 2.
	PathEncryption = "m/74'/2'/0'/0'"
	// PathEthereum is the standard BIP-44 Ethereum path (secp256k1; not
	// supported in v1, VAULT-R40).
	PathEthereum = "m/44'/60'/0'/0/0"
	// CurrentKeyVersion is the key version new credentials use (VAULT-R60).
	CurrentKeyVersion uint32 = 2
)

// maxKeyVersion is the largest usable key version: its path index is
// 2^31 - 1 (VAULT-R23).
const maxKeyVersion uint32 = 1<<31 + 1

// DevicePath returns m/74'/0'/0'/{n}' (VAULT-R22). DevicePath(0) is
// [PathIdentity]. n >= 2^31 is VAULT_INVALID_PATH.
func DevicePath(n uint32) (string, error) {
	if n >= 1<<31 {
		return "", vaulterr.New(vaulterr.CodeInvalidPath, "invalid derivation path: device index "+strconv.FormatUint(uint64(n), 10)+" is not below 2^31")
	}
	return PathDevicePrefix + "/" + strconv.FormatUint(uint64(n), 10) + "'", nil
}

// EncryptionPathForVersion returns m/74'/2'/0'/{v-2}' for 2 <= v <= 2^31+1
// (VAULT-R23). Version 1 (the retired PBKDF2 format of the TypeScript
// predecessor), 0 and larger versions are VAULT_INVALID_KEY_VERSION.
func EncryptionPathForVersion(v uint32) (string, error) {
	if err := checkKeyVersion(v); err != nil {
		return "", err
	}
	return "m/74'/2'/0'/" + strconv.FormatUint(uint64(v-2), 10) + "'", nil
}

func checkKeyVersion(v uint32) error {
	switch {
	case v == 1:
		return vaulterr.New(vaulterr.CodeInvalidKeyVersion,
			"invalid key version: version 1 is the retired PBKDF2 format of the TypeScript predecessor and cannot be used")
	case v == 0 || v > maxKeyVersion:
		return vaulterr.New(vaulterr.CodeInvalidKeyVersion,
			"invalid key version "+strconv.FormatUint(uint64(v), 10)+": want 2.."+strconv.FormatUint(uint64(maxKeyVersion), 10))
	}
	return nil
}
