package module

import (
	"strings"
	"sync"

	"github.com/storeedge/caddy-katalys/inject"
)

// maxSnippets bounds the snippet cache. With declared buckets it never
// fills; with none, a {host} site id makes every host a bucket, and hosts
// come from requests.
const maxSnippets = 256

// snippetCache keeps the snippet (without nonce) of each bucket, so that a
// request builds none. It is shared by the requests of one handler and
// holds no per-request state.
type snippetCache struct {
	src string // the handler's script_src
	mu  sync.RWMutex
	m   map[snippetKey]inject.Snippet
}

// snippetKey names a cached snippet: a bucket's, for thank-you pages
// (inject.NewThankYouSnippet) or other pages.
type snippetKey struct {
	bucket   string
	thankYou bool
}

func newSnippetCache(src string) *snippetCache {
	return &snippetCache{src: src, m: make(map[snippetKey]inject.Snippet)}
}

// get returns the snippet of bucket, building it on first use. Once the
// cache is full, further buckets get a snippet built per request.
func (c *snippetCache) get(bucket string) inject.Snippet {
	return c.lookup(snippetKey{bucket: bucket})
}

// thankYou returns the thank-you page snippet of bucket.
func (c *snippetCache) thankYou(bucket string) inject.Snippet {
	return c.lookup(snippetKey{bucket: bucket, thankYou: true})
}

func (c *snippetCache) lookup(k snippetKey) inject.Snippet {
	c.mu.RLock()
	s, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return s
	}
	if k.thankYou {
		s = inject.NewThankYouSnippet(k.bucket, c.src, "")
	} else {
		s = inject.NewSnippet(k.bucket, c.src, "")
	}
	c.mu.Lock()
	if len(c.m) < maxSnippets {
		c.m[k] = s
	}
	c.mu.Unlock()
	return s
}

// onceSet remembers up to max keys, to do something (log a warning) once
// per key. When full it reports every new key as already seen: the warning
// stops, the metric that goes with it keeps counting.
type onceSet struct {
	max  int
	mu   sync.Mutex
	seen map[string]struct{}
}

// maxKeyLen bounds the bytes of a key kept (keys hold request hosts).
const maxKeyLen = 256

func newOnceSet(max int) *onceSet {
	return &onceSet{max: max, seen: make(map[string]struct{})}
}

// first reports whether key is new, and remembers it.
func (s *onceSet) first(key string) bool {
	if len(key) > maxKeyLen {
		key = strings.Clone(key[:maxKeyLen]) // do not pin a long header
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen[key]; ok || len(s.seen) >= s.max {
		return false
	}
	s.seen[key] = struct{}{}
	return true
}
