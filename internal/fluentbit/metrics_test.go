package fluentbit

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// A body of Fluent Bit v5.1.1's /api/v1/metrics with a lua filter that
// dropped every record.
const metricsWithFilter = `{"input":{"dummy.0":{"records":15,"bytes":255}},` +
	`"filter":{"lua.0":{"drop_records":15,"add_records":0,"records":15,"bytes":0,"drop_bytes":255}},` +
	`"output":{"null.0":{"proc_records":0,"proc_bytes":0,"errors":0,"retries":0,"retries_failed":0,` +
	`"dropped_records":0,"retried_records":0}}}`

func TestReadMetricsFilterDrops(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(metricsWithFilter))
	}))
	defer srv.Close()
	m, err := ReadMetrics(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Filter["lua.0"].DropRecords; got != 15 {
		t.Errorf("lua.0 drop_records = %d, want 15", got)
	}
	if got := m.Input["dummy.0"].Records; got != 15 {
		t.Errorf("dummy.0 records = %d, want 15", got)
	}
}
