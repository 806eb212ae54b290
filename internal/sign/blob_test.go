package sign

import (
	"context"
	"strings"
	"testing"
)

func TestCheckStatement(t *testing.T) {
	const subj = `"subject":[{"name":"a.txt","digest":{"sha256":"2befdb6288fdc0fab3b26805948f7ded5a7b079d8699a8937070069c9dc3a95f"}}]`
	for _, tc := range []struct {
		name, in, wantErr string
	}{
		{"v1", `{"_type":"https://in-toto.io/Statement/v1",` + subj + `,"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`, ""},
		{"v0.1", `{"_type":"https://in-toto.io/Statement/v0.1",` + subj + `,"predicateType":"https://slsa.dev/provenance/v0.2"}`, ""},
		{"not JSON", `hello`, "parsing in-toto statement"},
		{"no type", `{` + subj + `,"predicateType":"p"}`, "no _type"},
		{"unknown type", `{"_type":"https://in-toto.io/Statement/v9",` + subj + `,"predicateType":"p"}`, "unknown _type"},
		{"no subject", `{"_type":"https://in-toto.io/Statement/v1","predicateType":"p"}`, "no subject"},
		{"subject without digest", `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a"}],"predicateType":"p"}`, "subject 0 has no digest"},
		{"no predicate type", `{"_type":"https://in-toto.io/Statement/v1",` + subj + `}`, "no predicateType"},
		{"key twice", `{"_type":"https://in-toto.io/Statement/v1",` + subj + `,"predicateType":"p","predicateType":"q"}`, "in-toto statement refused: key predicateType appears twice"},
		{"keys differing in case", `{"_type":"https://in-toto.io/Statement/v1",` + subj + `,"predicateType":"p","predicate":{"builder":{},"Builder":{}}}`, "in-toto statement refused: key predicate.Builder differs only in case"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckStatement([]byte(tc.in))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckStatement: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("CheckStatement error = %v, want one saying %q", err, tc.wantErr)
			}
		})
	}
}

// TestSignBlobNeedsBundleServices checks that a Signer made for the legacy
// format alone refuses blobs before calling any service.
func TestSignBlobNeedsBundleServices(t *testing.T) {
	s := &Signer{}
	if _, err := s.SignBlob(context.Background(), []byte("a")); err == nil || !strings.Contains(err.Error(), "format bundle") {
		t.Errorf("SignBlob error = %v, want one naming the bundle format", err)
	}
	stmt := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"00"}}],"predicateType":"p"}`)
	if _, err := s.SignStatement(context.Background(), stmt); err == nil || !strings.Contains(err.Error(), "format bundle") {
		t.Errorf("SignStatement error = %v, want one naming the bundle format", err)
	}
	if _, err := s.SignStatement(context.Background(), []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "_type") {
		t.Errorf("SignStatement of a non-statement: error = %v, want one about _type", err)
	}
}
