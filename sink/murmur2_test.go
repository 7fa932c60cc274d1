package sink

import (
	"math/rand/v2"
	"testing"

	"github.com/segmentio/kafka-go"
)

// The producer's murmur2 partitioning picks the partition kafka-go's
// Murmur2Balancer picks, for keys of every length around the word size and
// for partition counts from 1 to 64.
func TestMurmur2MatchesKafkaGo(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ids := make([]int, 64)
	for i := range ids {
		ids[i] = i
	}
	for i := 0; i < 20000; i++ {
		key := make([]byte, r.IntN(70))
		for j := range key {
			key[j] = byte(r.Uint32())
		}
		n := 1 + r.IntN(len(ids))
		want := kafka.Murmur2Balancer{}.Balance(kafka.Message{Key: key}, ids[:n]...)
		if got := murmur2Partition(key, n); got != want {
			t.Fatalf("key %x, %d partitions: partition %d; kafka-go chooses %d", key, n, got, want)
		}
	}
}

// BenchmarkMurmur2 partitions a 36-byte auditID over 6 partitions, as the
// producer does and through kafka-go's balancer.
func BenchmarkMurmur2(b *testing.B) {
	key := []byte("5c8d7f3e-8a51-4c9e-9d6b-0f6a2b7e1c44")
	ids := []int{0, 1, 2, 3, 4, 5}
	sum := 0
	b.Run("impl=auditstream", func(b *testing.B) {
		for b.Loop() {
			sum += murmur2Partition(key, len(ids))
		}
	})
	b.Run("impl=kafka-go", func(b *testing.B) {
		var bal kafka.Balancer = kafka.Murmur2Balancer{}
		msg := kafka.Message{Key: key}
		for b.Loop() {
			sum += bal.Balance(msg, ids...)
		}
	})
	if sum < 0 {
		b.Fatal(sum)
	}
}
