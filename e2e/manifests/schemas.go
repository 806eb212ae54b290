package manifests

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"
)

// pinnedSchema is a schema kept in testdata, pinned by its SHA-256.
type pinnedSchema struct {
	file, id, sha256 string
}

// The schemas of the Buildkite and CircleCI front ends:
//
//   - buildkite-plugin-yaml-schema.yml: buildkite-plugins/buildkite-plugin-linter
//     lib/plugin-yaml-schema.yml at commit 08acd1d211e7abba1e3c984a2aa4ba39034a5a1e,
//     which the plugin linter validates plugin.yml against;
//   - buildkite-pipeline.json: buildkite/pipeline-schema schema.json at commit
//     829d2f7c715b10256b9a4ea23c3798aac9ea25d2;
//   - circleci-config.json: CircleCI-Public/circleci-yaml-language-server
//     schema.json at commit c9a13f55002be4d417369b2dfce7f9da1ea7e517, which
//     CircleCI's editor support validates configurations and orbs against.
var (
	buildkitePluginSchema   = pinnedSchema{"buildkite-plugin-yaml-schema.yml", "https://buildkite.com/plugin.yml", "ff0b121dc9a105ed9015032cdcae7e45e33d01ad1e3559a5d48d368a6d5e707b"}
	buildkitePipelineSchema = pinnedSchema{"buildkite-pipeline.json", "https://buildkite.com/pipeline.json", "ccd18cb3456e184da076ae40ce917ef3cedd78a312dd3f07a6a7a2d5080c7ea9"}
	circleciSchema          = pinnedSchema{"circleci-config.json", "https://circleci.com/config.json", "943887ba97ed0047f4170e83d3e5bf045ae12d824f6da56ca50c2224a7fbb458"}
)

// compile reads the schema (JSON, or YAML as the plugin linter's is),
// checks its pin and compiles it.
func (p pinnedSchema) compile() (*jsonschema.Schema, error) {
	data, err := os.ReadFile(filepath.Join("testdata", p.file))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != p.sha256 {
		return nil, fmt.Errorf("testdata/%s sha256 = %s, want %s", p.file, got, p.sha256)
	}
	if filepath.Ext(p.file) == ".yml" {
		if data, err = yaml.YAMLToJSON(data); err != nil {
			return nil, fmt.Errorf("testdata/%s: %w", p.file, err)
		}
	}
	return compileSchema(p.id, data)
}

// compileSchema compiles a JSON schema document under id.
func compileSchema(id string, data []byte) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(id, doc); err != nil {
		return nil, err
	}
	return c.Compile(id)
}

// validate validates a YAML-decoded value against sch.
func validate(sch *jsonschema.Schema, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return sch.Validate(doc)
}

// readYAML reads a YAML file of the repository.
func readYAML(path string) (any, error) {
	data, err := os.ReadFile(filepath.Join(RepoRoot(), path))
	if err != nil {
		return nil, err
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}
