package sink

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	"github.com/segmentio/kafka-go/protocol/metadata"
	"github.com/segmentio/kafka-go/protocol/produce"
	"github.com/segmentio/kafka-go/protocol/rawproduce"

	"github.com/auditstream/auditstream/internal/freelist"
)

// producer sends a Deliver call's batched messages, of every topic at once,
// in one produce request per partition leader: each request carries one
// record batch per partition that broker leads. kafka-go's Writer sends one
// request per partition instead, and a chunk's events spread over every
// partition of every stage topic: with six partitions, the Writer's eighteen
// requests per chunk cost the plugin about a microsecond of CPU per event
// inside Fluent Bit (request set-up, goroutine hand-offs, syscalls), and the
// broker as much again. Partitioning and record encoding are kafka-go's own
// (its Balancer and protocol packages), so messages land where the Writer
// would have put them, in the same format.
//
// The one-message writer (Sink.alone) still goes through kafka-go's Writer:
// it is the rare path of messages too large to batch.
type producer struct {
	transport kafka.RoundTripper
	addr      net.Addr
	balancer  kafka.Balancer
	// murmur2 (balancer is kafka-go's Murmur2Balancer, set by init)
	// partitions keyed messages with murmur2Partition, which chooses as
	// balancer does, without its call.
	murmur2     bool
	acks        kafka.RequiredAcks
	compression kafka.Compression
	batchSize   int
	batchBytes  int
	timeout     time.Duration
	autoCreate  bool
	// encoders are batchEncoders (recordbatch.go) with the producer's
	// compression; buffers are requests' encoding buffers. Both are kept
	// from call to call.
	encoders freelist.List[*batchEncoder]
	buffers  freelist.List[[]byte]
}

// freeListSize is how many encoders and buffers a producer keeps: enough
// for the requests of a few concurrent flushes.
const freeListSize = 8

// maxPooledBuffer bounds the encoding buffers kept: a request holds at
// most maxRequestBytes of records, which compression may grow a little.
const maxPooledBuffer = maxRequestBytes + maxRequestBytes/4

// init readies p once its settings are filled in.
func (p *producer) init() *producer {
	p.encoders = freelist.New[*batchEncoder](freeListSize)
	p.buffers = freelist.New[[]byte](freeListSize)
	_, p.murmur2 = p.balancer.(kafka.Murmur2Balancer)
	return p
}

// buffer returns an empty buffer of at least n bytes' capacity.
func (p *producer) buffer(n int) []byte {
	if b, ok := p.buffers.Get(); ok && cap(b) >= n {
		return b[:0]
	}
	return make([]byte, 0, n)
}

func (p *producer) putBuffer(b []byte) {
	if cap(b) <= maxPooledBuffer {
		p.buffers.Put(b)
	}
}

func (p *producer) encoder() *batchEncoder {
	if e, ok := p.encoders.Get(); ok {
		return e
	}
	return &batchEncoder{compression: p.compression}
}

func (p *producer) putEncoder(e *batchEncoder) {
	if cap(e.raw) > maxPooledBuffer {
		e.raw = nil
	}
	p.encoders.Put(e)
}

// maxRequestBytes bounds the record batches of one produce request, far
// under the broker's socket.request.max.bytes (100 MiB by default): a
// request holds at most one batch per partition, each up to batch_bytes.
const maxRequestBytes = 16 << 20

// topicPlan is what write knows of one topic of a call.
type topicPlan struct {
	name string
	// ids are the partition numbers, 0 to n-1, as the Writer passes them to
	// its Balancer; leaders[p] leads partition p.
	ids     []int
	leaders []int32
	err     error
	// groups[p] is partition p's index in write's groups, or -1.
	groups []int
}

// partGroup is the messages of one call that go to one partition, in call
// order.
type partGroup struct {
	topic     int // index in write's topics
	partition int32
	leader    int32
	msgs      []int // indexes into write's msgs
	// next is the first message not yet placed in a request.
	next int
}

// write sends msgs (each with its Topic set, none larger than batchBytes
// save by the sink's mistake; meta[i] is what the sink knows of msgs[i],
// its size included) and stores each message's error in errs. It reports
// whether a request returned on ctx before its outcome was known, with
// kafka-go perhaps still reading the request it carries.
func (p *producer) write(ctx context.Context, msgs []kafka.Message, meta []msgMeta, errs []error) (early bool) {
	var topics []topicPlan
	var groups []partGroup
	for i := range msgs {
		t := p.plan(ctx, &topics, msgs[i].Topic)
		tp := &topics[t]
		if tp.err != nil {
			errs[i] = tp.err
			continue
		}
		var part int
		if p.murmur2 && msgs[i].Key != nil {
			part = tp.ids[murmur2Partition(msgs[i].Key, len(tp.ids))]
		} else {
			part = p.balancer.Balance(msgs[i], tp.ids...)
		}
		if part < 0 || part >= len(tp.ids) {
			errs[i] = fmt.Errorf("kafka: the balancer chose partition %d of %d", part, len(tp.ids))
			continue
		}
		g := tp.groups[part]
		if g < 0 {
			g = len(groups)
			tp.groups[part] = g
			groups = append(groups, partGroup{topic: t, partition: int32(part), leader: tp.leaders[part]})
		}
		groups[g].msgs = append(groups[g].msgs, i)
	}

	// A partition's batches go in successive rounds, each sent once the
	// one before has its answer, so that they are written in call order.
	var mu sync.Mutex
	for _, round := range p.rounds(msgs, meta, topics, groups) {
		var wg sync.WaitGroup
		for i := range round {
			run := func() {
				if round[i].early = p.roundTrip(ctx, &round[i], errs); round[i].early {
					mu.Lock()
					early = true
					mu.Unlock()
				}
			}
			if i == len(round)-1 {
				run() // the last, usually the only one, on this goroutine
			} else {
				wg.Go(run)
			}
		}
		wg.Wait()
		for i := range round {
			// kafka-go may still read the buffer of a request it was
			// not done with: that one is left to the collector.
			if !round[i].early {
				p.putBuffer(round[i].buf)
			}
		}
	}
	return early
}

// plan returns the index in topics of name, looking its metadata up the
// first time.
func (p *producer) plan(ctx context.Context, topics *[]topicPlan, name string) int {
	for i := range *topics {
		if (*topics)[i].name == name {
			return i
		}
	}
	tp := topicPlan{name: name}
	tp.ids, tp.leaders, tp.err = p.partitions(ctx, name)
	tp.groups = make([]int, len(tp.ids))
	for i := range tp.groups {
		tp.groups[i] = -1
	}
	*topics = append(*topics, tp)
	return len(*topics) - 1
}

// partitions asks for topic's partitions and their leaders, through the
// sink's metadata cache, as the Writer does (auto-creation included).
func (p *producer) partitions(ctx context.Context, topic string) (ids []int, leaders []int32, err error) {
	res, err := p.transport.RoundTrip(ctx, p.addr, &metadata.Request{
		TopicNames:             []string{topic},
		AllowAutoTopicCreation: p.autoCreate,
	})
	if err != nil {
		return nil, nil, err
	}
	meta, ok := res.(*metadata.Response)
	if !ok {
		return nil, nil, fmt.Errorf("kafka: unexpected metadata response %T", res)
	}
	for _, t := range meta.Topics {
		if t.Name != topic {
			continue
		}
		if t.ErrorCode != 0 {
			return nil, nil, kafka.Error(t.ErrorCode)
		}
		n := len(t.Partitions)
		if n == 0 {
			return nil, nil, kafka.UnknownTopicOrPartition
		}
		ids, leaders = make([]int, n), make([]int32, n)
		for i := range ids {
			ids[i], leaders[i] = i, -1
		}
		for _, part := range t.Partitions {
			if int(part.PartitionIndex) < n && part.PartitionIndex >= 0 {
				leaders[part.PartitionIndex] = part.LeaderID
			}
		}
		return ids, leaders, nil
	}
	return nil, nil, kafka.UnknownTopicOrPartition
}

// request is one produce request: the batches it carries, by group, and
// the message indexes of each.
type request struct {
	leader int32
	// size is what its messages weigh, as messageSize counts them.
	size    int
	req     rawproduce.Request
	batches []requestBatch
	// buf holds the encoded record batches, which req's readers read.
	buf []byte
	// early: the request returned on its context, kafka-go may still read
	// buf.
	early bool
}

// requestBatch is one partition's record batch in a request.
type requestBatch struct {
	topic     int // index in write's topics
	name      string
	partition int32
	msgs      []int
}

// rounds lays the groups' messages out in produce requests: per leader,
// one batch per partition of at most batchSize messages and batchBytes, in
// requests of at most maxRequestBytes. A partition with more messages than
// one batch holds has its next batch in the next round.
func (p *producer) rounds(msgs []kafka.Message, meta []msgMeta, topics []topicPlan, groups []partGroup) [][]request {
	var rounds [][]request
	for {
		var reqs []request
		for g := range groups {
			grp := &groups[g]
			if grp.next >= len(grp.msgs) {
				continue
			}
			lo, size := grp.next, 0
			hi := lo
			for hi < len(grp.msgs) && hi-lo < p.batchSize {
				m := int(meta[grp.msgs[hi]].size)
				if hi > lo && size+m > p.batchBytes {
					break
				}
				size += m
				hi++
			}
			grp.next = hi
			k := -1
			for j := range reqs {
				if reqs[j].leader == grp.leader && reqs[j].size+size <= maxRequestBytes {
					k = j
					break
				}
			}
			if k < 0 {
				reqs = append(reqs, request{leader: grp.leader})
				k = len(reqs) - 1
			}
			reqs[k].size += size
			reqs[k].batches = append(reqs[k].batches, requestBatch{
				topic: grp.topic, name: topics[grp.topic].name, partition: grp.partition, msgs: grp.msgs[lo:hi]})
		}
		if len(reqs) == 0 {
			return rounds
		}
		for k := range reqs {
			p.encode(&reqs[k], msgs)
		}
		rounds = append(rounds, reqs)
	}
}

// encode fills r's produce request from its batches, one entry per topic,
// their record batches encoded into r.buf.
func (p *producer) encode(r *request, msgs []kafka.Message) {
	slices.SortStableFunc(r.batches, func(a, b requestBatch) int { return a.topic - b.topic })
	r.req = rawproduce.Request{Acks: int16(p.acks), Timeout: int32(p.timeout.Milliseconds())}
	enc := p.encoder()
	defer p.putEncoder(enc)
	// Room for every batch uncompressed: messageSize bounds a record's
	// size. Compressed, audit events take a fifth of that or less, and
	// appendCompressed grows the buffer for a batch that compresses worse:
	// reserving the whole size would keep a chunk's worth of memory that is
	// never written in every pooled buffer.
	size := r.size + len(r.batches)*(4+batchHeaderLength)
	if p.compression != 0 {
		size = size/4 + len(r.batches)*(4+batchHeaderLength+64)
	}
	r.buf = p.buffer(size)
	ends := make([]int, len(r.batches))
	for i, b := range r.batches {
		// A record set is its size, then its batches.
		at := len(r.buf)
		r.buf = enc.appendBatch(append(r.buf, 0, 0, 0, 0), msgs, b.msgs)
		binary.BigEndian.PutUint32(r.buf[at:], uint32(len(r.buf)-at-4))
		ends[i] = len(r.buf)
	}
	// The readers are made once r.buf no longer moves.
	lo := 0
	for i, b := range r.batches {
		k := len(r.req.Topics) - 1
		if k < 0 || r.req.Topics[k].Topic != b.name {
			r.req.Topics = append(r.req.Topics, rawproduce.RequestTopic{Topic: b.name})
			k++
		}
		r.req.Topics[k].Partitions = append(r.req.Topics[k].Partitions, rawproduce.RequestPartition{
			Partition: b.partition,
			RecordSet: protocol.RawRecordSet{Reader: bytes.NewReader(r.buf[lo:ends[i]])},
		})
		lo = ends[i]
	}
}

// roundTrip sends one request and stores the outcome of each of its
// messages in errs. It reports whether it returned on ctx, before the
// outcome was known.
func (p *producer) roundTrip(ctx context.Context, r *request, errs []error) (early bool) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	res, err := p.transport.RoundTrip(ctx, p.addr, &r.req)
	if err != nil {
		r.fail(errs, err)
		return isContextErr(err)
	}
	if p.acks == kafka.RequireNone {
		return false // no answer comes: written is all there is to know
	}
	pr, ok := res.(*produce.Response)
	if !ok {
		r.fail(errs, fmt.Errorf("kafka: unexpected produce response %T", res))
		return false
	}
	for _, b := range r.batches {
		err := missingAnswer(b.name, b.partition)
		for _, t := range pr.Topics {
			if t.Topic != b.name {
				continue
			}
			for _, part := range t.Partitions {
				if part.Partition == b.partition {
					err = partitionError(part.ErrorCode, part.ErrorMessage)
				}
			}
		}
		for _, i := range b.msgs {
			errs[i] = err
		}
	}
	return false
}

// fail sets err as the outcome of every message of r.
func (r *request) fail(errs []error, err error) {
	for _, b := range r.batches {
		for _, i := range b.msgs {
			errs[i] = err
		}
	}
}

// partitionError is a partition's answer as the Writer reports it.
func partitionError(code int16, message string) error {
	switch {
	case code == 0:
		return nil
	case message == "":
		return kafka.Error(code)
	}
	return fmt.Errorf("%w: %s", kafka.Error(code), message)
}

// missingAnswer is the outcome of a batch the broker's answer does not
// mention: not known to be written, so it is sent again.
func missingAnswer(topic string, partition int32) error {
	return fmt.Errorf("kafka: no answer for %s/%d in the produce response", topic, partition)
}
