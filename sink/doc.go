// Package sink produces audit events to Kafka, routed by stage, and reports
// exactly when a batch is delivered and whether a failure is worth retrying.
//
// Delivery is at least once: Deliver returns nil only when the broker has
// acknowledged every event (acks=all by default), or when an event that can
// never be delivered (too large, a record the broker rejects) was truncated,
// dead-lettered or dropped as configured, and counted. Transient failures are
// retried inside the call for the failed messages only, until
// delivery_timeout; then Deliver returns a retryable error and the caller
// (Fluent Bit, through FLB_RETRY) hands the batch again. A topic the brokers
// refuse (not authorized, a policy) stops the call at once with a retryable
// error: the events are kept until the refusal is fixed.
//
// Settings, by the key the plugin and the CLI's configuration file use
// (ConfigFromKeys; Config documents each):
//
//	brokers                     comma list of host:port             required
//	topic                       "{stage}" is replaced               k8s-audit.{stage}
//	topic_request_received      per-stage override                  (topic)
//	topic_response_started      per-stage override                  (topic)
//	topic_response_complete     per-stage override                  (topic)
//	topic_panic                 per-stage override                  (topic)
//	message_key                 auditID|namespace|user|resource|none auditID
//	partitioner                 murmur2|crc32|round_robin            murmur2
//	compression                 none|gzip|snappy|lz4|zstd            snappy
//	required_acks               all|one|none (-1|1|0)                all
//	batch_size                  messages per partition batch         1000
//	batch_bytes                 bytes per partition batch            1000000
//	linger                      ignored (kept for old configurations) 0
//	max_message_bytes           larger events are truncated          1000000
//	dead_letter_topic           for undeliverable events; none: off  k8s-audit.dead-letter
//	cluster_name                "cluster" header                     (no header)
//	delivery_timeout            bound of one Deliver call            30s
//	auto_create_topics          ask the broker to create topics      on
//	client_id                   client id sent to the brokers        auditstream
//	kafka_tls                   TLS to the brokers                   on if any kafka_* TLS key is set
//	kafka_ca_file               PEM CAs of the brokers               (system pool)
//	kafka_cert_file             PEM client certificate (mTLS)        -
//	kafka_key_file              its key                              -
//	kafka_server_name           name checked in broker certificates  (broker host)
//	kafka_insecure_skip_verify  accept any certificate (warned)      off
//	sasl_mechanism              PLAIN|SCRAM-SHA-256|SCRAM-SHA-512    (no SASL)
//	sasl_username               SASL user                            -
//	sasl_password_file          file holding the password            -
//	sasl_password_env           environment variable holding it      -
//
// None of the keys is one Fluent Bit reserves (tls, tls.*, host, port,
// workers, ...), which Fluent Bit would consume instead of passing on.
//
// Every message carries the headers stage, level, verb and auditID, and
// cluster when cluster_name is set; dead-letter messages add error and
// original_topic (and original_size when the value was cut to fit).
package sink
