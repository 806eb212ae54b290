package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/keyless-dev/keyless/internal/ci"
	"github.com/keyless-dev/keyless/internal/job"
	"github.com/keyless-dev/keyless/internal/registry"
)

// An input's value comes from, in this order: its command-line argument,
// the platform's input variable for it (GitHub's INPUT_<NAME>, elsewhere
// KEYLESS_<NAME>), its default. The GitLab components pass every input as
// an argument, because GitLab lets an earlier job's dotenv report override
// any job variable; an argument it cannot reach.

// injected refuses a policy input that arrives as an argument and, with
// another value, as the platform's input variable: that variable did not
// come from the step that gave the argument (an earlier job's dotenv
// report, a project variable, an inherited environment), and it would
// otherwise be silently overruled — or, had the argument been left out,
// obeyed. It names every contradicted input, so one run shows the whole
// injection. Positional arguments are the images argument.
func injected(cmd string, flagValue func(string) (string, bool), positional []string, p ci.Inputs) error {
	var errs []error
	for _, in := range inputs {
		if !in.policy || !in.applies(cmd) {
			continue
		}
		arg, given := flagValue(in.name)
		if in.name == "images" && len(positional) > 0 {
			arg, given = strings.Join(append([]string{arg}, positional...), "\n"), true
		}
		if !given {
			continue
		}
		if env := p.Input(in.name); env != "" && !same(in.name, arg, env) {
			errs = append(errs, conflict(in.name, p.Source(in.name)))
		}
	}
	return errors.Join(errs...)
}

// conflict is the input error of an argument that a variable contradicts.
func conflict(name, variable string) error {
	return &job.InputError{Input: name, Err: fmt.Errorf("given as the argument --%s and, with another value, as the variable %s, which the step did not set (an earlier job's dotenv report, a project or pipeline variable, or the environment keyless inherited): remove %s, or give the input one way only", name, variable, variable)}
}

// same reports whether an argument and a variable say the same: images
// (and images-from, manifests) as the same set of references (of files),
// booleans as the same truth, else the same text.
func same(name, arg, env string) bool {
	arg, env = strings.TrimSpace(arg), strings.TrimSpace(env)
	if name == "images" || name == "images-from" || name == "manifests" {
		a, e := registry.SplitRefs(arg), registry.SplitRefs(env)
		slices.Sort(a)
		slices.Sort(e)
		return slices.Equal(slices.Compact(a), slices.Compact(e))
	}
	if a, err := strconv.ParseBool(arg); err == nil {
		if e, err := strconv.ParseBool(env); err == nil {
			return a == e
		}
	}
	return arg == env
}

// unknownOptions refuses an option of a platform that takes its inputs as
// one set of named options (ci.Options) when no input of keyless has its
// name: the platform would ignore a misspelt input, and keyless would run
// without it.
func unknownOptions(p ci.Inputs) error {
	o, ok := p.(ci.Options)
	if !ok {
		return nil
	}
	names, err := o.Options()
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range names {
		if !slices.ContainsFunc(inputs, func(in input) bool { return in.name == n }) {
			errs = append(errs, &job.InputError{Input: n, Err: fmt.Errorf("%s is no input of keyless: remove it, or correct its spelling", p.Source(n))})
		}
	}
	return errors.Join(errs...)
}
