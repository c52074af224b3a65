package module

import (
	"fmt"
	"time"

	"github.com/storeedge/caddy-katalys/attribution"
	"github.com/storeedge/caddy-katalys/storage"
)

// attributeOrder decides the attribution of o, a stored order of its
// bucket, from its visitor's clicks in that bucket alone, and stores it
// (a previous decision is kept beside it). Every click of the visitor up
// to the order is read, so that the explanation lists the ones outside the
// window too; the per-visitor index keeps that independent of the size of
// the bucket.
func attributeOrder(st *storage.Store, rules attribution.Rules, o storage.Order, now time.Time) (attribution.Result, error) {
	var touches []attribution.Touch
	if o.Visitor != "" {
		var err error
		touches, err = st.VisitorTouches(o.Bucket, o.Visitor, time.Time{}, o.Time.Add(time.Second))
		if err != nil {
			return attribution.Result{}, fmt.Errorf("reading the clicks of visitor %s: %w", o.Visitor, err)
		}
	}
	res := attribution.Decide(attribution.Order{
		ID:         o.ID,
		Time:       o.Time,
		Visitor:    o.Visitor,
		Total:      o.Total,
		Status:     o.Status,
		StatusTime: o.StatusTime,
	}, touches, rules, now)
	if err := st.PutAttribution(o.Bucket, res); err != nil {
		return attribution.Result{}, err
	}
	metrics.attributions.WithLabelValues(string(res.Status)).Inc()
	return res, nil
}
