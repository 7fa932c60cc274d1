package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/auditstream/auditstream/filter"
	"github.com/auditstream/auditstream/internal/auditlog"
)

// maxReportedLines bounds the per-line error messages; the total is always reported.
const maxReportedLines = 20

func newApplyCommand() *cobra.Command {
	var policyPath string
	var strict bool
	cmd := &cobra.Command{
		Use:   "apply --policy POLICY [FILE|DIR ...]",
		Short: "Write the events a policy keeps, rewritten to their level, as JSON lines",
		Long: `Reads audit events as JSON lines from files, rotated-log directories or stdin
(gzip-compressed input is recognised) and writes exactly the events the policy
keeps, in input order, rewritten as kube-apiserver would have logged them.
A line that is not an audit event is reported on stderr with its position and
skipped; with --strict it stops the run with exit code 2.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := loadPolicy(cmd, policyPath)
			if err != nil {
				return err
			}
			inputs, err := auditlog.ExpandRotated(args)
			if err != nil {
				return err
			}
			return applyPolicy(p, auditlog.NewReader(inputs, cmd.InOrStdin()), cmd.OutOrStdout(), cmd.ErrOrStderr(), strict)
		},
	}
	cmd.Flags().StringVar(&policyPath, "policy", "", "audit policy file (audit.k8s.io/v1, as for --audit-policy-file)")
	cmd.Flags().BoolVar(&strict, "strict", false, "stop at the first line that is not an audit event (exit code 2)")
	_ = cmd.MarkFlagRequired("policy")
	return cmd
}

func applyPolicy(p *filter.Policy, in *auditlog.Reader, stdout, stderr io.Writer, strict bool) error {
	defer in.Close()
	w := bufio.NewWriterSize(stdout, 256<<10)
	pr := p.NewProcessor()
	var buf []byte
	bad := 0
	for {
		line, pos, err := in.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil {
			if len(line) == 0 {
				continue
			}
			var res filter.Result
			buf, res, err = pr.AppendEvent(buf[:0], line)
			if err == nil {
				if res.Kept {
					buf = append(buf, '\n')
					if _, err := w.Write(buf); err != nil {
						return err
					}
				}
				continue
			}
			err = fmt.Errorf("%s: %w", pos, err)
		} else if !errors.Is(err, auditlog.ErrLineTooLong) {
			return err
		}
		bad++
		if strict {
			if err := w.Flush(); err != nil {
				return err
			}
			return &exitError{code: exitBadInput, err: err}
		}
		if bad <= maxReportedLines {
			fmt.Fprintln(stderr, "skipped:", err)
		}
	}
	if bad > 0 {
		fmt.Fprintf(stderr, "skipped %d lines that are not audit events\n", bad)
	}
	return w.Flush()
}
