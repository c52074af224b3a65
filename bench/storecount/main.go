// Command storecount counts the events of one bucket in a katalys store
// directory, for bench/collect.sh. Caddy must be stopped first: Badger
// holds the directory exclusively.
//
//	storecount -dir DIR -bucket KA-7Q2M9X4B1Z
//
// prints one "<type> <count>" line per event type, then "total <count>",
// then "orders <count>" (the bucket's captured orders).
package main

import (
	"flag"
	"fmt"
	"log"
	"sort"
	"time"

	"github.com/storeedge/caddy-katalys/storage"
)

func main() {
	dir := flag.String("dir", "", "the store directory")
	bucket := flag.String("bucket", "", "the bucket whose events are counted")
	flag.Parse()
	if *dir == "" || *bucket == "" {
		log.Fatal("storecount: -dir and -bucket are required")
	}
	st, err := storage.Open(storage.Options{Dir: *dir})
	if err != nil {
		log.Fatalf("storecount: %v", err)
	}
	counts := map[string]int{}
	total := 0
	err = st.Events(*bucket, time.Time{}, time.Time{}, func(ev storage.Event) error {
		counts[ev.Type]++
		total++
		return nil
	})
	orders := 0
	if err == nil {
		err = st.Orders(*bucket, func(storage.Order) error { orders++; return nil })
	}
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		log.Fatalf("storecount: %v", err)
	}
	types := make([]string, 0, len(counts))
	for t := range counts {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		fmt.Printf("%s %d\n", t, counts[t])
	}
	fmt.Printf("total %d\n", total)
	fmt.Printf("orders %d\n", orders)
}
