//go:build !linux

package storage

// diskFree reports the free space as unknown: the store's disk guard
// (diskguard.go) works on Linux only.
func diskFree(string) (uint64, bool, error) { return 0, false, nil }

// preallocate does nothing here: see diskfree_linux.go.
func preallocate(string) (done, full bool) { return true, false }
