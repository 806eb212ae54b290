package manifests

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/keyless-dev/keyless/internal/docs"
)

// pluginConfigurationSchema is plugin.yml's configuration, compiled as the
// JSON schema the plugin linter compiles it as.
func pluginConfigurationSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	v, err := readYAML("plugin.yml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := json.Marshal(v.(map[string]any)["configuration"])
	if err != nil {
		t.Fatal(err)
	}
	sch, err := compileSchema("https://github.com/keyless-dev/keyless/plugin-configuration.json", cfg)
	if err != nil {
		t.Fatalf("plugin.yml's configuration is no JSON schema: %v", err)
	}
	return sch
}

// TestBuildkitePluginYAML checks plugin.yml as the Buildkite plugin linter
// does: against its schema, with a configuration that is a JSON schema.
func TestBuildkitePluginYAML(t *testing.T) {
	sch, err := buildkitePluginSchema.compile()
	if err != nil {
		t.Fatal(err)
	}
	v, err := readYAML("plugin.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := validate(sch, v); err != nil {
		t.Fatalf("plugin.yml: %v", err)
	}
	pluginConfigurationSchema(t)
}

// keylessPlugin matches a reference to the keyless plugin: the repository
// root, at a version.
var keylessPlugin = regexp.MustCompile(`^(https://)?github\.com/keyless-dev/keyless(\.git)?#v[0-9]`)

// pluginConfigs returns the configuration of every keyless plugin of a
// pipeline's command steps, and the plugin references that are not
// keyless's but look like it.
func pluginConfigs(pipeline any) (configs []any, near []string) {
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if plugins, ok := v["plugins"].([]any); ok {
				for _, p := range plugins {
					m, _ := p.(map[string]any)
					for ref, cfg := range m {
						switch {
						case keylessPlugin.MatchString(ref):
							configs = append(configs, cfg)
						case strings.Contains(ref, "keyless"):
							near = append(near, ref)
						}
					}
				}
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(pipeline)
	return configs, near
}

// TestDocsBuildkiteExamples validates every Buildkite pipeline of the
// documentation against Buildkite's pipeline schema, and each keyless
// plugin's configuration in it against plugin.yml's, as the plugin linter
// validates a README's examples.
func TestDocsBuildkiteExamples(t *testing.T) {
	pipeline, err := buildkitePipelineSchema.compile()
	if err != nil {
		t.Fatal(err)
	}
	plugin := pluginConfigurationSchema(t)
	n := 0
	for _, e := range docExamples(t, docs.BuildkitePipeline) {
		t.Run(e.String(), func(t *testing.T) {
			if err := validate(pipeline, e.Values[0]); err != nil {
				t.Fatalf("%s: %v", e, err)
			}
			configs, near := pluginConfigs(e.Values[0])
			if len(near) > 0 {
				t.Errorf("%s: plugin references %v are not github.com/keyless-dev/keyless#<version> (a shorthand names another repository)", e, near)
			}
			for i, cfg := range configs {
				n++
				if err := validate(plugin, cfg); err != nil {
					t.Errorf("%s: keyless plugin %d: %v", e, i, err)
				}
			}
		})
	}
	if n < 3 {
		t.Errorf("validated %d keyless plugin configurations in the documentation, want docs/buildkite.md's", n)
	}
}

// TestBuildkiteSchemasBite: a misspelt option, a bad value and a step the
// pipeline schema does not know are refused.
func TestBuildkiteSchemasBite(t *testing.T) {
	plugin := pluginConfigurationSchema(t)
	for _, cfg := range []string{`{"signature-fromat": "both"}`, `{"signature-format": "gpg"}`, `{"verify": "yes"}`, `{"mode": "attest"}`} {
		var v any
		if err := json.Unmarshal([]byte(cfg), &v); err != nil {
			t.Fatal(err)
		}
		if err := validate(plugin, v); err == nil {
			t.Errorf("plugin configuration %s passes", cfg)
		}
	}
	pipeline, err := buildkitePipelineSchema.compile()
	if err != nil {
		t.Fatal(err)
	}
	if err := validate(pipeline, map[string]any{"steps": []any{map[string]any{"comand": "make"}}}); err == nil {
		t.Error("a step with a misspelt command passes the pipeline schema")
	}
	if configs, near := pluginConfigs(map[string]any{"steps": []any{map[string]any{"plugins": []any{
		map[string]any{"keyless-dev/keyless#v0.1.0": map[string]any{}}, map[string]any{"github.com/keyless-dev/keyless#v0.1.0": map[string]any{}},
	}}}}); len(configs) != 1 || fmt.Sprint(near) != "[keyless-dev/keyless#v0.1.0]" {
		t.Errorf("pluginConfigs = %v, %v", configs, near)
	}
}
