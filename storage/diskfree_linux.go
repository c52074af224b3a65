package storage

import (
	"errors"
	"os"
	"syscall"
)

// diskFree returns the bytes of dir's filesystem that an unprivileged
// process may still use, and true.
func diskFree(dir string) (uint64, bool, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false, err
	}
	return st.Bavail * uint64(st.Bsize), true, nil
}

// preallocate gives every block of file path to it (fallocate), so that
// writes through a memory mapping of it cannot fault on a full disk. It
// reports full when the filesystem had no room for them; a filesystem
// that cannot allocate ahead (or a file gone meanwhile) is left as it is.
func preallocate(path string) (full bool) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return false
	}
	return errors.Is(syscall.Fallocate(int(f.Fd()), 0, 0, fi.Size()), syscall.ENOSPC)
}
