package registry

// Limits on what keyless reads back from a registry, so that a hostile or
// broken registry cannot exhaust memory or time.
const (
	// MaxSignatures is the most signatures (referrers or .sig layers) read
	// per subject: far more than any real image carries.
	MaxSignatures = 64
	// MaxBlobSize caps one bundle or simple-signing payload; real ones are
	// a few KiB.
	MaxBlobSize = 1 << 20
)
