package e2e

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/e2e/manifests"
)

// TestContainerTektonStep runs the image as the keyless-sign Task's step:
// the image and args from the Task with params substituted, the step's
// securityContext (its uid, no privilege escalation, no capabilities), the
// results directory and the output workspace writable for that uid, the
// sigstore workspace read-only, and the projected token file.
func TestContainerTektonStep(t *testing.T) {
	static, _ := images(t)
	pull(t, static)
	task, err := manifests.LoadTask("tekton/keyless-sign/0.1/keyless-sign.yaml")
	if err != nil {
		t.Fatal(err)
	}
	step := task.Spec.Steps[0]
	sc := step.SecurityContext
	if sc == nil || sc.RunAsUser == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Fatalf("the sign step has no non-root securityContext: %+v", sc)
	}
	uid := int(*sc.RunAsUser)
	mountPath := map[string]string{}
	for _, w := range task.Spec.Workspaces {
		mountPath[w.Name] = w.MountPath
		if w.MountPath == "" {
			mountPath[w.Name] = "/workspace/" + w.Name
		}
	}
	img := pushImage(t)
	host := t.TempDir()
	dirs := map[string]string{} // container path -> host path
	mkdir := func(container string, owner int, mode os.FileMode) string {
		h := filepath.Join(host, strings.ReplaceAll(strings.Trim(container, "/"), "/", "_"))
		if err := os.MkdirAll(h, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(h, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(h, owner, owner); err != nil {
			t.Fatal(err)
		}
		dirs[container] = h
		return h
	}
	resultsDir := mkdir("/tekton/results", uid, 0o755)
	output := mkdir(mountPath["output"], uid, 0o755)
	sigstore := mkdir(mountPath["sigstore"], 0, 0o755)
	for _, f := range []string{stk.TrustedRoot, stk.SigningConfig} {
		copyFile(t, f, sigstore)
	}
	params := map[string]string{
		"trusted-root":   mountPath["sigstore"] + "/" + filepath.Base(stk.TrustedRoot),
		"signing-config": mountPath["sigstore"] + "/" + filepath.Base(stk.SigningConfig),
		"keyless-image":  byDigest(static),
	}
	env, args := taskStep(t, task, "/unused", params, map[string][]string{"images": {img}},
		map[string]string{"output": mountPath["output"], "sigstore": mountPath["sigstore"]})
	for _, e := range step.Env { // taskStep moves these under its work dir; keep the Task's paths
		if e.Name == "KEYLESS_RESULTS_DIR" || e.Name == "KEYLESS_IDENTITY_TOKEN_FILE" || e.Name == "HOME" {
			env[e.Name] = e.Value
		}
	}
	for _, m := range step.VolumeMounts {
		switch m.Name {
		case "oidc-info": // a projected token: 0600, owned by runAsUser
			h := mkdir(m.MountPath, 0, 0o755)
			tok := filepath.Join(h, "oidc-token")
			if err := os.WriteFile(tok, []byte(mint(t, "kubernetes")), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(tok, uid, uid); err != nil {
				t.Fatal(err)
			}
		default: // an emptyDir
			mkdir(m.MountPath, 0, 0o777|os.ModeSticky)
		}
	}
	if env["KEYLESS_RESULTS_DIR"] != "/tekton/results" || env["KEYLESS_IDENTITY_TOKEN_FILE"] != "/var/run/sigstore/cosign/oidc-token" {
		t.Fatalf("step env: results %q token %q", env["KEYLESS_RESULTS_DIR"], env["KEYLESS_IDENTITY_TOKEN_FILE"])
	}
	image := strings.ReplaceAll(step.Image, "$(params.keyless-image)", params["keyless-image"])
	run := []string{"--user", fmt.Sprint(uid)}
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		run = append(run, "--security-opt", "no-new-privileges")
	}
	if sc.Capabilities != nil && slices.Contains(sc.Capabilities.Drop, "ALL") {
		run = append(run, "--cap-drop", "ALL")
	}
	ro := map[string]bool{mountPath["sigstore"]: true, "/var/run/sigstore/cosign": true}
	for c, h := range dirs {
		v := h + ":" + c
		if ro[c] {
			v += ":ro"
		}
		run = append(run, "-v", v)
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		run = append(run, "-e", k+"="+env[k])
	}
	run = append(append(run, image), args...)
	code, stdout, stderr := timedRun(t, "tekton/keyless-sign", nil, "", run...)
	if code != 0 {
		t.Fatalf("exit %d\nargs %q\nstdout:\n%s\nstderr:\n%s", code, args, stdout, stderr)
	}
	got := results(t, resultsDir)
	for k, want := range map[string]string{
		"digests": img, "certificate-identity": kubernetesIdentity,
		"certificate-oidc-issuer": stk.Issuer("kubernetes"), "verified": "true",
	} {
		if got[k] != want {
			t.Errorf("result %s = %q, want %q", k, got[k], want)
		}
	}
	out := results(t, output)
	if !strings.Contains(out["summary.md"], "✅") || !strings.Contains(out["report.json"], kubernetesIdentity) {
		t.Errorf("output workspace lacks the summary or the report: %v", slices.Sorted(maps.Keys(out)))
	}
	assertNoToken(t, result{stdout: stdout, stderr: stderr, outputs: got})
	cosignCheck{stk.CosignV3, nil}.accepts(t, img, kubernetesIdentity, stk.Issuer("kubernetes"))
}
