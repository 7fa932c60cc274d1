// Package setup reads a pipeline's settings by the plugin's key names and
// builds the pipeline from them: the policy, the Kafka producer, the chunk
// pipeline between them. The Fluent Bit plugin and the ship command share
// it, so a setting means the same in a Fluent Bit config and on the command
// line.
package setup
