package module

import (
	"time"

	"github.com/storeedge/caddy-katalys/attribution"
	"github.com/storeedge/caddy-katalys/storage"
)

// attributeOrder decides the attribution of o, a stored order of its
// bucket, from its visitor's clicks in that bucket alone, and stores it
// (a previous decision is kept beside it). The store reads the order
// again and decides under its order lock (Store.AttributeOrder), so a
// status change racing a new view of the page never leaves a decision
// made from the older copy.
func attributeOrder(st *storage.Store, rules attribution.Rules, o storage.Order, now time.Time) (attribution.Result, error) {
	res, err := st.AttributeOrder(o.Bucket, o.ID, rules, now)
	if err != nil {
		return attribution.Result{}, err
	}
	metrics.attributions.WithLabelValues(string(res.Status)).Inc()
	return res, nil
}
