package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/auditstream/auditstream/filter"
	"github.com/auditstream/auditstream/internal/auditlog"
	"github.com/auditstream/auditstream/internal/simulate"
	"github.com/auditstream/auditstream/sink"
)

func newSimulateCommand() *cobra.Command {
	var policyPath, comparePath, output, topic string
	var redact *redactFlags
	cmd := &cobra.Command{
		Use:   "simulate --policy POLICY [--compare OTHER] [FILE|DIR ...]",
		Short: "Report what a policy would keep, drop and send where, without sending anything",
		Long: `Runs an audit log (files, rotated-log directories, gzip-compressed files or
stdin) through the policy and reports, per rule, level, stage, target topic,
user, verb and resource, the events and bytes read and kept. Rules that never
matched are listed. --compare runs a second policy beside the first and shows
the events the two decide differently. --output json writes the report in the
form described by simulate.schema.json.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "table" && output != "json" {
				return fmt.Errorf("--output: %q is not one of table, json", output)
			}
			cfg := sink.DefaultConfig()
			cfg.Topic = topic
			topicFor := topicResolver(&cfg)
			newSim := func(path string) (*simulate.Simulator, error) {
				p, err := loadPolicy(cmd, path)
				if err != nil {
					return nil, err
				}
				if p, err = redact.apply(p); err != nil {
					return nil, err
				}
				return simulate.New(p, path, topicFor), nil
			}
			a, err := newSim(policyPath)
			if err != nil {
				return err
			}
			inputs, err := auditlog.ExpandRotated(args)
			if err != nil {
				return err
			}
			in := auditlog.NewReader(inputs, cmd.InOrStdin())
			defer in.Close()
			progress := newProgress(cmd.ErrOrStderr(), inputs)
			in.OnProgress(progress.set)
			defer progress.finish()
			out := cmd.OutOrStdout()
			if comparePath == "" {
				if err := readAll(in, cmd.ErrOrStderr(), false, func(line []byte, _ auditlog.Position) error {
					_, _, err := a.Add(line)
					return err
				}); err != nil {
					return err
				}
				progress.finish()
				report := a.Report()
				return writeReport(out, output, &report)
			}
			b, err := newSim(comparePath)
			if err != nil {
				return err
			}
			c := simulate.NewComparison(a, b)
			if err := readAll(in, cmd.ErrOrStderr(), false, func(line []byte, pos auditlog.Position) error {
				return c.Add(line, pos.String())
			}); err != nil {
				return err
			}
			progress.finish()
			report := c.Report()
			return writeComparison(out, output, &report)
		},
	}
	cmd.Flags().StringVar(&policyPath, "policy", "", "audit policy file (audit.k8s.io/v1)")
	cmd.Flags().StringVar(&comparePath, "compare", "", "a second policy to compare with the first")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	cmd.Flags().StringVar(&topic, "topic", "k8s-audit.{stage}", "Kafka topic template, as the plugin's topic key")
	redact = addRedactFlags(cmd)
	_ = cmd.MarkFlagRequired("policy")
	return cmd
}

// topicResolver names the topic of each stage as the sink would.
func topicResolver(cfg *sink.Config) func(filter.Stage) string {
	var names [filter.NumStages + 1]string
	for st := filter.Stage(1); st <= filter.NumStages; st++ {
		names[st] = cfg.TopicFor(st.String())
	}
	return func(s filter.Stage) string { return names[s] }
}

func writeReport(w io.Writer, output string, r *simulate.Report) error {
	if output == "json" {
		return writeJSON(w, r)
	}
	return renderReport(w, r)
}

func writeComparison(w io.Writer, output string, r *simulate.CompareReport) error {
	if output == "json" {
		return writeJSON(w, r)
	}
	return renderComparison(w, r)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// isTerminal reports whether w is a terminal, where a progress bar belongs.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTerminalFd(f.Fd())
}
