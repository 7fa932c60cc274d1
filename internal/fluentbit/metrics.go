package fluentbit

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Metrics is what the tests read of Fluent Bit's /api/v1/metrics: the
// records each input read, each filter dropped and each output processed, by
// instance name (tail.0, lua.0, null.0, ...).
type Metrics struct {
	Input map[string]struct {
		Records int `json:"records"`
	} `json:"input"`
	Filter map[string]struct {
		DropRecords int `json:"drop_records"`
	} `json:"filter"`
	Output map[string]struct {
		ProcRecords int `json:"proc_records"`
	} `json:"output"`
}

// ReadMetrics fetches url, Fluent Bit's /api/v1/metrics, within 2 s.
func ReadMetrics(url string) (Metrics, error) {
	var m Metrics
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, http.NoBody)
	if err != nil {
		return m, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return m, err
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		return m, fmt.Errorf("%s: %w", url, err)
	}
	return m, nil
}
