package storage

import "syscall"

// diskFree returns the bytes of dir's filesystem that an unprivileged
// process may still use, and true.
func diskFree(dir string) (uint64, bool, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false, err
	}
	return st.Bavail * uint64(st.Bsize), true, nil
}
