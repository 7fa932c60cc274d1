package pipeline

import "time"

func (p *Pipeline) summaryLoop(every time.Duration) {
	defer close(p.summaryDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			p.safeSummary()
		case <-p.stopSummary:
			return
		}
	}
}

// logSummary writes the summary line: the counters since start, then the
// sink's per-topic counters, then one line per kind of problem whose latest
// occurrences no rate-limited line has reported yet.
func (p *Pipeline) logSummary() {
	if !p.cfg.Log.Enabled(LevelInfo) {
		p.limit.Drain(func(cause, uint64) {})
		return
	}
	b := append(make([]byte, 0, 512), "summary: "...)
	b = p.Stats().AppendText(b)
	if p.cfg.SinkSummary != nil {
		b = append(b, ' ')
		b = p.cfg.SinkSummary(b)
	}
	p.cfg.Log.Infof("%s", b)
	var held [numCauses]uint64
	p.limit.Drain(func(c cause, n uint64) { held[c] = n })
	for c, n := range held { // in a fixed order, unlike the limiter's map
		if n > 0 {
			p.cfg.Log.Warnf("%s: %d more since the last such message", causeNames[c], n)
		}
	}
}
