package vault

// SeedBuffer returns a slice aliasing the vault's seed, or nil while locked
// (white-box hook for VAULT-T41 and VAULT-T42).
func SeedBuffer(v *Vault) []byte {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seed == nil {
		return nil
	}
	return v.seed.b
}

// CacheLen returns the number of cached keys (VAULT-R83).
func CacheLen(v *Vault) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cache == nil {
		return 0
	}
	return v.cache.Len()
}

// CacheBuffers returns slices aliasing every cached private key.
func CacheBuffers(v *Vault) [][]byte {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cache == nil {
		return nil
	}
	return v.cache.Buffers()
}

// SetRotateHook installs a function that sees Rotate's intermediate
// plaintext before it is wiped.
func SetRotateHook(v *Vault, f func([]byte)) { v.rotateHook = f }
