package auditlog

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ExpandRotated turns each directory argument into the audit logs in it, in
// the order they were written: kube-apiserver's backups (named
// <name>-<timestamp><ext>[.gz], whose timestamps sort as text) oldest first,
// then the live file. File arguments are kept as given.
func ExpandRotated(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil || !st.IsDir() {
			out = append(out, a) // "-" and missing files fail later, with their name
			continue
		}
		entries, err := os.ReadDir(a)
		if err != nil {
			return nil, err
		}
		var live, backups []string
		for _, e := range entries {
			n := e.Name()
			if e.IsDir() || !strings.HasSuffix(n, ".log") && !strings.HasSuffix(n, ".log.gz") {
				continue
			}
			if isBackupName(n) {
				backups = append(backups, n)
			} else {
				live = append(live, n)
			}
		}
		sort.Strings(backups)
		sort.Strings(live)
		for _, n := range append(backups, live...) {
			out = append(out, filepath.Join(a, n))
		}
	}
	return out, nil
}

// isBackupName recognises lumberjack's backup names, e.g.
// audit-2026-11-25T10-00-00.000.log.gz: a "-" followed by a date.
func isBackupName(n string) bool {
	i := strings.LastIndex(strings.TrimSuffix(strings.TrimSuffix(n, ".gz"), ".log"), "-")
	for i >= 0 {
		rest := n[i+1:]
		if len(rest) >= 10 && rest[4] == '-' && rest[7] == '-' && rest[0] >= '0' && rest[0] <= '9' {
			return true
		}
		i = strings.LastIndex(n[:i], "-")
	}
	return false
}
