package main

import (
	"bufio"
	"io"

	"github.com/spf13/cobra"

	"github.com/auditstream/auditstream/filter"
	"github.com/auditstream/auditstream/internal/auditlog"
)

func newApplyCommand() *cobra.Command {
	var policyPath string
	var strict bool
	var redact *redactFlags
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
			if p, err = redact.apply(p); err != nil {
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
	redact = addRedactFlags(cmd)
	_ = cmd.MarkFlagRequired("policy")
	return cmd
}

func applyPolicy(p *filter.Policy, in *auditlog.Reader, stdout, stderr io.Writer, strict bool) error {
	defer in.Close()
	w := bufio.NewWriterSize(stdout, 256<<10)
	pr := p.NewProcessor()
	var buf []byte
	err := readAll(in, stderr, strict, func(line []byte, _ auditlog.Position) error {
		var res filter.Result
		var err error
		if buf, res, err = pr.AppendEvent(buf[:0], line); err != nil || !res.Kept {
			return err
		}
		if _, err := w.Write(append(buf, '\n')); err != nil {
			return fatal{err}
		}
		return nil
	})
	// What was kept before a bad line (with --strict) is written too.
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	return err
}
