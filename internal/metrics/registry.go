package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// shutdownTimeout bounds the endpoint's shutdown when its last instance
// exits, well inside Fluent Bit's grace period.
const shutdownTimeout = time.Second

// Registry is the instances of one process and the endpoint that serves
// them. The endpoint listens from the first instance added with a listen
// address until the last such instance is removed. Its methods are safe for
// concurrent use.
type Registry struct {
	prom *prometheus.Registry
	now  func() time.Time // the clock of readiness checks

	mu        sync.Mutex
	instances []*Instance
	listening []*Instance // the instances that asked for the endpoint
	server    *http.Server
	addr      string // the address the server listens on
	served    chan struct{}
}

// NewRegistry returns an empty registry whose endpoint also serves the
// process and Go runtime collectors.
func NewRegistry() *Registry {
	r := &Registry{prom: prometheus.NewRegistry(), now: time.Now}
	r.prom.MustRegister(
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
		collector{r},
	)
	return r
}

// Gatherer is what the endpoint serves.
func (r *Registry) Gatherer() prometheus.Gatherer { return r.prom }

// Add registers in. An instance name may be used once: it is the label that
// tells the instances' series apart. If listen is not empty, the endpoint
// is started on it unless it already runs, on the same address; another
// address is refused, since a process has one endpoint.
func (r *Registry) Add(in *Instance, listen string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range r.instances {
		if o.Name() == in.Name() {
			return fmt.Errorf("instance_name %q is already used by another auditstream output of this process: give each its own, it labels their metrics", in.Name())
		}
	}
	if listen != "" {
		if r.server != nil && listen != r.addr {
			return fmt.Errorf("metrics_listen %s: this process already serves metrics on %s (one endpoint per process serves every instance)", listen, r.addr)
		}
		if r.server == nil {
			if err := r.start(listen); err != nil {
				return err
			}
		}
		r.listening = append(r.listening, in)
	}
	r.instances = append(r.instances, in)
	return nil
}

// Remove unregisters in, and stops the endpoint if in was the last instance
// that asked for it.
func (r *Registry) Remove(in *Instance) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.instances = slices.DeleteFunc(r.instances, func(o *Instance) bool { return o == in })
	before := len(r.listening)
	r.listening = slices.DeleteFunc(r.listening, func(o *Instance) bool { return o == in })
	if before > 0 && len(r.listening) == 0 && r.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		_ = r.server.Shutdown(ctx) // a scrape cut short at exit is of no consequence
		<-r.served
		r.server, r.addr, r.served = nil, "", nil
	}
}

// Addr is the address the endpoint listens on, "" if it does not run.
func (r *Registry) Addr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.addr
}

func (r *Registry) snapshot() []*Instance {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.instances)
}

// start binds listen now, so that a taken port fails the instance's init
// with a clear error, and serves in the background.
func (r *Registry) start(listen string) error {
	if _, _, err := net.SplitHostPort(listen); err != nil {
		return fmt.Errorf("metrics_listen %q: want host:port, such as 127.0.0.1:2021: %w", listen, err)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("metrics_listen: %w", err)
	}
	srv := &http.Server{Handler: r.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln) // ErrServerClosed once Remove shuts it down
	}()
	r.server, r.addr, r.served = srv, ln.Addr().String(), served
	return nil
}

// Handler serves /metrics, /healthz and /readyz.
func (r *Registry) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(r.prom, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", r.healthz)
	mux.HandleFunc("GET /readyz", r.readyz)
	return mux
}

// healthz answers 200 while every instance is started: instances are added
// once their init succeeded and removed when their exit begins.
func (r *Registry) healthz(w http.ResponseWriter, _ *http.Request) {
	ins := r.snapshot()
	if len(ins) == 0 {
		http.Error(w, "no instance started", http.StatusServiceUnavailable)
		return
	}
	var b strings.Builder
	for _, in := range ins {
		fmt.Fprintf(&b, "%s: started\n", in.Name())
	}
	_, _ = w.Write([]byte(b.String()))
}

// readyz answers 503 while any instance is not ready, naming it and why.
func (r *Registry) readyz(w http.ResponseWriter, _ *http.Request) {
	ins := r.snapshot()
	var b strings.Builder
	var notReady error
	if len(ins) == 0 {
		notReady = errors.New("no instance started")
		b.WriteString("no instance started\n")
	}
	now := r.now()
	for _, in := range ins {
		if err := in.ready.Ready(now); err != nil {
			notReady = err
			fmt.Fprintf(&b, "%s: not ready: %v\n", in.Name(), err)
			continue
		}
		fmt.Fprintf(&b, "%s: ready\n", in.Name())
	}
	if notReady != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_, _ = w.Write([]byte(b.String()))
}
