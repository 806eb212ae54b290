package registry_test

import (
	"fmt"

	"github.com/keyless-dev/keyless/internal/registry"
)

func ExampleSplitRefs() {
	input := "# images to sign\r\nghcr.io/octo/app:v1.2.0\r\n\r\nghcr.io/octo/worker:v1.2.0, ghcr.io/octo/cli:v1.2.0\n"
	for _, ref := range registry.SplitRefs(input) {
		fmt.Println(ref)
	}
	// Output:
	// ghcr.io/octo/app:v1.2.0
	// ghcr.io/octo/worker:v1.2.0
	// ghcr.io/octo/cli:v1.2.0
}

func ExampleParse() {
	_, err := registry.Parse([]string{"ghcr.io/octo/app"})
	fmt.Println(err)
	refs, _ := registry.Parse([]string{"ghcr.io/octo/app:v1"})
	fmt.Println(refs[0].Context().RegistryStr(), refs[0].Identifier())
	// Output:
	// image "ghcr.io/octo/app": no tag or digest: give repository:tag or repository@sha256:<digest>, never an implied :latest
	// ghcr.io v1
}
