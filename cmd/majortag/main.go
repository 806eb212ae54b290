// Command majortag points a major tag vX at the highest release of vX
// whose commit is pinned (its action.yml runs an image by digest, as the
// release workflow commits it), and pushes it to origin. A patch to an
// older minor (v1.0.5 after v1.2.0) leaves v1 where it is; pre-releases
// (v1.3.0-rc.1) and other tags (v1, v1.2, latest) are never candidates;
// versions compare by number (v1.10.0 is above v1.9.0).
//
//	majortag [-C dir] [-push] vX.Y.Z
//
// Every run of it converges: whichever release's run comes last, vX ends
// at the highest pinned release, and it never moves backwards while
// pinned releases stay where the release workflow put them. Without
// -push it only prints what it would do.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "majortag:", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("majortag", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("C", ".", "the git repository")
	push := fs.Bool("push", false, "fetch the tags from origin first, then move the major tag and push it to origin")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("want one release tag vX.Y.Z, got %q", fs.Args())
	}
	rel := fs.Arg(0)
	if _, err := highest(rel, nil); err != nil {
		return err
	}
	major, _, _ := strings.Cut(rel, ".")
	g := repo{ctx: ctx, dir: *dir}
	if *push {
		if _, err := g.run("fetch", "--quiet", "--force", "--tags", "origin"); err != nil {
			return err
		}
	}
	tags, err := g.lines("tag", "--list", major+".*")
	if err != nil {
		return err
	}
	var pinned []string
	for _, t := range tags {
		ok, err := g.pinned(t)
		if err != nil {
			return err
		}
		if ok {
			pinned = append(pinned, t)
		}
	}
	target, err := highest(rel, pinned)
	if err != nil {
		return err
	}
	if target == "" {
		fmt.Fprintf(stdout, "%s: no release of %s is pinned yet; %s not moved\n", rel, major, major)
		return nil
	}
	want, err := g.commit(target)
	if err != nil {
		return err
	}
	cur, _ := g.commit(major) // none yet is fine
	if cur == want {
		fmt.Fprintf(stdout, "%s: %s is at %s (%s), the highest pinned release of %s\n", rel, major, target, want, major)
		return nil
	}
	if !*push {
		fmt.Fprintf(stdout, "%s: would move %s to %s (%s)\n", rel, major, target, want)
		return nil
	}
	if _, err := g.run("tag", "--force", major, want); err != nil {
		return err
	}
	if _, err := g.run("push", "--quiet", "--force", "origin", "refs/tags/"+major); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: moved %s to %s (%s), the highest pinned release of %s\n", rel, major, target, want, major)
	return nil
}
