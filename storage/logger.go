package storage

import (
	"strings"

	"go.uber.org/zap"
)

// badgerLogger adapts zap to Badger's Logger, which wants Warningf where zap
// has Warnf. Badger narrates compactions and value-log replays at Info level;
// that is noise in a web server's log, so it goes to Debug.
type badgerLogger struct{ l *zap.SugaredLogger }

func (b badgerLogger) Errorf(f string, v ...any)   { b.l.Errorf(trimNewline(f), v...) }
func (b badgerLogger) Warningf(f string, v ...any) { b.l.Warnf(trimNewline(f), v...) }
func (b badgerLogger) Infof(f string, v ...any)    { b.l.Debugf(trimNewline(f), v...) }
func (b badgerLogger) Debugf(f string, v ...any)   { b.l.Debugf(trimNewline(f), v...) }

// trimNewline drops the trailing newline Badger puts on most formats, which
// would otherwise end up inside zap's message.
func trimNewline(f string) string { return strings.TrimRight(f, "\n") }
