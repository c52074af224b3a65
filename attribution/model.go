package attribution

import (
	"fmt"
	"time"
)

// Defaults for the zero values of Rules.
const (
	DefaultWindow       = 30 * 24 * time.Hour
	DefaultModel        = LastTouch
	DefaultRefundWindow = 60 * 24 * time.Hour
)

// ParseModel returns the Model named s, as a Caddyfile or the admin API
// spells it: "last_touch", "first_touch" or "linear".
func ParseModel(s string) (Model, error) {
	switch m := Model(s); m {
	case LastTouch, FirstTouch, Linear:
		return m, nil
	}
	return "", fmt.Errorf("unknown attribution model %q (want %s, %s or %s)", s, LastTouch, FirstTouch, Linear)
}

// withDefaults returns r with its zero (or negative) windows and its empty
// model set to the defaults. A model ParseModel would refuse also falls back
// to the default, so that Decide always has one to apply.
func (r Rules) withDefaults() Rules {
	if r.Window <= 0 {
		r.Window = DefaultWindow
	}
	if r.RefundWindow <= 0 {
		r.RefundWindow = DefaultRefundWindow
	}
	if _, err := ParseModel(string(r.Model)); err != nil {
		r.Model = DefaultModel
	}
	return r
}
