// Package buildtest builds the artifacts users run (the auditstream CLI, the
// plugin's .so and the C harness that loads it as Fluent Bit's Go proxy
// does) from the repository, for tests that drive them as separate
// processes.
package buildtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/auditstream/auditstream/internal/testenv"
)

// Artifacts are the paths of the built programs.
type Artifacts struct {
	CLI     string // auditstream
	Plugin  string // out_auditstream.so
	Harness string // flbharness
}

// Build builds the three artifacts into dir. It needs the go command and gcc.
func Build(dir string) (Artifacts, error) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		return Artifacts{}, err
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		return Artifacts{}, fmt.Errorf("gcc not found: %w", err)
	}
	a := Artifacts{
		CLI:     filepath.Join(dir, "auditstream"),
		Plugin:  filepath.Join(dir, "out_auditstream.so"),
		Harness: filepath.Join(dir, "flbharness"),
	}
	goBin := goCommand()
	harness := filepath.Join(root, "plugin", "harness")
	for _, cmd := range []*exec.Cmd{
		exec.Command(goBin, "build", "-trimpath", "-o", a.CLI, "./cmd/auditstream"),
		exec.Command(goBin, "build", "-buildmode=c-shared", "-trimpath", "-o", a.Plugin, "./plugin"),
		// The same flags as the Makefile's harness target.
		exec.Command("gcc", "-std=gnu11", "-O2", "-g", "-Wall", "-Wextra", "-Werror", "-o", a.Harness,
			filepath.Join(harness, "flbharness.c"), filepath.Join(harness, "chunks.c"),
			filepath.Join(harness, "mpw.c"), filepath.Join(harness, "mpjson.c"), "-ldl", "-lpthread"),
	} {
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			return Artifacts{}, fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, out)
		}
	}
	return a, nil
}

// BuildCLI builds only the auditstream CLI into dir and returns its path, for
// tests that need no plugin (and no gcc).
func BuildCLI(dir string) (string, error) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		return "", err
	}
	cli := filepath.Join(dir, "auditstream")
	cmd := exec.Command(goCommand(), "build", "-trimpath", "-o", cli, "./cmd/auditstream")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	return cli, nil
}

// goCommand is the go command of the toolchain running the tests, or the
// one on PATH.
func goCommand() string {
	goBin := filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		return "go"
	}
	return goBin
}
