package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/auditstream/auditstream/filter"
)

func newCheckCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "check POLICY",
		Short: "Validate an audit policy as kube-apiserver would and summarise its rules",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := loadPolicy(cmd, args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s: valid audit.k8s.io/v1 policy, %d rules (first match wins; no match is None)\n", args[0], p.NumRules())
			for i := range p.NumRules() {
				fmt.Fprintln(out, "  "+p.DescribeRule(i))
			}
			return nil
		},
	}
}

// loadPolicy compiles a policy file and prints its warnings to stderr: the
// apiserver accepts such a policy but drops the fields it warns about.
func loadPolicy(cmd *cobra.Command, path string) (*filter.Policy, error) {
	p, warnings, err := filter.LoadFile(path)
	for _, w := range warnings {
		fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
	}
	return p, err
}
