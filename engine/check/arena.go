package check

// Arena keeps records of one type in fixed-size chunks: appending never
// moves what is already stored (pointers to records stay valid), never
// copies a large backing array as a growing slice does, and gives the
// garbage collector a few large objects instead of many small ones.
type Arena[T any] struct {
	chunks [][]T
	n      int
}

const arenaChunk = 4096

// Add stores v and returns a pointer to the stored record.
func (a *Arena[T]) Add(v T) *T {
	c := a.n / arenaChunk
	if c == len(a.chunks) {
		a.chunks = append(a.chunks, make([]T, 0, arenaChunk))
	}
	a.chunks[c] = append(a.chunks[c], v)
	a.n++
	return &a.chunks[c][len(a.chunks[c])-1]
}

// At returns record i (0 <= i < len()).
func (a *Arena[T]) At(i int) *T { return &a.chunks[i/arenaChunk][i%arenaChunk] }

func (a *Arena[T]) Len() int { return a.n }
