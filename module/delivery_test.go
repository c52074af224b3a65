package module

import (
	"context"
	"testing"
	"time"

	"github.com/storeedge/caddy-katalys/capture"
	"github.com/storeedge/caddy-katalys/delivery"
	"github.com/storeedge/caddy-katalys/storage"
)

// TestPayloadAttributesAnUnattributedOrder: an order's outbox entry is
// committed with the order, before the order is attributed; a delivery
// that comes in between (or after a crash in between) attributes it
// first, so the conversion carries the transaction_id it has earned.
func TestPayloadAttributesAnUnattributedOrder(t *testing.T) {
	app, st, _ := clickedOrderApp(t)
	p := storePayloads{st: st, rules: app.Rules}
	payload, err := p.Payload(delivery.Entry{Bucket: "KA-1", OrderID: "1042", Kind: delivery.KindOrder})
	if err != nil {
		t.Fatal(err)
	}
	if payload["transaction_id"] != "TX-1" {
		t.Errorf("payload %v: transaction_id %v, want TX-1", payload, payload["transaction_id"])
	}
	if rec, ok, err := st.GetAttribution("KA-1", "1042"); err != nil || !ok || rec.Current.TransactionID != "TX-1" {
		t.Errorf("stored attribution %+v (found %v, %v), want the decision the payload carries", rec.Current, ok, err)
	}
}

// TestPayloadDecidesAStatusChangeAgain: a status change is stored, with its
// outbox entry, before the order is decided again; a delivery that comes in
// between builds the payload from a fresh decision, so a refund does not go
// out still crediting the click.
func TestPayloadDecidesAStatusChangeAgain(t *testing.T) {
	app, st, at := clickedOrderApp(t)
	if _, err := st.AttributeOrder("KA-1", "1042", app.Rules("KA-1"), at.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// The refund, stored; the admin endpoint has not decided again yet.
	if _, err := st.SetOrderStatus("KA-1", "1042", "refunded", at.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	p := storePayloads{st: st, rules: app.Rules}
	payload, err := p.Payload(delivery.Entry{Bucket: "KA-1", OrderID: "1042", Kind: delivery.KindStatus, Status: "refunded"})
	if err != nil {
		t.Fatal(err)
	}
	if tx, ok := payload["transaction_id"]; ok {
		t.Errorf("refund payload %v still credits %v", payload, tx)
	}
	if rec, _, err := st.GetAttribution("KA-1", "1042"); err != nil || rec.Current.Status != "rejected" {
		t.Errorf("stored attribution %s, %v; want rejected", rec.Current.Status, err)
	}
}

// TestStatusPayloadCarriesTheStatusNow: a status change's payload says the
// order's status when it is sent. A "paid" that Katalys refused, retried
// from the dead letters after the "refunded" that followed it went out,
// told Katalys the order was paid after all.
func TestStatusPayloadCarriesTheStatusNow(t *testing.T) {
	app, st, at := clickedOrderApp(t)
	for i, status := range []string{"paid", "refunded"} {
		if _, err := st.SetOrderStatus("KA-1", "1042", status, at.Add(time.Duration(2+i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	p := storePayloads{st: st, rules: app.Rules}
	payload, err := p.Payload(delivery.Entry{Bucket: "KA-1", OrderID: "1042", Kind: delivery.KindStatus, Status: "paid"})
	if err != nil {
		t.Fatal(err)
	}
	if got := payload["order_status"]; got != "refunded" {
		t.Errorf("the paid entry's payload says order_status %v, want refunded", got)
	}
	if tx, ok := payload["transaction_id"]; ok {
		t.Errorf("the payload still credits %v", tx)
	}
}

// clickedOrderApp starts an app whose store holds a click of visitor v1 an
// hour ago (TX-1 of pub-7) and, a minute later, that visitor's order 1042,
// not yet attributed. It returns the click's time.
func clickedOrderApp(t *testing.T) (*App, *storage.Store, time.Time) {
	t.Helper()
	app := startedApp(t, adminBuckets)
	st := app.Store()
	at := time.Now().Add(-time.Hour)
	click := storage.Event{Bucket: "KA-1", Time: at, Type: "click", Visitor: "v1",
		Fields: map[string]string{"transaction_id": "TX-1", "offer_id": "of-1", "publisher_id": "pub-7"}}
	if err := st.Write(context.Background(), []storage.Event{click}); err != nil {
		t.Fatal(err)
	}
	o := storage.Order{Bucket: "KA-1", Visitor: "v1", Time: at.Add(time.Minute),
		Order: capture.Order{ID: "1042", Total: capture.Money(20)}}
	if _, _, err := st.PutOrder(o); err != nil {
		t.Fatal(err)
	}
	return app, st, at
}
