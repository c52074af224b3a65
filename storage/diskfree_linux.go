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
// writes through a memory mapping of it cannot fault on a full disk. done
// reports that there is nothing more to do for the file: allocated, or on
// a filesystem that cannot allocate ahead. full reports that the
// filesystem (or a quota) had no room for it. A file not sized yet (Badger
// creates it empty, then sizes it) is neither.
func preallocate(path string) (done, full bool) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return false, false
	}
	switch err := syscall.Fallocate(int(f.Fd()), 0, 0, fi.Size()); {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return false, true
	default:
		return true, false
	}
}
