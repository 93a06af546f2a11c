package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// lodsim runs a command line as main does (without the signal handler) and
// returns what it wrote to stdout and stderr and its exit code.
func lodsim(args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	code = run(append([]string{"lodsim"}, args...), &out, &errOut)
	return out.String(), errOut.String(), code
}

// tryApp returns stdout and stderr together, and an error holding stderr
// when the exit code is not 0.
func tryApp(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, errOut, code := lodsim(args...)
	if code != 0 {
		return out + errOut, errors.New(strings.TrimSpace(errOut))
	}
	return out + errOut, nil
}

// runCLI is tryApp with stdout alone.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, errOut, code := lodsim(args...)
	if code != 0 {
		return out, errors.New(strings.TrimSpace(errOut))
	}
	return out, nil
}

func runLodsim(t *testing.T, args ...string) (string, error) { t.Helper(); return tryApp(t, args...) }

func runTrace(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return tryApp(t, append([]string{"trace"}, args...)...)
}

// runApp fails the test unless the command succeeds.
func runApp(t *testing.T, args ...string) string {
	t.Helper()
	out, err := tryApp(t, args...)
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
	return out
}
